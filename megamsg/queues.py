"""Queue names and RQ Queue objects."""

import zlib
from typing import Any

from rq import Queue

from megamsg.redis_conn import get_redis

EVENTS = "events"
WEBHOOKS = "webhooks"  # prefix of the delivery queues, "webhooks:0" … one per webhook worker


def session_queue_name(instance_id: str) -> str:
    """The queue a runner serves for one instance."""
    return f"wa:{instance_id}"


def webhook_queue_names(config: dict[str, Any]) -> list[str]:
    """Every webhook delivery queue: one per webhook worker."""
    return [f"{WEBHOOKS}:{n}" for n in range(max(1, int(config["WEBHOOK_WORKERS"])))]


def webhook_queue_name(config: dict[str, Any], instance_id: str) -> str:
    """An instance's delivery queue: a single worker serves it, so its events go out in order."""
    names = webhook_queue_names(config)
    return names[zlib.crc32(instance_id.encode()) % len(names)]


def queue(config: dict[str, Any], name: str) -> Queue:
    """An RQ queue on the configured Redis."""
    return Queue(name, connection=get_redis(config))
