"""LeanWorker: RQ's SimpleWorker with fewer round trips per job, and the same bookkeeping afterwards."""

import pytest
from rq import SimpleWorker
from rq.suspension import resume, suspend

from megamsg.queues import MegamsgJob, queue
from megamsg.runtime.lean_worker import LeanWorker

JOBS = 20


def _commands(connection) -> int:
    return int(connection.info("stats")["total_commands_processed"])


def _run(worker_class, app, name: str) -> tuple[list, int, object]:
    jobs_queue = queue(app.config, name)
    jobs = [jobs_queue.enqueue_call("megamsg.clock.now_iso", result_ttl=60) for _ in range(JOBS)]
    worker = worker_class([jobs_queue], connection=jobs_queue.connection, job_class=MegamsgJob)
    before = _commands(jobs_queue.connection)
    worker.work(burst=True)
    return jobs, _commands(jobs_queue.connection) - before, worker


@pytest.mark.parametrize("worker_class", [SimpleWorker, LeanWorker])
def test_every_job_runs_and_keeps_its_result(app, worker_class):
    jobs, _, _ = _run(worker_class, app, f"test-lean-{worker_class.__name__}")
    for job in jobs:
        job.refresh()
        assert job.get_status() == "finished"
        assert job.return_value().endswith("Z") or "+00:00" in job.return_value()


def test_it_needs_fewer_redis_commands_per_job_than_simpleworker(app):
    _, simple, _ = _run(SimpleWorker, app, "test-lean-count-simple")
    _, lean, _ = _run(LeanWorker, app, "test-lean-count-lean")
    assert lean < simple * 0.9, (lean, simple)


def test_a_default_heartbeat_soon_after_another_is_skipped_but_not_after_a_jobs_ttl(app):
    jobs_queue = queue(app.config, "test-lean-ttl")
    worker = LeanWorker([jobs_queue], connection=jobs_queue.connection, job_class=MegamsgJob)
    worker.register_birth()
    try:
        worker.heartbeat()
        before = _commands(worker.connection)
        worker.heartbeat()  # coalesced with the one just sent
        assert _commands(worker.connection) - before <= 1  # INFO itself
        with worker.connection.pipeline() as pipeline:
            worker.heartbeat(30, pipeline=pipeline)  # what RQ does before each job
            pipeline.execute()
        assert worker.connection.ttl(worker.key) <= 30
        worker.heartbeat()  # after the job: back to the worker's own TTL
        assert worker.connection.ttl(worker.key) > worker.worker_ttl
    finally:
        worker.register_death()


def test_a_suspended_burst_worker_runs_nothing(app):
    jobs_queue = queue(app.config, "test-lean-suspended")
    job = jobs_queue.enqueue_call("megamsg.clock.now_iso")
    suspend(jobs_queue.connection)
    try:
        LeanWorker([jobs_queue], connection=jobs_queue.connection, job_class=MegamsgJob).work(burst=True)
    finally:
        resume(jobs_queue.connection)
    job.refresh()
    assert job.get_status() == "queued"
