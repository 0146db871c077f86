"""How a runner reports: state into a Redis hash, events as jobs on the events queue."""

import time
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry as RedisRetry
from rq import Queue, Retry

from megamsg import keys
from megamsg.queues import MegamsgJob, queue
from megamsg.redis_conn import get_redis, redis_url
from megamsg.runtime.spooled_publisher import publisher_for

INCOMING_MEDIA_TTL = 24 * 3600
PUBLISH_TIMEOUT = 5.0
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
        # Events are published with bounded calls and no hidden retries: the publisher retries
        # and, if Redis stays away, spools them under the data directory (never dropped).
        self._publishing = redis.Redis.from_url(
            redis_url(config),
            socket_connect_timeout=PUBLISH_TIMEOUT,
            socket_timeout=PUBLISH_TIMEOUT,
            retry=RedisRetry(NoBackoff(), 0),
        )
        self._events = Queue(keys.EVENTS_QUEUE, connection=self._publishing, job_class=MegamsgJob)
        self.publisher = publisher_for(spool_directory(config), instance_id, self._publish)

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
        """Queue the event for the events worker, in order; spooled to disk while Redis is away."""
        self.publisher.emit(event, media)

    def _publish(self, event: dict[str, Any], media: bytes | None) -> None:
        """Queue the event (media bytes parked in Redis first); raises if Redis does not take it."""
        if media is not None and event.get("wa_id"):
            self._publishing.set(
                keys.incoming_media(self.instance_id, event["wa_id"]), media, ex=INCOMING_MEDIA_TTL
            )
            event = {**event, "media_parked": True}
        self._events.enqueue(
            "megamsg.delivery.events.handle_event",
            self.instance_id,
            event,
            result_ttl=60,
            failure_ttl=7 * 24 * 3600,
            # A busy database or a Redis blip must not lose an event: try again, it is idempotent.
            retry=Retry(max=5, interval=[5, 30, 120, 600, 1800]),
        )


def spool_directory(config: dict[str, Any]) -> Path:
    """Where runners spool events while Redis is away (per instance files, see event_spool)."""
    return Path(config["DATA_DIR"]) / "spool"
