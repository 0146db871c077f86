"""The driver interface every WhatsApp implementation provides to the session runner.

Events a driver emits through EventSink.emit are plain JSON-able dicts:

- {"kind": "message", "wa_id": str, "from": "201234567890" (digits, no +, never a LID),
   "push_name": str, "chat": str | None (group JID for group messages), "is_group": bool,
   "type": "text|image|audio|video|document|sticker|location|contact|…",
   "text": str (caption for media, "" when none), "timestamp": int (Unix seconds),
   "media": None | {"mime_type": str, "file_name": str | None, "size": int}}
  Media bytes, when the driver downloaded them, go separately: emit(event, media=bytes).
  Optional keys (issue 13): "reply_to": {"id", "from"} on a reply; "location": {"latitude",
  "longitude", "name", "address"}; type "reaction" with "reaction": {"id", "from_me", "emoji"},
  "edited" with "edited": {"id", "text"}, "deleted" with "deleted": {"id"} ("id": WhatsApp's id
  of the message referred to).
- {"kind": "receipt", "wa_ids": [str, …], "status": "delivered|read|played",
   "timestamp": int (Unix seconds), "chat": str}
- {"kind": "session", "status": "connected|disconnected|logged_out", "phone_number": str | None}

State a driver publishes through EventSink.state (any subset of the keys):
  status ("starting|qr|connected|disconnected|logged_out"), qr (payload or ""),
  qr_expires_at (Unix seconds, float), phone_number ("+2012…" or ""), push_name,
  last_error ("" clears it), retry_at (Unix seconds, float, of the next connection attempt while
  the driver waits before retrying; "" when it is not waiting — the dashboard shows
  "retrying in 20 s" from it).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol


class EventSink(Protocol):
    """What the runner gives a driver to report with. Both calls are cheap and thread-safe."""

    def state(self, **fields: Any) -> None:
        """Publish state fields (see module docstring)."""

    def emit(self, event: dict[str, Any], media: bytes | None = None) -> None:
        """Hand an event (and optional media bytes) to the events pipeline."""


class DriverError(Exception):
    """WhatsApp refused or failed an operation; the message is safe to show to the user."""


class NotConnected(DriverError):
    """The session is not connected; carries the current status."""

    def __init__(self, status: str) -> None:
        """The error for a session in status."""
        super().__init__(f"WhatsApp session is not connected (status: {status}).")
        self.status = status


@dataclass
class OutgoingMessage:
    """A validated message ready to send. Media is already fetched/decoded bytes."""

    id: str  # MegaMsg's message id
    to: str  # E.164 with "+", e.g. "+201234567890"
    type: str  # text | image | audio | video | document | location | reaction
    text: str | None = None
    caption: str | None = None
    media: bytes | None = None
    mime_type: str | None = None
    file_name: str | None = None
    ptt: bool = False
    # {"reply_to": {"id", "from_me", "chat", "sender", "type", "text"}} for a quoted reply; a location
    # has {"location": {"latitude", "longitude", "name", "address"}}; a reaction {"reaction": {"id",
    # "from_me", "chat", "sender", "emoji"}} ("id" is WhatsApp's id of the message pointed at).
    details: dict[str, Any] = field(default_factory=dict)


class Driver(ABC):
    """One WhatsApp session (one linked number) inside a runner process."""

    def __init__(self, instance_id: str, config: dict[str, Any], sink: EventSink) -> None:
        """Keep what the runner gives; connect nothing until start()."""
        self.instance_id = instance_id
        self.config = config
        self.sink = sink

    @abstractmethod
    def start(self) -> None:
        """Start the session in the background (returns at once)."""

    @abstractmethod
    def stop(self) -> None:
        """Disconnect and release the client; called once, at runner shutdown."""

    @abstractmethod
    def status(self) -> str:
        """Current status: starting | qr | connected | disconnected | logged_out."""

    @abstractmethod
    def send(self, message: OutgoingMessage) -> str:
        """Send; return the WhatsApp message id. Raise NotConnected / DriverError."""

    @abstractmethod
    def pair_code(self, phone_number: str) -> str:
        """Request a pairing code ("ABCD-EFGH") for linking by phone number."""

    @abstractmethod
    def logout(self) -> None:
        """Unlink the session; the driver then offers a new QR."""

    def reconnect(self) -> None:
        """Try to connect again now instead of waiting for the next retry; DriverError if it cannot."""
        # Not a silent no-op: the dashboard would say "Reconnecting…" while nothing happens.
        raise DriverError("This WhatsApp driver cannot reconnect on request; it retries by itself.")

    def forget(self) -> None:  # noqa: B027 - optional hook: most drivers keep nothing else
        """After stop(), for a deleted instance: remove whatever the driver keeps outside the session store."""

    def check_numbers(self, numbers: list[str]) -> list[dict[str, Any]]:
        """Per E.164 number, in order: {"phone_number", "on_whatsapp", "wa_id" (JID or None)}."""
        raise DriverError("This WhatsApp driver cannot check numbers.")

    def groups(self) -> list[dict[str, Any]]:
        """The groups the linked number is in: [{"id": "…@g.us", "subject", "participants": int}]."""
        raise DriverError("This WhatsApp driver cannot list groups.")

    def mark_read(self, message: dict[str, Any]) -> None:
        """Send a read receipt for an incoming message: {"id" (WhatsApp's), "chat", "sender"}."""
        raise DriverError("This WhatsApp driver cannot mark messages read.")

    def send_presence(self, to: str, state: str) -> None:
        """Show typing / recording (or stop: paused) in the chat with to (a number or a group id)."""
        raise DriverError("This WhatsApp driver cannot send presence.")

    def control(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Simulator-only actions (scan, incoming, receipt, disconnect, …)."""
        raise DriverError("This action is only available with the simulator driver.")
