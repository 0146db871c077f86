"""The neonize client's lifecycle: make clients, connect in a thread, watch, stop, back off, retry."""

import ctypes
import itertools
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from megamsg.runtime.drivers.neonize.core import (
    LIFECYCLE_LOCK,
    LOCK_WAIT_SECONDS,
    STOP_GRACE_SECONDS,
    Attempt,
    GoClient,
    NeonizeCore,
)
from megamsg.runtime.drivers.neonize.loader import load_neonize
from megamsg.runtime.drivers.neonize.store import wipe_session_store

log = logging.getLogger(__name__)

WHATSAPP_HOST = "web.whatsapp.com"
RETRY_FIRST_SECONDS = 2.0
RETRY_MAX_SECONDS = 60.0
PAIRING_RETRY_FIRST_SECONDS = 120.0
PAIRING_RETRY_MAX_SECONDS = 3600.0
SETTLE_SECONDS = 3.0
ANSWER_SECONDS = 60.0
QR_GRACE_SECONDS = 15.0
QR_ROTATION_GUARD_SECONDS = 2.0
PREFLIGHT_TIMEOUT = 10.0
CLIENT_NUMBERS = itertools.count(1)
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def connect_failure_text(error: str) -> str:
    """last_error for a connect() that raised."""
    if re.search(r"database|sqlite|sql:|postgres", error, re.IGNORECASE):
        return f"cannot open the WhatsApp session store: {error}"
    return f"cannot reach WhatsApp: {error}"


def retry_delay(failures: int, first: float, cap: float) -> float:
    """Capped exponential backoff for the n-th consecutive failure (n ≥ 1)."""
    return min(cap, first * 2 ** max(0, failures - 1))


class SessionLoop(NeonizeCore):
    """The session thread: one client.connect() attempt after another until stop()."""

    def _new_client(self) -> GoClient:
        """A fresh NewClient on the session store, with every handler registered."""
        nz = load_neonize()
        # Unique in the process, not just in this driver: a session restarted in the same runner
        # must never reuse a uuid Go may still hold for its predecessor's client.
        self._generation = next(CLIENT_NUMBERS)
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
            """Queue the callback; never raise into Go."""
            try:
                attempt = self._attempt
                if attempt is not None and attempt.client is client:
                    attempt.settled.set()
                self._events.put((kind, client, payload))
            except Exception:
                log.exception("WhatsApp %s callback failed", kind)

        return handle

    def _login_status_handler(self, client: GoClient) -> Callable[[int, int], None]:
        """Callback for whatsmeow's QR-channel login events (C string pointer)."""

        def handle(_uuid: int, status: int) -> None:
            """Queue the status text; never raise into Go."""
            try:
                text = ctypes.string_at(status).decode(errors="replace") if status else ""
                self._events.put(("login", client, text))
            except Exception:
                log.exception("WhatsApp login status callback failed")

        return handle

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

    def _run_attempt(self, preflight: bool) -> tuple[str, Attempt | None]:
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
            # The event thread sets both: read each once, so a check and its use see the same value.
            exhausted_at, pairing_deadline = attempt.qr_exhausted_at, self._pairing_deadline
            # When whatsmeow's QR channel closes, neonize looks its client up in a Go map right away;
            # a Stop() at that instant panics Go, so never stop near a code's expiry or just after it.
            exhausted = exhausted_at is not None
            safe_to_stop = (
                (now - exhausted_at >= QR_ROTATION_GUARD_SECONDS)
                if exhausted_at is not None
                else (abs(now - attempt.qr_until) >= QR_ROTATION_GUARD_SECONDS)
            )
            pairing_over = pairing_deadline is not None and now >= pairing_deadline
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

    def _begin_attempt(self) -> Attempt | None:
        """Start client.connect() in its own thread, holding the lock while Go registers it."""
        with self._lock, LIFECYCLE_LOCK:
            if self._stopping.is_set():
                return None
            if self._client is None:
                self._client = self._new_client()
            attempt = Attempt(client=self._client)
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

    def _run_connect(self, attempt: Attempt) -> None:
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

    def _end_attempt(self, attempt: Attempt, retire: bool = False) -> bool:
        """Stop attempt's client; True when its connect() returned."""
        got = self._lock.acquire(timeout=LOCK_WAIT_SECONDS)
        try:
            with self._state_lock:
                if self._live is attempt:
                    self._live = None
            with LIFECYCLE_LOCK:
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

    def _handle_pending(self, attempt: Attempt, kind: str, reason: str) -> str:
        """React to logout / logged out / stream replaced / ban / outdated client."""
        if kind in ("logout", "logged_out"):
            self._reset_session(attempt, reason)
            return "again"
        self._end_attempt(attempt)
        self._publish(status="disconnected", qr="", qr_expires_at=0.0, last_error=reason)
        return kind

    def _reset_session(self, attempt: Attempt | None, reason: str) -> None:
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
        """Sleep delay seconds unless stop() or reconnect() comes first, publishing when the retry is due."""
        self._publish(retry_at=round(time.time() + delay, 3))
        try:
            self._sleep_until_retry(time.monotonic() + delay)
        finally:
            self._publish(retry_at="")

    def _sleep_until_retry(self, deadline: float) -> None:
        """Wait until the monotonic deadline, stop() or reconnect()."""
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
