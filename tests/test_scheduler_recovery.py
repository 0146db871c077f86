"""Issue 11 item 1: after kill -9 of a worker, its replacement runs scheduled work within seconds."""

import os
import signal
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from rq import Queue
from rq.exceptions import SchedulerNotFound
from rq.scheduler import RQScheduler
from rq.utils import utcformat

from megamsg import keys
from megamsg.runtime.scheduler_locks import owner_is_dead, release_stale_locks
from tests.conftest import wait_for

LOCK = RQScheduler.get_locking_key(keys.EVENTS_QUEUE)


@pytest.fixture
def connection(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def scheduler_of(connection) -> RQScheduler | None:
    """The scheduler holding the events lock, once it has registered (it locks first)."""
    owner = connection.get(LOCK)
    try:
        return RQScheduler.fetch(owner.decode(), connection) if owner else None
    except SchedulerNotFound:
        return None


def test_a_killed_workers_scheduler_lock_is_taken_over_at_once(app, queue_workers, connection):
    first = queue_workers.start()
    old = wait_for(lambda: scheduler_of(connection), 20, what="the first scheduler")
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its scheduler process, as the OOM killer would
    first.wait(10)
    assert connection.get(LOCK).decode() == old.name  # the dead scheduler's lock outlives it (61 s TTL)

    queue_workers.start()
    job = Queue(keys.EVENTS_QUEUE, connection=connection).enqueue_in(
        timedelta(seconds=1), "builtins.len", "abc"
    )
    started = time.monotonic()
    wait_for(lambda: job.get_status(refresh=True) == "finished", 15, what="the scheduled job to run")
    print(f"scheduled job ran {time.monotonic() - started:.1f} s after the restart")
    assert job.return_value() == 3
    assert connection.get(LOCK).decode() != old.name
    assert "Released scheduler locks of a crashed worker for: events" in queue_workers.log_text()


def register(connection, name: str, hostname: str, pid: int, created_at: str) -> None:
    connection.hset(
        f"rq:scheduler:{name}",
        mapping={
            "name": name,
            "hostname": hostname,
            "pid": str(pid),
            "queues": "events",
            "created_at": created_at,
            "last_heartbeat": created_at,
        },
    )
    connection.set(LOCK, name, ex=60)


LONG_AGO = "2020-01-01T00:00:00.000000Z"
NOW = "now"


@pytest.mark.parametrize(
    ("what", "hostname", "pid", "created_at", "dead"),
    [
        ("a live scheduler on this host", None, "self", NOW, False),
        ("a pid that no longer exists", None, 2**22 + 17, NOW, True),
        ("a pid reused by a process newer than the scheduler", None, "self", LONG_AGO, True),
        ("a scheduler on another host", "elsewhere.example", 2**22 + 17, NOW, False),
    ],
)
def test_only_locks_of_schedulers_known_dead_are_released(
    app, connection, what, hostname, pid, created_at, dead
):
    name = f"drill-{what.replace(' ', '-')}"
    if created_at == NOW:
        created_at = utcformat(datetime.now(UTC))
    register(
        connection, name, hostname or socket.gethostname(), os.getpid() if pid == "self" else pid, created_at
    )
    try:
        assert owner_is_dead(connection, name) is dead
        assert release_stale_locks(connection, [keys.EVENTS_QUEUE]) == ([keys.EVENTS_QUEUE] if dead else [])
        assert (connection.get(LOCK) is None) is dead
    finally:
        connection.delete(LOCK, f"rq:scheduler:{name}")


def test_an_unregistered_owner_is_left_to_its_ttl(app, connection):
    connection.set(LOCK, "never-registered", ex=60)
    try:
        assert release_stale_locks(connection, [keys.EVENTS_QUEUE]) == []
        assert connection.get(LOCK) == b"never-registered"
    finally:
        connection.delete(LOCK)


def test_an_owner_whose_hash_holds_only_a_late_heartbeat_is_left_to_its_ttl(app, connection):
    # RQ's scheduler heartbeat (HSET last_heartbeat) can land after its register_death deleted the
    # hash, leaving a partial one: a starting worker must not crash on it (KeyError 'name').
    connection.set(LOCK, "half-registered", ex=60)
    connection.hset("rq:scheduler:half-registered", "last_heartbeat", utcformat(datetime.now(UTC)))
    try:
        assert owner_is_dead(connection, "half-registered") is False
        assert release_stale_locks(connection, [keys.EVENTS_QUEUE]) == []
        assert connection.get(LOCK) == b"half-registered"
    finally:
        connection.delete(LOCK, "rq:scheduler:half-registered")


def children_of(pid: int) -> list[int]:
    """The live child processes of pid (from /proc)."""
    found = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(name))
    return found


def test_the_scheduler_runs_in_the_workers_own_process_and_runs_scheduled_jobs(
    app, queue_workers, connection
):
    worker = queue_workers.start()
    scheduler = wait_for(lambda: scheduler_of(connection), 20, what="the scheduler")
    assert scheduler.pid == worker.pid  # a thread of the worker, not a forked process
    assert children_of(worker.pid) == []
    job = Queue(keys.EVENTS_QUEUE, connection=connection).enqueue_in(
        timedelta(seconds=1), "builtins.len", "ab"
    )
    wait_for(lambda: job.get_status(refresh=True) == "finished", 15, what="the scheduled job to run")
    assert job.return_value() == 2


def test_a_stopped_worker_releases_its_scheduler_lock(app, queue_workers, connection):
    worker = queue_workers.start()
    scheduler = wait_for(lambda: scheduler_of(connection), 20, what="the scheduler")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(15) == 0
    assert connection.get(LOCK) is None  # the next worker takes it at once, without any cleanup
    assert not connection.exists(f"rq:scheduler:{scheduler.name}")
