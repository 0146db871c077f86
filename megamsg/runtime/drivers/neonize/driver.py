"""The real WhatsApp driver, on neonize (whatsmeow). Only session runners import this module."""

import logging
import re
import threading
import time

from megamsg.runtime.drivers.base import DriverError, NotConnected, OutgoingMessage
from megamsg.runtime.drivers.neonize.core import (
    LIFECYCLE_LOCK,
    LOCK_WAIT_SECONDS,
    STOP_GRACE_SECONDS,
    ClientGone,
)
from megamsg.runtime.drivers.neonize.dispatch import EventDispatch
from megamsg.runtime.drivers.neonize.features import NeonizeFeatures
from megamsg.runtime.drivers.neonize.loader import load_neonize
from megamsg.runtime.drivers.neonize.message_builders import jid
from megamsg.runtime.drivers.neonize.sending import checked_recipient, recipient_server, send_call
from megamsg.runtime.drivers.neonize.session import SessionLoop

log = logging.getLogger(__name__)


def format_pair_code(code: str) -> str:
    """WhatsApp's linking code as "ABCD-EFGH"."""
    letters = re.sub(r"[^0-9A-Za-z]", "", code or "").upper()
    if len(letters) != 8:
        raise DriverError(f"WhatsApp returned an unexpected pairing code {code!r}.")
    return f"{letters[:4]}-{letters[4:]}"


class NeonizeDriver(NeonizeFeatures, SessionLoop, EventDispatch):
    """One WhatsApp session through neonize, run in the background of a session runner."""

    def start(self) -> None:
        """Start the session thread and event workers; returns at once."""
        with self._state_lock:
            if self._started:
                return
            self._started = True
        # retry_at too: a runner stopped while waiting to retry leaves its own in the state hash.
        self._publish(status="starting", qr="", qr_expires_at=0.0, last_error="", retry_at="")
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
                with LIFECYCLE_LOCK:
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
        number = checked_recipient(message)
        nz = load_neonize()
        own = jid(self._phone) if self._phone else None
        call = send_call(attempt.client, nz.build_jid(number, recipient_server(message)), message, own)
        if call is None:
            raise DriverError(f"Message type {message.type!r} cannot be sent.")
        try:
            response = self._go(attempt, call)
        except ClientGone:
            raise NotConnected(self._status) from None
        except nz.NeonizeError as exc:
            raise DriverError(f"WhatsApp refused the message: {exc}") from exc
        except Exception as exc:
            # Pillow / ffmpeg / libmagic failures while neonize builds the media message.
            raise DriverError(f"Could not prepare the {message.type} for WhatsApp: {exc}") from exc
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
        except ClientGone:
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
            except ClientGone:
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
