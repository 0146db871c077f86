"""Web side of talking to a runner: enqueue a job on wa:<instance_id> and wait for its answer."""

import math
from typing import Any

from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.results import Result

from megamsg import keys
from megamsg.errors import ApiError
from megamsg.queues import queue
from megamsg.session_state import read_state

CONTROL_TIMEOUT = 10.0


def wait_result(job: Job, timeout: float) -> dict[str, Any] | None:
    """The job's return value, or None if it gave no answer in time."""
    result = Result.fetch_latest(job, serializer=job.serializer, timeout=max(1, math.ceil(timeout)))
    if result is None:
        return None
    if result.type == Result.Type.SUCCESSFUL:
        return result.return_value
    return {"ok": False, "error": "the WhatsApp session failed to run the request"}


def cancel_quietly(job: Job) -> None:
    """Cancel a job that may already have expired (its ttl ran out) or finished."""
    try:
        job.cancel()
    except (InvalidJobOperation, NoSuchJobError):
        pass


def require_live_runner(config: dict[str, Any], instance_id: str) -> dict[str, Any]:
    """The instance's state; 502 when no runner is serving it."""
    state = read_state(config, instance_id)
    if not state["alive"]:
        raise ApiError(502, "WhatsApp session is not running yet (status: starting). Try again shortly.")
    return state


def call_runner(
    config: dict[str, Any],
    instance_id: str,
    action: str,
    params: dict[str, Any],
    timeout: float = CONTROL_TIMEOUT,
) -> dict[str, Any]:
    """Run a control action in the instance's runner; 502 if it does not answer in time."""
    require_live_runner(config, instance_id)
    job = queue(config, keys.session_queue(instance_id)).enqueue_call(
        "megamsg.runtime.session_jobs.control",
        args=(instance_id, action, params),
        ttl=math.ceil(timeout),  # never runs later than the caller cares
        result_ttl=60,
        failure_ttl=3600,
        timeout=int(timeout) + 30,
    )
    answer = wait_result(job, timeout)
    if answer is None:
        cancel_quietly(job)
        raise ApiError(502, f"WhatsApp session did not answer within {timeout:.0f} seconds.")
    return answer
