"""How a runner reports: state into a Redis hash, events as jobs on the events queue."""

import time
from typing import Any

from rq import Retry

from megamsg import keys
from megamsg.queues import queue
from megamsg.redis_conn import get_redis

INCOMING_MEDIA_TTL = 24 * 3600
# State is written only while the lease is still ours: after a takeover the old runner's client
# may report for a moment longer, and must not overwrite what the new holder published.
_HSET_IF_HOLDER = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('hset', KEYS[2], unpack(ARGV, 2))
return 1
"""


class RunnerSink:
    """EventSink for one instance."""

    def __init__(self, config: dict[str, Any], instance_id: str, lease_token: str | None = None):
        self.config = config
        self.instance_id = instance_id
        self.lease_token = lease_token
        self.redis = get_redis(config)
        self.events = queue(config, keys.EVENTS_QUEUE)

    def state(self, **fields: Any) -> None:
        """Publish state fields and a heartbeat."""
        mapping = {key: ("" if value is None else str(value)) for key, value in fields.items()}
        mapping["heartbeat"] = str(time.time())
        mapping["updated_at"] = str(time.time())
        self._write(mapping)

    def heartbeat(self) -> None:
        """Say we are alive."""
        self._write({"heartbeat": str(time.time())})

    def _write(self, mapping: dict[str, str]) -> None:
        flat = [item for pair in mapping.items() for item in pair]
        state = keys.state(self.instance_id)
        if self.lease_token is None:
            self.redis.hset(state, items=flat)
        else:
            self.redis.eval(_HSET_IF_HOLDER, 2, keys.lease(self.instance_id), state, self.lease_token, *flat)

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
