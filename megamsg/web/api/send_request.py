"""Validation of the send endpoint's JSON body against its schema (every failure names its field)."""

from dataclasses import dataclass
from typing import Any

from megamsg.web.api.request_schemas import KNOWN_SEND_FIELDS, NOT_APPLICABLE, SEND, SEND_TYPES
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


def validate_send(body: dict[str, Any]) -> SendRequest:
    """Check the body against the contract; raise ApiError(422) naming the first bad field."""
    check_target(body)
    SEND.check(body)
    kind = body.get("type") or "text"
    SEND_TYPES[kind].check(body)
    not_applicable = NOT_APPLICABLE.get(kind, ())
    ignored = set(body) - KNOWN_SEND_FIELDS
    ignored |= {field for field in not_applicable if body.get(field) is not None}
    kept = {
        field: body.get(field) if field not in not_applicable else None
        for field in ("text", "media", "caption", "mime_type", "file_name")
    }
    return SendRequest(
        to=recipient(body),
        type=kind,
        **kept,
        ptt=bool(body.get("ptt")),
        is_async=bool(body.get("async")),
        ignored_fields=sorted(ignored),
        send_at=body.get("send_at"),
    )
