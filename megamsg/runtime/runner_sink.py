"""How a runner reports: state into a Redis hash, events as jobs on the events queue."""

import time
from typing import Any

from redis.typing import EncodableT, FieldT
from rq import Retry

from megamsg import keys
from megamsg.queues import queue
from megamsg.redis_conn import get_redis

INCOMING_MEDIA_TTL = 24 * 3600


class RunnerSink:
    """EventSink for one instance."""

    def __init__(self, config: dict[str, Any], instance_id: str):
        self.config = config
        self.instance_id = instance_id
        self.redis = get_redis(config)
        self.events = queue(config, keys.EVENTS_QUEUE)

    def state(self, **fields: Any) -> None:
        """Publish state fields and a heartbeat."""
        mapping: dict[FieldT, EncodableT] = {
            key: ("" if value is None else str(value)) for key, value in fields.items()
        }
        mapping["heartbeat"] = str(time.time())
        mapping["updated_at"] = str(time.time())
        self.redis.hset(keys.state(self.instance_id), mapping=mapping)

    def heartbeat(self) -> None:
        """Say we are alive."""
        self.redis.hset(keys.state(self.instance_id), "heartbeat", str(time.time()))

    def emit(self, event: dict[str, Any], media: bytes | None = None) -> None:
        """Queue the event for the events worker (media bytes parked in Redis first)."""
        if media is not None and event.get("wa_id"):
            self.redis.set(
                keys.incoming_media(self.instance_id, event["wa_id"]), media, ex=INCOMING_MEDIA_TTL
            )
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
