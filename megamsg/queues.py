"""Queue names and RQ Queue objects."""

from typing import Any

from rq import Queue

from megamsg.redis_conn import get_redis

EVENTS = "events"
WEBHOOKS = "webhooks"


def session_queue_name(instance_id: str) -> str:
    """The queue a runner serves for one instance."""
    return f"wa:{instance_id}"


def queue(config: dict[str, Any], name: str) -> Queue:
    """An RQ queue on the configured Redis."""
    return Queue(name, connection=get_redis(config))
