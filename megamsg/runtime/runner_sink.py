"""How a runner reports: state into a Redis hash, events as jobs on the events queue."""

import time
from typing import Any

from rq import Retry

from megamsg.queues import EVENTS, queue
from megamsg.redis_conn import get_redis
from megamsg.session_state import state_key

INCOMING_MEDIA_TTL = 24 * 3600


def incoming_media_key(instance_id: str, wa_id: str) -> str:
    """Where a runner parks downloaded media until the events job stores it."""
    return f"megamsg:inmedia:{instance_id}:{wa_id}"


class RunnerSink:
    """EventSink for one instance."""

    def __init__(self, config: dict[str, Any], instance_id: str):
        self.config = config
        self.instance_id = instance_id
        self.redis = get_redis(config)
        self.events = queue(config, EVENTS)

    def state(self, **fields: Any) -> None:
        """Publish state fields and a heartbeat."""
        mapping = {key: ("" if value is None else str(value)) for key, value in fields.items()}
        mapping["heartbeat"] = str(time.time())
        mapping["updated_at"] = str(time.time())
        self.redis.hset(state_key(self.instance_id), mapping=mapping)

    def heartbeat(self) -> None:
        """Say we are alive."""
        self.redis.hset(state_key(self.instance_id), "heartbeat", str(time.time()))

    def emit(self, event: dict[str, Any], media: bytes | None = None) -> None:
        """Queue the event for the events worker (media bytes parked in Redis first)."""
        if media is not None and event.get("wa_id"):
            self.redis.set(incoming_media_key(self.instance_id, event["wa_id"]), media, ex=INCOMING_MEDIA_TTL)
            event = {**event, "media_parked": True}
        self.events.enqueue(
            "megamsg.delivery.events.handle_event",
            self.instance_id,
            event,
            result_ttl=60,
            failure_ttl=7 * 24 * 3600,
            # A busy database or a Redis blip must not lose an event: try again, it is idempotent.
            retry=Retry(max=5, interval=[5, 30, 120, 600, 1800]),
        )
