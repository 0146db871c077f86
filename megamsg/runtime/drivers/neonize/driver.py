"""The real WhatsApp driver, on neonize (whatsmeow). Only session runners import this module."""

import ctypes
import logging
import os
import queue
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from megamsg.runtime.drivers.base import Driver, DriverError, EventSink, NotConnected, OutgoingMessage
from megamsg.runtime.drivers.neonize.events import (
    jid_to_string,
    logged_out_reason,
    media_message_from,
    message_event_from,
    phone_of,
    receipt_event_from,
    session_event_from,
)
from megamsg.runtime.drivers.neonize.loader import load_neonize
from megamsg.runtime.drivers.neonize.store import session_store_for, wipe_session_store

log = logging.getLogger(__name__)

WHATSAPP_HOST = "web.whatsapp.com"
FIRST_QR_SECONDS = 60.0
NEXT_QR_SECONDS = 20.0
RETRY_FIRST_SECONDS = 2.0
RETRY_MAX_SECONDS = 60.0
PAIRING_RETRY_FIRST_SECONDS = 120.0
PAIRING_RETRY_MAX_SECONDS = 3600.0
SETTLE_SECONDS = 3.0
LOCK_WAIT_SECONDS = 4.0
STOP_GRACE_SECONDS = 1.0
ANSWER_SECONDS = 60.0
QR_GRACE_SECONDS = 15.0
QR_ROTATION_GUARD_SECONDS = 2.0
PREFLIGHT_TIMEOUT = 10.0
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def format_pair_code(code: str) -> str:
    """WhatsApp's linking code as "ABCD-EFGH"."""
    letters = re.sub(r"[^0-9A-Za-z]", "", code or "").upper()
    if len(letters) != 8:
        raise DriverError(f"WhatsApp returned an unexpected pairing code {code!r}.")
    return f"{letters[:4]}-{letters[4:]}"


def connect_failure_text(error: str) -> str:
    """last_error for a connect() that raised."""
    if re.search(r"database|sqlite|sql:|postgres", error, re.IGNORECASE):
        return f"cannot open the WhatsApp session store: {error}"
    return f"cannot reach WhatsApp: {error}"


def retry_delay(failures: int, first: float, cap: float) -> float:
    """Capped exponential backoff for the n-th consecutive failure (n ≥ 1)."""
    return min(cap, first * 2 ** max(0, failures - 1))


# ---------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------


class _Gone(Exception):
    """The Go-side client of this attempt is stopped; calling it would crash the process."""


@dataclass(eq=False)
class _Attempt:
    """One client.connect() call and what we learned from it."""

    client: Any
    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    settled: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    connected: bool = False
    paired: bool = False
    qr_count: int = 0
    qr_until: float = 0.0
    qr_exhausted_at: float | None = None


