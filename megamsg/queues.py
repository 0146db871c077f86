"""RQ queues on the configured Redis, and the job class MegaMsg's workers run jobs with."""

from collections.abc import Callable
from typing import Any

from rq import Queue
from rq.job import Job
from rq.utils import import_attribute

from megamsg.redis_conn import get_redis

# Jobs are stored with the dotted path of their function. Jobs queued by a release before the
# subpackage layout (scheduled webhook retries, event retries, sends in flight) still name the
# old paths after an upgrade: they run under the new ones instead of failing to import.
MOVED_JOBS = {
    "megamsg.events.handle_event": "megamsg.delivery.events.handle_event",
    "megamsg.webhook_delivery.deliver": "megamsg.delivery.webhooks.deliver",
    "megamsg.sending.expire_unsent": "megamsg.delivery.outcomes.expire_unsent",
    "megamsg.session_jobs.send": "megamsg.runtime.session_jobs.send",
    "megamsg.session_jobs.control": "megamsg.runtime.session_jobs.control",
}


class MegamsgJob(Job):
    """An RQ job that also runs under its function's current path when it was queued under an old one."""

    @property
    def func(self) -> Callable[..., Any] | None:
        """The job's function, resolved through MOVED_JOBS."""
        name = self.func_name
        if name is None or self.instance is not None:
            return super().func
        return import_attribute(MOVED_JOBS.get(name, name))


def queue(config: dict[str, Any], name: str) -> Queue:
    """An RQ queue on the configured Redis."""
    return Queue(name, connection=get_redis(config), job_class=MegamsgJob)
