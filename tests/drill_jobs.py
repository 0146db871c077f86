"""Jobs for the crash drills, run by real RQ workers (importable as tests.drill_jobs.*)."""

import threading

from rq import get_current_job


def hold_first_attempt() -> str:
    """Block forever on the first attempt (the drill kills the worker); return on the retry."""
    job = get_current_job()
    assert job is not None
    if job.meta.get("held_by"):
        return f"resumed after {job.meta['held_by']}"
    job.meta["held_by"] = job.worker_name
    job.save_meta()
    threading.Event().wait()
    return "never"