class NeonizeDriver(Driver):
    """One WhatsApp session through neonize, run in the background of a session runner."""

    def __init__(self, instance_id: str, config: dict[str, Any], sink: EventSink):
        super().__init__(instance_id, config, sink)
        self._store = session_store_for(config, instance_id)
        self._pairing_timeout = float(config.get("PAIRING_TIMEOUT") or 180.0)
        self._media_cap = int(config.get("MAX_DOCUMENT_BYTES") or 0)
        self._lock = threading.Lock()  # every call into the Go client
        self._state_lock = threading.Lock()  # our fields and the order of published state
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._events: queue.Queue = queue.Queue()
        self._messages: queue.Queue = queue.Queue()
        self._status = "starting"
        self._phone = ""
        self._clients: list[Any] = []  # every client ever made stays referenced (Go holds callbacks)
        self._client: Any = None
        self._generation = 0
        self._attempt: _Attempt | None = None
        self._live: _Attempt | None = None
        self._pending: tuple[str, str] | None = None
        self._pairing_deadline: float | None = None
        self._pairing_expired = False
        self._retry_now = False
        self._threads: list[threading.Thread] = []
        self._started = False
        self._stopped = False

    # -- Driver interface ---------------------------------------------------

    def start(self) -> None:
        """Start the session thread and event workers; returns at once."""
        with self._state_lock:
            if self._started:
                return
            self._started = True
        self._publish(status="starting", qr="", qr_expires_at=0.0, last_error="")
        for name, target, args in (
            ("events", self._work, (self._events, self._handle_event)),
            ("messages", self._work, (self._messages, self._on_message)),
            ("session", self._run_session, ()),
        ):
            thread = threading.Thread(
                target=target, args=args, name=f"wa-{name}-{self.instance_id}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Disconnect and release the client (idempotent, returns within a few seconds)."""
        with self._state_lock:
            if self._stopped:
                return
            self._stopped = True
        self._stopping.set()
        self._wake.set()
        attempt = self._attempt
        got = self._lock.acquire(timeout=LOCK_WAIT_SECONDS)
        try:
            with self._state_lock:
                self._live = None
            if attempt is not None:
                attempt.client.stop()
            for client in self._clients:
                # GC/atexit would otherwise call Go's Stop without our lock.
                finalizer = getattr(client, "_stop_finalizer", None)
                if finalizer is not None:
                    finalizer.detach()
        except Exception:
            log.exception("Stopping the WhatsApp client failed")
        finally:
            if got:
                self._lock.release()
        if attempt is not None:
            attempt.done.wait(STOP_GRACE_SECONDS)
        self._events.put(None)
        self._messages.put(None)
        deadline = time.monotonic() + 0.5
        for thread in self._threads[:2]:  # the event workers; the session thread is a daemon
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def status(self) -> str:
        """Current status: starting | qr | connected | disconnected | logged_out."""
        return self._status

    def send(self, message: OutgoingMessage) -> str:
        """Send through WhatsApp; return its message id."""
        attempt = self._attempt
        if self._status != "connected" or attempt is None:
            raise NotConnected(self._status)
        number = re.sub(r"\D", "", message.to or "")
        if not number:
            raise DriverError("The recipient must be a phone number such as +201234567890.")
        kind = message.type
        if kind == "text" and not message.text:
            raise DriverError("A text message needs some text.")
        if kind in ("image", "audio", "video", "document") and not message.media:
            raise DriverError(f"The {kind} message has no media to send.")
        if kind in ("audio", "video"):
            missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
            if missing:
                raise DriverError(
                    f"Sending {kind} needs {' and '.join(missing)} on the server (e.g. apt-get install ffmpeg)."
                )
        nz = load_neonize()
        jid = nz.build_jid(number)
        client = attempt.client
        calls: dict[str, Callable[[], Any]] = {
            "text": lambda: client.send_message(jid, message.text),
            "image": lambda: client.send_image(jid, message.media, caption=message.caption or None),
            "audio": lambda: client.send_audio(jid, message.media, ptt=bool(message.ptt)),
            "video": lambda: client.send_video(jid, message.media, caption=message.caption or None),
            "document": lambda: client.send_document(
                jid,
                message.media,
                caption=message.caption or None,
                title=message.file_name or None,
                filename=message.file_name or None,
                mimetype=message.mime_type or None,
            ),
        }
        if kind not in calls:
            raise DriverError(f"Message type {kind!r} cannot be sent.")
        try:
            response = self._go(attempt, calls[kind])
        except _Gone:
            raise NotConnected(self._status) from None
        except nz.NeonizeError as exc:
            raise DriverError(f"WhatsApp refused the message: {exc}") from exc
        except Exception as exc:
            # Pillow / ffmpeg / libmagic failures while neonize builds the media message.
            raise DriverError(f"Could not prepare the {kind} for WhatsApp: {exc}") from exc
        return response.ID

    def pair_code(self, phone_number: str) -> str:
        """Request a linking code for phone_number while a QR code is offered."""
        digits = re.sub(r"\D", "", phone_number or "")
        if not 7 <= len(digits) <= 15:
            raise DriverError("Give the phone number in international format, e.g. +201234567890.")
        attempt = self._attempt
        if self._status == "connected":
            raise DriverError("This instance is already linked to WhatsApp.")
        if self._status != "qr" or attempt is None or attempt.qr_count == 0:
            if self._pairing_expired:
                self.reconnect()
                raise DriverError(
                    "Pairing had timed out; a new pairing session is starting — try again in a few seconds."
                )
            raise DriverError(
                "A pairing code can only be requested while a QR code is offered; try again shortly."
            )
        nz = load_neonize()
        try:
            code = self._go(attempt, lambda: attempt.client.PairPhone(digits, True))
        except _Gone:
            raise DriverError("The pairing session just ended; try again in a few seconds.") from None
        except nz.NeonizeError as exc:
            raise DriverError(f"WhatsApp refused the pairing code request: {exc}") from exc
        return format_pair_code(code)

    def logout(self) -> None:
        """Unlink the session (or forget an unreachable one); a new QR code follows."""
        attempt = self._attempt
        if self._status == "connected" and attempt is not None:
            nz = load_neonize()
            try:
                self._go(attempt, attempt.client.logout)
            except _Gone:
                pass
            except nz.NeonizeError as exc:
                raise DriverError(f"WhatsApp refused the logout: {exc}") from exc
        elif self._status in ("qr", "starting"):
            return  # nothing is linked yet
        elif self._store.startswith("postgres"):
            raise DriverError("The session can only be logged out while connected to WhatsApp.")
        self._safe_emit({"kind": "session", "status": "logged_out", "phone_number": self._phone or None})
        self._request("logout", "logged out from MegaMsg")

    def reconnect(self) -> None:
        """Skip the current retry wait (pairing timed out or WhatsApp unreachable)."""
        with self._state_lock:
            self._retry_now = True
        self._wake.set()

    # -- calls into the Go client -------------------------------------------

    def _go(self, attempt: _Attempt, call: Callable[[], Any]) -> Any:
        """Run call under the client lock, only while attempt's Go client is registered."""
        with self._lock:
            with self._state_lock:
                if self._live is not attempt:
                    raise _Gone()
            return call()

    def _new_client(self) -> Any:
        """A fresh NewClient on the session store, with every handler registered."""
        nz = load_neonize()
        self._generation += 1
        props = nz.DeviceProps(os="MegaMsg", platformType=nz.DeviceProps.CHROME)
        client = nz.NewClient(self._store, props=props, uuid=f"{self.instance_id}#{self._generation}")
        for event_type, kind in nz.handlers.items():
            client.event(event_type)(self._handler(kind))
        client.event.qr(self._handler("qr"))
        if hasattr(client, "_NewClient__onLoginStatus"):
            # neonize only print()s the QR channel's login events; we need "success" and "timeout".
            client._NewClient__onLoginStatus = self._login_status_handler(client)
        self._clients.append(client)
        return client

    def _handler(self, kind: str) -> Callable[[Any, Any], None]:
        """A Go-thread callback that only queues (the Go side buffers ~100 events)."""

        def handle(client: Any, payload: Any) -> None:
            try:
                attempt = self._attempt
                if attempt is not None and attempt.client is client:
                    attempt.settled.set()
                self._events.put((kind, client, payload))
            except Exception:
                log.exception("WhatsApp %s callback failed", kind)

        return handle

    def _login_status_handler(self, client: Any) -> Callable[[int, int], None]:
        """Callback for whatsmeow's QR-channel login events (C string pointer)."""

        def handle(_uuid: int, status: int) -> None:
            try:
                text = ctypes.string_at(status).decode(errors="replace") if status else ""
                self._events.put(("login", client, text))
            except Exception:
                log.exception("WhatsApp login status callback failed")

        return handle

    # -- session thread -----------------------------------------------------

    def _run_session(self) -> None:
        """Connect, watch, back off and reconnect until stop()."""
        failures = 0
        pairing_failures = 0
        first = True
        while not self._stopping.is_set():
            if (pending := self._take_pending()) is not None and pending[0] in ("logout", "logged_out"):
                self._reset_session(None, pending[1])
                failures = pairing_failures = 0
            try:
                outcome, attempt = self._run_attempt(preflight=not first)
            except Exception as exc:
                log.exception("WhatsApp session attempt failed")
                outcome, attempt = "failed", None
                self._publish(
                    status="disconnected",
                    qr="",
                    qr_expires_at=0.0,
                    last_error=f"WhatsApp session failed: {exc}",
                )
            first = False
            if attempt is not None and attempt.connected:
                failures = pairing_failures = 0
            if outcome in ("stopped", "again"):
                continue
            with self._state_lock:
                self._pairing_deadline = None  # a new pairing window after any failure
            if outcome == "pairing":
                pairing_failures += 1
                delay = retry_delay(pairing_failures, PAIRING_RETRY_FIRST_SECONDS, PAIRING_RETRY_MAX_SECONDS)
                self._publish(
                    status="disconnected",
                    qr="",
                    qr_expires_at=0.0,
                    last_error=(
                        f"pairing timed out; no QR code was scanned within {self._pairing_timeout:.0f} s. "
                        f"A new QR code will be offered in {delay:.0f} s, or sooner on request."
                    ),
                )
            else:
                failures += 1
                delay = retry_delay(failures, RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS)
            self._wait_retry(delay)

    def _run_attempt(self, preflight: bool) -> tuple[str, _Attempt | None]:
        """One connect() and its watch; returns (outcome, attempt)."""
        if preflight and (problem := self._preflight()):
            # Each failed connect() leaks one store handle inside neonize; skip it when offline.
            self._publish(
                status="disconnected",
                qr="",
                qr_expires_at=0.0,
                last_error=f"cannot reach WhatsApp: {problem}",
            )
            return "unreachable", None
        attempt = self._begin_attempt()
        if attempt is None:
            return "stopped", None
        while True:
            self._wake.clear()
            if self._stopping.is_set():
                return "stopped", attempt
            if (pending := self._take_pending()) is not None:
                return self._handle_pending(attempt, *pending), attempt
            if attempt.done.is_set():
                if attempt.error is not None:
                    self._publish(
                        status="disconnected",
                        qr="",
                        qr_expires_at=0.0,
                        last_error=connect_failure_text(attempt.error),
                    )
                    return "unreachable", attempt
                self._publish(
                    status="disconnected", qr="", last_error="the WhatsApp session ended; reconnecting"
                )
                return "ended", attempt
            now = time.monotonic()
            waiting_for_scan = attempt.qr_count > 0 and not attempt.paired
            # When whatsmeow's QR channel closes, neonize looks its client up in a Go map right away;
            # a Stop() at that instant panics Go, so never stop near a code's expiry or just after it.
            exhausted = attempt.qr_exhausted_at is not None
            safe_to_stop = (
                (now - attempt.qr_exhausted_at >= QR_ROTATION_GUARD_SECONDS)
                if exhausted
                else (abs(now - attempt.qr_until) >= QR_ROTATION_GUARD_SECONDS)
            )
            pairing_over = self._pairing_deadline is not None and now >= self._pairing_deadline
            if waiting_for_scan and pairing_over and safe_to_stop:
                self._end_attempt(attempt)
                with self._state_lock:
                    self._pairing_deadline = None
                    self._pairing_expired = True
                return "pairing", attempt
            if waiting_for_scan and (
                (exhausted and safe_to_stop) or now > attempt.qr_until + QR_GRACE_SECONDS
            ):
                # whatsmeow ran out of QR codes; a new client offers fresh ones within our pairing window.
                self._end_attempt(attempt, retire=True)
                return "again", attempt
            if not attempt.connected and not waiting_for_scan and now - attempt.started > ANSWER_SECONDS:
                self._end_attempt(attempt, retire=True)
                self._publish(
                    status="disconnected",
                    qr="",
                    last_error=f"no answer from WhatsApp within {ANSWER_SECONDS:.0f} s; retrying",
                )
                return "no-answer", attempt
            self._wake.wait(0.5)

    def _begin_attempt(self) -> _Attempt | None:
        """Start client.connect() in its own thread, holding the lock while Go registers it."""
        with self._lock:
            if self._stopping.is_set():
                return None
            if self._client is None:
                self._client = self._new_client()
            attempt = _Attempt(client=self._client)
            with self._state_lock:
                self._retry_now = False
                self._attempt = attempt
                self._live = attempt
            thread = threading.Thread(
                target=self._run_connect, args=(attempt,), name=f"wa-connect-{self.instance_id}", daemon=True
            )
            thread.start()
            # Go fills its client maps (not safe for concurrent use) before the first callback.
            attempt.settled.wait(SETTLE_SECONDS)
        return attempt

    def _run_connect(self, attempt: _Attempt) -> None:
        """Body of the connect thread: blocks for the whole session."""
        try:
            attempt.client.connect()
        except Exception as exc:
            attempt.error = str(exc) or type(exc).__name__
        finally:
            with self._state_lock:
                if self._live is attempt:
                    self._live = None
            attempt.done.set()
            attempt.settled.set()
            self._wake.set()

    def _end_attempt(self, attempt: _Attempt, retire: bool = False) -> bool:
        """Stop attempt's client; True when its connect() returned."""
        got = self._lock.acquire(timeout=LOCK_WAIT_SECONDS)
        try:
            with self._state_lock:
                if self._live is attempt:
                    self._live = None
            attempt.client.stop()
        except Exception:
            log.exception("Stopping the WhatsApp client failed")
        finally:
            if got:
                self._lock.release()
        returned = attempt.done.wait(STOP_GRACE_SECONDS)
        if retire or not returned:
            # A connect() still blocked inside Go keeps using this client: next attempt gets a new one.
            self._client = None
        return returned

    def _handle_pending(self, attempt: _Attempt, kind: str, reason: str) -> str:
        """React to logout / logged out / stream replaced / ban / outdated client."""
        if kind in ("logout", "logged_out"):
            self._reset_session(attempt, reason)
            return "again"
        self._end_attempt(attempt)
        self._publish(status="disconnected", qr="", qr_expires_at=0.0, last_error=reason)
        return kind

    def _reset_session(self, attempt: _Attempt | None, reason: str) -> None:
        """Drop the linked session: stop its client, wipe the store, next attempt pairs anew."""
        if attempt is not None:
            self._end_attempt(attempt)
        self._client = None  # neonize needs a fresh client for a new pairing
        wipe_session_store(self._store)
        with self._state_lock:
            self._pairing_deadline = None
            self._pairing_expired = False
            self._phone = ""
        self._publish(
            status="logged_out", qr="", qr_expires_at=0.0, phone_number="", push_name="", last_error=reason
        )

    def _preflight(self) -> str | None:
        """Why web.whatsapp.com:443 is unreachable, or None (also None behind a proxy)."""
        if any(os.environ.get(name) for name in PROXY_VARIABLES):
            return None
        try:
            socket.create_connection((WHATSAPP_HOST, 443), timeout=PREFLIGHT_TIMEOUT).close()
        except OSError as exc:
            return f"{WHATSAPP_HOST}: {exc}"
        return None

    def _wait_retry(self, delay: float) -> None:
        """Sleep delay seconds unless stop() or reconnect() comes first."""
        deadline = time.monotonic() + delay
        while not self._stopping.is_set():
            with self._state_lock:
                if self._retry_now or self._pending is not None:
                    self._retry_now = False
                    return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._wake.wait(min(remaining, 1.0))
            self._wake.clear()

    def _request(self, kind: str, reason: str) -> None:
        """Ask the session thread to handle kind (first request wins)."""
        with self._state_lock:
            if self._pending is None or kind in ("logout", "logged_out"):
                self._pending = (kind, reason)
        self._wake.set()

    def _take_pending(self) -> tuple[str, str] | None:
        with self._state_lock:
            pending, self._pending = self._pending, None
        return pending

    # -- event workers ------------------------------------------------------

    def _work(self, inbox: queue.Queue, handle: Callable[..., None]) -> None:
        """Feed inbox items to handle until the None sentinel."""
        while True:
            item = inbox.get()
            if item is None:
                return
            try:
                handle(*item)
            except Exception:
                log.exception("Handling a WhatsApp event failed")

    def _handle_event(self, kind: str, client: Any, payload: Any) -> None:
        """Act on one queued callback from the current client."""
        attempt = self._attempt
        if attempt is None or attempt.client is not client or self._live is not attempt:
            return
        if kind == "qr":
            self._on_qr(attempt, payload)
        elif kind == "login":
            self._on_login_status(attempt, payload)
        elif kind == "connected":
            self._on_connected(attempt, payload)
        elif kind == "disconnected":
            self._publish_for(
                attempt, status="disconnected", last_error="connection to WhatsApp lost; reconnecting"
            )
            self._safe_emit(session_event_from(payload, self._phone))
        elif kind == "logged_out":
            self._safe_emit(session_event_from(payload, self._phone))
            self._request("logged_out", f"WhatsApp ended the session ({logged_out_reason(payload)})")
        elif kind == "message":
            self._messages.put((attempt, payload))
        elif kind == "receipt":
            self._safe_emit(receipt_event_from(payload, self._resolver(attempt)))
        elif kind == "stream_replaced":
            self._request(kind, "another client took over this WhatsApp session")
        elif kind == "temporary_ban":
            self._request(kind, "WhatsApp temporarily banned this number")
        elif kind == "client_outdated":
            self._request(kind, "WhatsApp rejected this client version; upgrade neonize")

    def _on_qr(self, attempt: _Attempt, payload: bytes) -> None:
        code = payload.decode() if isinstance(payload, bytes) else str(payload)
        seconds = FIRST_QR_SECONDS if attempt.qr_count == 0 else NEXT_QR_SECONDS
        attempt.qr_count += 1
        attempt.qr_until = time.monotonic() + seconds
        with self._state_lock:
            if self._pairing_deadline is None:
                self._pairing_deadline = time.monotonic() + self._pairing_timeout
            self._pairing_expired = False
        self._publish_for(attempt, status="qr", qr=code, qr_expires_at=time.time() + seconds, last_error="")
        self._wake.set()

    def _on_login_status(self, attempt: _Attempt, status: str) -> None:
        if status == "success":
            attempt.paired = True
            attempt.started = time.monotonic()  # the answer watchdog now waits for Connected
            self._publish_for(attempt, status="starting", qr="", qr_expires_at=0.0, last_error="")
        elif status in ("timeout", "error"):
            attempt.qr_exhausted_at = time.monotonic()
        elif status == "err-client-outdated":
            self._request("client_outdated", "WhatsApp rejected this client version; upgrade neonize")
        self._wake.set()

    def _on_connected(self, attempt: _Attempt, payload: Any) -> None:
        attempt.connected = attempt.paired = True
        try:
            me = self._go(attempt, attempt.client.get_me)
        except _Gone:
            return
        except Exception:
            log.exception("Reading the linked WhatsApp account failed")
            me = None
        number = phone_of(me.JID) if me is not None and me.HasField("JID") else None
        phone = f"+{number}" if number else ""
        with self._state_lock:
            self._phone = phone
            self._pairing_deadline = None
            self._pairing_expired = False
        self._publish_for(
            attempt,
            status="connected",
            qr="",
            qr_expires_at=0.0,
            phone_number=phone,
            push_name=me.PushName if me is not None else "",
            last_error="",
        )
        self._safe_emit(session_event_from(payload, phone))
        self._wake.set()

    def _on_message(self, attempt: _Attempt, ev: Any) -> None:
        """Translate, download media (size-capped) and emit, in arrival order."""
        event = message_event_from(ev, self._resolver(attempt))
        if event is None:
            return
        data = None
        if event["media"] is not None:
            data = self._download(attempt, event, ev.Message)
        self._safe_emit(event, data)

    def _download(self, attempt: _Attempt, event: dict[str, Any], message: Any) -> bytes | None:
        declared = event["media"]["size"]
        if self._media_cap and declared > self._media_cap:
            log.warning("Not downloading %s: %d bytes is over MAX_DOCUMENT_BYTES", event["wa_id"], declared)
            return None
        downloadable = media_message_from(message)
        if downloadable is None:
            return None
        try:
            data = self._go(attempt, lambda: attempt.client.download_any(downloadable))
        except _Gone:
            return None
        except Exception as exc:
            log.warning("Could not download the media of WhatsApp message %s: %s", event["wa_id"], exc)
            return None
        if not data or (self._media_cap and len(data) > self._media_cap):
            return None
        event["media"]["size"] = len(data)
        return bytes(data)

    def _resolver(self, attempt: _Attempt) -> Callable[[Any], str | None]:
        """LID → phone digits through whatsmeow's store."""

        def resolve(lid: Any) -> str | None:
            # Go dereferences every JID field: send a complete one.
            jid = type(lid)(
                User=lid.User, Server=lid.Server, RawAgent=0, Device=0, Integrator=0, IsEmpty=False
            )
            try:
                found = self._go(attempt, lambda: attempt.client.get_pn_from_lid(jid))
            except Exception as exc:
                log.warning("Cannot map %s to a phone number: %s", jid_to_string(lid), exc)
                return None
            return phone_of(found)

        return resolve

    # -- reporting ----------------------------------------------------------

    def _publish(self, **fields: Any) -> None:
        """Publish state fields, in order, remembering the status."""
        with self._state_lock:
            self._publish_locked(fields)

    def _publish_for(self, attempt: _Attempt, **fields: Any) -> None:
        """Publish only while attempt is the live one (stale callbacks must not undo a stop)."""
        with self._state_lock:
            if self._live is attempt:
                self._publish_locked(fields)

    def _publish_locked(self, fields: dict[str, Any]) -> None:
        if "status" in fields:
            self._status = fields["status"]
        try:
            self.sink.state(**fields)
        except Exception:
            log.exception("Publishing WhatsApp state failed")

    def _safe_emit(self, event: dict[str, Any] | None, media: bytes | None = None) -> None:
        if event is None:
            return
        try:
            self.sink.emit(event, media=media)
        except Exception:
            log.exception("Emitting a WhatsApp %s event failed", event.get("kind"))
