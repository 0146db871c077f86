"""Hand jobs that a killed worker left "started" (or taken but not begun) back at once.

RQ notices an abandoned job only when its heartbeat entry expires (about 90 s) and a worker's
maintenance pass comes by. A job whose worker ran on this host and is gone is abandoned now:
its entry is expired on the spot and RQ's own cleanup retries it (events jobs carry a Retry) or
fails it, exactly as it would have later.
"""

import logging
import time
from typing import cast

from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.utils import parse_composite_key, utcparse

from megamsg import keys
from megamsg.redis_conn import as_text
from megamsg.runtime.dead_process import dead_on_this_host
from megamsg.runtime.drivers.base import EventSink

log = logging.getLogger(__name__)
WORKER_KEY_PREFIX = "rq:worker:"


def worker_is_dead(connection: Redis, worker_name: str) -> bool:
    """True only when the named RQ worker ran on this host and its process is gone."""
    data = {
        as_text(key): as_text(value)
        for key, value in connection.hgetall(WORKER_KEY_PREFIX + worker_name).items()
    }
    if not data:
        return False  # long gone: its registry entries have expired too, RQ's cleanup has them
    birth = utcparse(data["birth"]) if data.get("birth") else None
    return dead_on_this_host(data.get("hostname"), int(data.get("pid") or 0), birth)


def _entries_of(
    connection: Redis, registry: StartedJobRegistry, job_ids: set[str], remove: bool = False
) -> list[str]:
    """The registry's raw entries ("<job id>:<execution id>") of these jobs, removed if asked."""
    entries = [as_text(entry) for entry in cast(list[bytes], connection.zrange(registry.key, 0, -1))]
    chosen = [entry for entry in entries if parse_composite_key(entry)[0] in job_ids]
    if chosen and remove:
        connection.zrem(registry.key, *chosen)
    return chosen


def expire_entries(connection: Redis, registry: StartedJobRegistry, job_ids: set[str]) -> None:
    """Mark these jobs' entries expired and let RQ's cleanup retry or fail them now."""
    chosen = _entries_of(connection, registry, job_ids)
    if chosen:
        connection.zadd(registry.key, dict.fromkeys(chosen, 0), xx=True)
        registry.cleanup()


def _started_jobs(connection: Redis, registry: StartedJobRegistry, job_class: type[Job]) -> list[Job]:
    jobs = []
    for job_id in registry.get_job_ids(cleanup=False):
        try:
            jobs.append(job_class.fetch(job_id, connection=connection))
        except NoSuchJobError:
            continue  # finished and expired meanwhile
    return jobs


def _worker_of(connection: Redis, entry: str, job_class: type[Job]) -> str:
    """The worker running a started registry entry: its execution's, else the job's (older RQ)."""
    execution = Execution.from_composite_key(entry, connection)
    try:
        execution.refresh()
    except ValueError:
        pass  # its execution record expired
    if execution.worker_name:
        # A worker killed as it began the job recorded the execution but not yet the job's worker.
        return execution.worker_name
    try:
        return job_class.fetch(execution.job_id, connection=connection).worker_name or ""
    except NoSuchJobError:
        return ""


def release_abandoned_jobs(connection: Redis, queue_names: list[str], job_class: type[Job]) -> int:
    """Hand the started jobs of dead workers on this host back to RQ; return how many."""
    released = 0
    for name in queue_names:
        registry = StartedJobRegistry(name, connection=connection, job_class=job_class)
        abandoned, not_begun = set(), []
        for entry in cast(list[bytes], connection.zrange(registry.key, 0, -1)):
            worker = _worker_of(connection, as_text(entry), job_class)
            if not worker or not worker_is_dead(connection, worker):
                continue
            try:
                job = job_class.fetch(parse_composite_key(as_text(entry))[0], connection=connection)
            except NoSuchJobError:
                continue
            if job.get_status(refresh=False) == JobStatus.STARTED:
                abandoned.add(job.id)
            else:
                # Killed as it began: RQ's cleanup skips a job that is not "started" and would
                # drop the entry, leaving the job in no queue. It never ran: back to the front.
                not_begun.append(job)
        expire_entries(connection, registry, abandoned)
        for job in reversed(not_begun):  # each goes to the front: the oldest ends up first
            _entries_of(connection, registry, {job.id}, remove=True)
            _off_intermediate(connection, name, {job.id})
            Queue(name, connection=connection, job_class=job_class).enqueue_job(job, at_front=True)
        abandoned.update(job.id for job in not_begun)
        if abandoned:
            log.warning("Handed %d job(s) of a crashed worker on %s back to RQ", len(abandoned), name)
        released += len(abandoned)
    return released


