"""Validation of the send endpoint's JSON body against its schema (every failure names its field)."""

from dataclasses import dataclass, field
from typing import Any

from megamsg.web.api.request_schemas import NOT_APPLICABLE, SEND, SEND_TYPES
from megamsg.web.api.send_target import check_target, recipient


@dataclass
class SendRequest:
    """A validated send request (media not yet loaded)."""

    to: str
    type: str
    text: str | None
    media: str | None
    caption: str | None
    mime_type: str | None
    file_name: str | None
    ptt: bool
    is_async: bool
    ignored_fields: list[str]
    send_at: str | None = None
    reply_to: str | None = None  # a message of the log, as given (MegaMsg's or WhatsApp's id)
    # What the type needs beyond text and media: {"latitude", …} or {"message_id", "emoji"}.
    extras: dict[str, Any] = field(default_factory=dict)
    # Filled in once the references are looked up in the log (megamsg.web.api.message_refs).
    details: dict[str, Any] = field(default_factory=dict)


EXTRA_FIELDS = {"location": ("latitude", "longitude", "name", "address"), "reaction": ("message_id", "emoji")}


def validate_send(body: dict[str, Any]) -> SendRequest:
    """Check the body against the contract; raise ApiError(422) naming the first bad field."""
    check_target(body)
    SEND.check(body)
    kind = body.get("type") or "text"
    SEND_TYPES[kind].check(body)
    not_applicable = NOT_APPLICABLE.get(kind, ())
    ignored = set(body) - set(SEND.schema["properties"]) - set(SEND_TYPES[kind].schema["properties"])
    ignored |= {name for name in not_applicable if body.get(name) is not None}
    kept: dict[str, Any] = {
        name: body.get(name) if name not in not_applicable else None
        for name in ("text", "media", "caption", "mime_type", "file_name", "reply_to")
    }
    return SendRequest(
        to=recipient(body),
        type=kind,
        **kept,
        ptt=bool(body.get("ptt")),
        is_async=bool(body.get("async")),
        ignored_fields=sorted(ignored),
        send_at=body.get("send_at"),
        extras={name: body.get(name) for name in EXTRA_FIELDS.get(kind, ())},
    )
