"""Free RQ scheduler locks whose owner died on this host, so scheduled work resumes at once.

RQ takes a scheduler lock per queue (`rq:scheduler-lock:<queue>`, 61 s TTL) and a worker that
finds it taken tries again only at its next maintenance pass (10 minutes by default). After a
crash the dead scheduler's lock would stall webhook retries and every delayed job that long.
"""

import logging
import socket
from datetime import UTC, datetime

import psutil
from redis import Redis
from rq.exceptions import SchedulerNotFound
from rq.scheduler import RQScheduler
from rq.scripts import release_lock

from megamsg.redis_conn import as_text

log = logging.getLogger(__name__)

# A pid that started this long after the scheduler registered is another process reusing it.
PID_REUSE_SLACK_SECONDS = 5.0
# With locks freed at start, maintenance only has to catch owners on other hosts (TTL 61 s).
MAINTENANCE_INTERVAL_SECONDS = 10


def owner_is_dead(connection: Redis, owner: str) -> bool:
    """True only when the lock's scheduler ran on this host and its process is gone."""
    try:
        scheduler = RQScheduler.fetch(owner, connection)
    except SchedulerNotFound:
        return False  # not registered yet (or expired with its lock): wait for the TTL
    if scheduler.hostname != socket.gethostname() or scheduler.pid <= 0:
        return False
    try:
        process = psutil.Process(scheduler.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        started = datetime.fromtimestamp(process.create_time(), UTC)
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False
    return (started - scheduler.created_at).total_seconds() > PID_REUSE_SLACK_SECONDS


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