def _off_intermediate(connection: Redis, queue_name: str, job_ids: set[str]) -> None:
    """Take these jobs off the queue's intermediate list (else RQ fails them there a minute later)."""
    key = Queue(queue_name, connection=connection).intermediate_queue_key
    for job_id in job_ids:
        connection.lrem(key, 0, job_id)


# A live worker moves a job it took into the started registry within milliseconds.
STRANDED_GRACE_SECONDS = 2.0


def requeue_stranded(connection: Redis, queue_name: str, job_class: type[Job], grace: float = 0.0) -> int:
    """Put the jobs a killed worker took but never began back at the front of the queue, in order.

    RQ moves a job to `<queue>:intermediate` when a worker takes it and into the started registry
    when the worker begins it; a worker killed in between strands it until a maintenance pass has
    seen it there for a minute. `grace`: when other live workers may serve the queue, only jobs
    still stranded after that long are taken back.
    """
    queue = Queue(queue_name, connection=connection, job_class=job_class)

    def stranded() -> list[str]:
        started = set(StartedJobRegistry(queue_name, connection=connection).get_job_ids(cleanup=False))
        return [job_id for job_id in queue.intermediate_queue.get_job_ids() if job_id not in started]

    candidates = stranded()
    if candidates and grace:
        time.sleep(grace)
        still = set(stranded())
        candidates = [job_id for job_id in candidates if job_id in still]
    requeued = 0
    for job_id in reversed(candidates):  # each goes to the front: the oldest ends up first
        # Whoever removes the entry requeues the job (another worker starting at once, RQ's cleanup).
        if not connection.lrem(queue.intermediate_queue_key, 1, job_id):
            continue
        try:
            queue.enqueue_job(job_class.fetch(job_id, connection=connection), at_front=True)
            requeued += 1
        except NoSuchJobError:
            continue
    if requeued:
        log.warning("Put %d job(s) that a killed worker had taken back on %s", requeued, queue_name)
    return requeued


SEND_JOB = "megamsg.runtime.session_jobs.send"
UNKNOWN_OUTCOME = "The WhatsApp session stopped while sending; delivery is unknown (no receipt arrived)."


def recover_session_queue(connection: Redis, queue_name: str, job_class: type[Job], sink: EventSink) -> None:
    """At a runner's start (it holds the lease, so its predecessor is gone): settle the jobs it left.

    A send that had begun may or may not have reached WhatsApp: it ends failed at once, never sent
    twice. A job taken but not begun goes back to the front of the queue (the send claim keeps it
    from running twice); anything else is failed by RQ as abandoned.
    """
    # First the jobs taken but not begun (no other runner serves this queue: no grace), then at the
    # front of them the ones begun, which were taken earlier.
    requeue_stranded(connection, queue_name, job_class)
    registry = StartedJobRegistry(queue_name, connection=connection, job_class=job_class)
    left = _started_jobs(connection, registry, job_class)
    requeued = set()
    for job in reversed(left):  # each goes to the front: the oldest ends up first
        message_id = job.args[1]["id"] if job.func_name == SEND_JOB else None
        claim = as_text(connection.get(keys.send_claim(message_id)) or "") if message_id else None
        if claim == "":
            _entries_of(connection, registry, {job.id}, remove=True)
            Queue(queue_name, connection=connection, job_class=job_class).enqueue_job(job, at_front=True)
            requeued.add(job.id)
        elif claim == "started":
            sink.emit(
                {"kind": "send_result", "message_id": message_id, "ok": False, "error": UNKNOWN_OUTCOME}
            )
    _off_intermediate(connection, queue_name, {job.id for job in left})
    expire_entries(connection, registry, {job.id for job in left} - requeued)
    if left:
        log.warning("Settled %d job(s) left by this instance's previous runner", len(left))
