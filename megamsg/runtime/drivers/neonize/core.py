"""State shared by the neonize driver's parts: attempts, the client lock, state publishing."""

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from megamsg.runtime.drivers.base import Driver, EventSink
from megamsg.runtime.drivers.neonize.store import session_store_for

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 4.0
STOP_GRACE_SECONDS = 1.0
# Go registers and removes clients in plain maps: connect and stop of every client in this process
# (a runner hosts several sessions) take this lock, always after the driver's own _lock.
LIFECYCLE_LOCK = threading.Lock()

T = TypeVar("T")


class GoClient(Protocol):
    """The calls the driver makes on a neonize NewClient (protobuf arguments and answers stay Any)."""

    def connect(self) -> None: ...
    def stop(self) -> None: ...
    def logout(self) -> None: ...
    def get_me(self) -> Any: ...
    def get_pn_from_lid(self, jid: Any) -> Any: ...
    def download_any(self, message: Any) -> bytes: ...
    def PairPhone(self, phone: str, show_push_notification: bool) -> str: ...
    def send_message(self, to: Any, message: Any) -> Any: ...
    def reply_message(self, message: str, quoted: Any, to: Any = None) -> Any: ...
    def send_image(self, to: Any, file: bytes, caption: str | None = None, quoted: Any = None) -> Any: ...
    def send_audio(self, to: Any, file: bytes, ptt: bool = False, quoted: Any = None) -> Any: ...
    def send_video(self, to: Any, file: bytes, caption: str | None = None, quoted: Any = None) -> Any: ...
    def send_document(
        self,
        to: Any,
        file: bytes,
        caption: str | None = None,
        title: str | None = None,
        filename: str | None = None,
        mimetype: str | None = None,
        quoted: Any = None,
    ) -> Any: ...


class ClientGone(Exception):
    """The Go-side client of this attempt is stopped; calling it would crash the process."""


@dataclass(eq=False)
class Attempt:
    """One client.connect() call and what we learned from it."""

    client: GoClient
    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    settled: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    connected: bool = False
    paired: bool = False
    qr_count: int = 0
    qr_until: float = 0.0
    qr_exhausted_at: float | None = None


class NeonizeCore(Driver):
    """The fields and reporting every part of NeonizeDriver shares; the parts are its mixins."""

    def __init__(self, instance_id: str, config: dict[str, Any], sink: EventSink) -> None:
        """Idle until start(): no client, no threads."""
        super().__init__(instance_id, config, sink)
        self._store = session_store_for(config, instance_id)
        self._pairing_timeout = float(config.get("PAIRING_TIMEOUT") or 180.0)
        self._media_cap = int(config.get("MAX_DOCUMENT_BYTES") or 0)
        self._lock = threading.Lock()  # every call into the Go client
        self._state_lock = threading.Lock()  # our fields and the order of published state
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._events: queue.Queue[tuple[str, GoClient, Any] | None] = queue.Queue()
        self._messages: queue.Queue[tuple[Attempt, Any] | None] = queue.Queue()
        self._status = "starting"
        self._phone = ""
        self._clients: list[GoClient] = []  # every client ever made stays referenced (Go holds callbacks)
        self._client: GoClient | None = None
        self._generation = 0
        self._attempt: Attempt | None = None
        self._live: Attempt | None = None
        self._pending: tuple[str, str] | None = None
        self._pairing_deadline: float | None = None
        self._pairing_expired = False
        self._retry_now = False
        self._threads: list[threading.Thread] = []
        self._started = False
        self._stopped = False

    def _go(self, attempt: Attempt, call: Callable[[], T]) -> T:
        """Run call under the client lock, only while attempt's Go client is registered."""
        with self._lock:
            with self._state_lock:
                if self._live is not attempt:
                    raise ClientGone()
            return call()

    def _request(self, kind: str, reason: str) -> None:
        """Ask the session thread to handle kind (first request wins)."""
        with self._state_lock:
            if self._pending is None or kind in ("logout", "logged_out"):
                self._pending = (kind, reason)
        self._wake.set()

    def _take_pending(self) -> tuple[str, str] | None:
        """The request for the session thread, if any, clearing it."""
        with self._state_lock:
            pending, self._pending = self._pending, None
        return pending

    def _publish(self, **fields: Any) -> None:
        """Publish state fields, in order, remembering the status."""
        with self._state_lock:
            self._publish_locked(fields)

    def _publish_for(self, attempt: Attempt, **fields: Any) -> None:
        """Publish only while attempt is the live one (stale callbacks must not undo a stop)."""
        with self._state_lock:
            if self._live is attempt:
                self._publish_locked(fields)

    def _publish_locked(self, fields: dict[str, Any]) -> None:
        """Publish fields; the caller holds the state lock."""
        if "status" in fields:
            self._status = fields["status"]
        try:
            self.sink.state(**fields)
        except Exception:
            log.exception("Publishing WhatsApp state failed")

    def _safe_emit(self, event: dict[str, Any] | None, media: bytes | None = None) -> None:
        """Emit event (None: nothing to emit), logging rather than raising a sink failure."""
        if event is None:
            return
        try:
            self.sink.emit(event, media=media)
        except Exception:
            log.exception("Emitting a WhatsApp %s event failed", event.get("kind"))
