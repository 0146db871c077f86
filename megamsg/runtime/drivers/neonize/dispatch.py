"""Acting on neonize callbacks: QR codes, login status, connection changes, messages, receipts."""

import logging
import queue
import time
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from megamsg.runtime.drivers.neonize.core import Attempt, ClientGone, GoClient, NeonizeCore
from megamsg.runtime.drivers.neonize.events import (
    jid_to_string,
    logged_out_reason,
    media_message_from,
    message_event_from,
    phone_of,
    receipt_event_from,
    session_event_from,
)

log = logging.getLogger(__name__)

FIRST_QR_SECONDS = 60.0
NEXT_QR_SECONDS = 20.0
CLIENT_OUTDATED = "WhatsApp rejected this client version; upgrade neonize"

EventHandler = Callable[["EventDispatch", Attempt, Any], None]
Item = TypeVar("Item", bound=tuple[Any, ...])


class EventDispatch(NeonizeCore):
    """The event workers: queued callbacks from the Go side, handled one at a time, in order."""

    def _work(self, inbox: queue.Queue[Item | None], handle: Callable[..., None]) -> None:
        """Feed inbox items to handle until the None sentinel."""
        while True:
            item = inbox.get()
            if item is None:
                return
            try:
                handle(*item)
            except Exception:
                log.exception("Handling a WhatsApp event failed")

    def _handle_event(self, kind: str, client: GoClient, payload: Any) -> None:
        """Act on one queued callback from the current client."""
        attempt = self._attempt
        if attempt is None or attempt.client is not client or self._live is not attempt:
            return
        handler = self._EVENT_HANDLERS.get(kind)
        if handler is not None:
            handler(self, attempt, payload)

    def _on_qr(self, attempt: Attempt, payload: bytes | str) -> None:
        """Publish a new QR code and when it expires; the first one opens the pairing window."""
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

    def _on_login_status(self, attempt: Attempt, status: str) -> None:
        """Note a QR-channel outcome: paired, out of codes, or a client WhatsApp rejects."""
        if status == "success":
            attempt.paired = True
            attempt.started = time.monotonic()  # the answer watchdog now waits for Connected
            self._publish_for(attempt, status="starting", qr="", qr_expires_at=0.0, last_error="")
        elif status in ("timeout", "error"):
            attempt.qr_exhausted_at = time.monotonic()
        elif status == "err-client-outdated":
            self._request("client_outdated", CLIENT_OUTDATED)
        self._wake.set()

    def _on_connected(self, attempt: Attempt, payload: Any) -> None:
        """Publish the linked number and tell the webhook; the pairing window closes."""
        attempt.connected = attempt.paired = True
        try:
            me = self._go(attempt, attempt.client.get_me)
        except ClientGone:
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

    def _on_disconnected(self, attempt: Attempt, ev: Any) -> None:
        """Connection lost: publish it and tell the webhook; whatsmeow reconnects by itself."""
        self._publish_for(
            attempt, status="disconnected", last_error="connection to WhatsApp lost; reconnecting"
        )
        self._safe_emit(session_event_from(ev, self._phone))

    def _on_logged_out(self, attempt: Attempt, ev: Any) -> None:
        """WhatsApp dropped the session: tell the webhook, and have the session thread pair anew."""
        self._safe_emit(session_event_from(ev, self._phone))
        self._request("logged_out", f"WhatsApp ended the session ({logged_out_reason(ev)})")

    def _queue_message(self, attempt: Attempt, ev: Any) -> None:
        """Hand a message to the messages worker, so media downloads never hold up session events."""
        self._messages.put((attempt, ev))

    def _on_receipt(self, attempt: Attempt, ev: Any) -> None:
        """Emit a delivered / read / played receipt."""
        self._safe_emit(receipt_event_from(ev, self._resolver(attempt)))

    def _on_stream_replaced(self, attempt: Attempt, ev: Any) -> None:
        """Another client took over the session: the session thread stops this one."""
        self._request("stream_replaced", "another client took over this WhatsApp session")

    def _on_temporary_ban(self, attempt: Attempt, ev: Any) -> None:
        """WhatsApp banned the number for a while: the session thread stops and backs off."""
        self._request("temporary_ban", "WhatsApp temporarily banned this number")

    def _on_client_outdated(self, attempt: Attempt, ev: Any) -> None:
        """WhatsApp refuses this neonize version: the session thread stops and backs off."""
        self._request("client_outdated", CLIENT_OUTDATED)

    # Keyed by the kinds SessionLoop queues from its Go callbacks; other kinds are ignored.
    _EVENT_HANDLERS: ClassVar[dict[str, EventHandler]] = {
        "qr": _on_qr,
        "login": _on_login_status,
        "connected": _on_connected,
        "disconnected": _on_disconnected,
        "logged_out": _on_logged_out,
        "message": _queue_message,
        "receipt": _on_receipt,
        "stream_replaced": _on_stream_replaced,
        "temporary_ban": _on_temporary_ban,
        "client_outdated": _on_client_outdated,
    }

    def _on_message(self, attempt: Attempt, ev: Any) -> None:
        """Translate, download media (size-capped) and emit, in arrival order."""
        event = message_event_from(ev, self._resolver(attempt))
        if event is None:
            return
        data = None
        if event["media"] is not None:
            data = self._download(attempt, event, ev.Message)
        self._safe_emit(event, data)

    def _download(self, attempt: Attempt, event: dict[str, Any], message: Any) -> bytes | None:
        """The media bytes of message within MAX_DOCUMENT_BYTES, or None; event gets their real size."""
        declared = event["media"]["size"]
        if self._media_cap and declared > self._media_cap:
            log.warning("Not downloading %s: %d bytes is over MAX_DOCUMENT_BYTES", event["wa_id"], declared)
            return None
        downloadable = media_message_from(message)
        if downloadable is None:
            return None
        try:
            data = self._go(attempt, lambda: attempt.client.download_any(downloadable))
        except ClientGone:
            return None
        except Exception as exc:
            log.warning("Could not download the media of WhatsApp message %s: %s", event["wa_id"], exc)
            return None
        if not data or (self._media_cap and len(data) > self._media_cap):
            return None
        event["media"]["size"] = len(data)
        return bytes(data)

    def _resolver(self, attempt: Attempt) -> Callable[[Any], str | None]:
        """LID → phone digits through whatsmeow's store."""

        def resolve(lid: Any) -> str | None:
            """The phone digits whatsmeow knows for lid, or None."""
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
