"""Publish a runner's events in order, and never drop one WhatsApp already acknowledged.

Each event goes straight to Redis, tried a few times over about a second and a half. If Redis
stays away it goes to the instance's spool file instead, and from then on every newer event
goes behind it, until a drain thread has replayed the whole spool in order (retrying with a
backoff for as long as it takes, also after a runner restart). One publisher per instance and
process, shared by every sink of that instance, so the order holds whoever emits.
"""

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import redis

from megamsg.runtime.event_spool import EventSpool

log = logging.getLogger(__name__)

Publish = Callable[[dict[str, Any], bytes | None], None]
# What a publish may fail with while Redis is away or restarting; anything else is a bug, raised.
UNAVAILABLE = (redis.RedisError, OSError)
RETRY_DELAYS = (0.1, 0.3, 1.0)
DRAIN_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)

_lock = threading.Lock()
_publishers: dict[Path, "SpooledPublisher"] = {}


class SpooledPublisher:
    """Ordered, durable publication of one instance's events."""

    def __init__(
        self,
        spool: EventSpool,
        publish: Publish,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        drain_delays: Sequence[float] = DRAIN_DELAYS,
    ) -> None:
        """Publish with publish(event, media); spool what it cannot take."""
        self.spool = spool
        self.publish = publish
        self.retry_delays = retry_delays
        self.drain_delays = drain_delays
        self._order = threading.Lock()  # held while an event is published or spooled, and per replay
        self._draining = False
        self._state = threading.Lock()
        self.stopped = threading.Event()
        if spool.pending():
            self._start_drain()  # left by an earlier runner: replayed before anything newer

    def emit(self, event: dict[str, Any], media: bytes | None = None) -> None:
        """Publish now, or spool behind the events still waiting; returns once the event is safe."""
        with self._order:
            if not self.spool.pending():
                try:
                    self._publish_with_retries(event, media)
                    return
                except UNAVAILABLE as exc:
                    log.warning(
                        "Redis did not take a %s event (%s); spooling it to %s",
                        event.get("kind"),
                        type(exc).__name__,
                        self.spool.path,
                    )
            self.spool.append(event, media)
        self._start_drain()

    def _publish_with_retries(self, event: dict[str, Any], media: bytes | None) -> None:
        for delay in self.retry_delays:
            try:
                self.publish(event, media)
                return
            except UNAVAILABLE:
                if self.stopped.wait(delay):
                    break
        self.publish(event, media)

    def _start_drain(self) -> None:
        with self._state:
            if self._draining:
                return
            self._draining = True
        threading.Thread(target=self._drain, name="spool-drain", daemon=True).start()

    def _drain(self) -> None:
        failures = 0
        while not self.stopped.is_set():
            with self._order:
                record = self.spool.next_event()
                if record is None:
                    if not self.spool.pending():
                        with self._state:
                            self._draining = False
                        log.info("spool %s replayed", self.spool.path)
                        return
                    published = False  # only a torn last record is left: wait for the next append
                else:
                    try:
                        self.publish(record.event, record.media)
                        self.spool.done(record)
                        failures, published = 0, True
                    except UNAVAILABLE as exc:
                        published = False
                        if failures == 0:
                            log.warning(
                                "replaying spool %s waits for Redis (%s)", self.spool.path, type(exc).__name__
                            )
                    except Exception:  # noqa: BLE001 - never lose the drain thread: try again later
                        published = False
                        log.exception("replaying a record of spool %s failed", self.spool.path)
            if not published:
                self.stopped.wait(self.drain_delays[min(failures, len(self.drain_delays) - 1)])
                failures += 1
        with self._state:
            self._draining = False


def publisher_for(directory: Path, instance_id: str, publish: Publish) -> SpooledPublisher:
    """The process's publisher for the instance, publishing from now on with publish."""
    spool = EventSpool(directory, instance_id)
    with _lock:
        existing = _publishers.get(spool.path)
        if existing is None:
            existing = _publishers[spool.path] = SpooledPublisher(spool, publish)
        else:
            existing.publish = publish  # a new session of the instance in this process: its client
        return existing
