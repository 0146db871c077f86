"""Jobs queued by a release before the subpackage layout still run after an upgrade."""

import pytest
from rq import SimpleWorker
from rq.utils import import_attribute

from megamsg.config import set_process_config
from megamsg.queues import MOVED_JOBS, MegamsgJob, queue


@pytest.mark.parametrize(("old", "new"), sorted(MOVED_JOBS.items()))
def test_an_old_job_path_resolves_to_the_function_at_its_new_path(app, old, new):
    job = queue(app.config, "test-moved-jobs").enqueue_call(old, args=("inst_x",))
    fetched = MegamsgJob.fetch(job.id, connection=job.connection)
    assert fetched.func_name == old  # stored as it was queued
    assert fetched.func is import_attribute(new)


def test_a_worker_runs_an_event_job_queued_under_the_old_path(app):
    events = queue(app.config, "test-moved-jobs")
    job = events.enqueue_call("megamsg.events.handle_event", args=("inst_gone", {"kind": "session"}))
    previous = set_process_config(app.config)
    try:
        SimpleWorker([events], connection=events.connection, job_class=MegamsgJob).work(burst=True)
    finally:
        set_process_config(previous)
    job.refresh()
    assert job.get_status() == "finished"
    assert job.return_value() == "instance gone"  # ran the current events job, which found no instance
