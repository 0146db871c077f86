"""Free RQ scheduler locks whose owner died on this host, so scheduled work resumes at once.

RQ takes a scheduler lock per queue (`rq:scheduler-lock:<queue>`, 61 s TTL) and a worker that
finds it taken tries again only at its next maintenance pass (10 minutes by default). After a
crash the dead scheduler's lock would stall webhook retries and every delayed job that long.
"""

import logging

from redis import Redis
from rq.exceptions import SchedulerNotFound
from rq.scheduler import RQScheduler
from rq.scripts import release_lock

from megamsg.redis_conn import as_text
from megamsg.runtime.dead_process import dead_on_this_host

log = logging.getLogger(__name__)

# With locks freed at start, maintenance only has to catch owners on other hosts (TTL 61 s).
MAINTENANCE_INTERVAL_SECONDS = 10


def owner_is_dead(connection: Redis, owner: str) -> bool:
    """True only when the lock's scheduler ran on this host and its process is gone."""
    try:
        scheduler = RQScheduler.fetch(owner, connection)
    except SchedulerNotFound:
        return False  # not registered yet (or expired with its lock): wait for the TTL
    except (KeyError, ValueError):
        # A heartbeat that landed after the scheduler deleted its hash leaves a partial one.
        return False
    return dead_on_this_host(scheduler.hostname, scheduler.pid, scheduler.created_at)


def release_stale_locks(connection: Redis, queue_names: list[str]) -> list[str]:
    """Release the scheduler locks of these queues held by dead schedulers; return those queues."""
    released = []
    for name in queue_names:
        key = RQScheduler.get_locking_key(name)
        owner = connection.get(key)
        if owner is None:
            continue
        owner_name = as_text(owner)
        # release_lock compares the owner again: a lock taken over meanwhile is left alone.
        if owner_is_dead(connection, owner_name) and release_lock(connection, key, owner_name):
            released.append(name)
    if released:
        log.warning("Released scheduler locks of a crashed worker for: %s", ", ".join(released))
    return released
