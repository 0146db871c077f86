"""The webhook events MegaMsg sends: a JSON Schema and a sample per event type.

The OpenAPI document describes only requests to MegaMsg, so the payloads it POSTs are described
here, in one place; the tests check real deliveries of every type against these schemas. Should the
document grow an OpenAPI 3.1 `webhooks` section, its schemas are used instead.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from megamsg.delivery.webhooks import KINDS
from megamsg.web.api.detail_schemas import DETAIL_PROPERTIES
from megamsg.web.docs.schema_samples import sample
from megamsg.web.docs.schema_walk import resolve

DELIVERED_AT = {
    "type": "string",
    "format": "date-time",
    "description": "When the event was recorded (ISO 8601, UTC); the same on every attempt.",
    "examples": ["2026-05-02T12:00:00+00:00"],
}
NULLABLE_STRING = {"type": ["string", "null"]}
INSTANCE_ID = {
    "type": "string",
    "description": "The instance the event came from, so one receiver can serve many instances.",
    "examples": ["inst_5c1f0e9a8b7d6c5e4f3a2b1c"],
}
SEQUENCE = {
    "type": "integer",
    "minimum": 1,
    "description": "The event's number among its instance's events: 1, 2, 3, … without gaps, the same on "
    "every attempt and redelivery. Retries can arrive after later events: sort by it to restore the order.",
    "examples": [42],
}


def _event(kind: str, key: str, inner: dict[str, Any]) -> dict[str, Any]:
    """{"type": kind, "instance_id": …, "sequence": …, key: inner, "timestamp": …}."""
    return {
        "type": "object",
        "required": ["type", "instance_id", "sequence", key, "timestamp"],
        "properties": {
            "type": {"const": kind, "description": "The event type."},
            "instance_id": INSTANCE_ID,
            "sequence": SEQUENCE,
            key: inner,
            "timestamp": DELIVERED_AT,
        },
    }


def _obj(properties: dict[str, Any], required: list[str], description: str) -> dict[str, Any]:
    return {"type": "object", "description": description, "required": required, "properties": properties}


MESSAGE = _event(
    "message",
    "message",
    _obj(
        {
            "id": {
                "type": "string",
                "description": "WhatsApp's id of the message.",
                "examples": ["ABCDEF123456"],
            },
            "from": {
                "type": "string",
                "description": "Sender's number, digits only (no + and no @s.whatsapp.net); empty in the rare "
                "case WhatsApp hides the number behind a LID (then sender_lid is set).",
                "examples": ["201234567890"],
            },
            "push_name": {
                "type": "string",
                "description": "Sender's WhatsApp display name (empty if unknown).",
                "examples": ["John Doe"],
            },
            "text": {
                "type": "string",
                "description": "The text; for media, the caption (empty string if none).",
                "examples": ["Hello!"],
            },
            "timestamp": {
                "type": "integer",
                "description": "When it was sent, Unix seconds.",
                "examples": [1714650000],
            },
            "is_group": {"type": "boolean", "description": "Sent in a group chat.", "examples": [False]},
            "type": {
                "type": "string",
                "description": "text, image, audio, video, document, sticker, location, contact, …; "
                "extensions: reaction, edited and deleted, each with its own field of that name.",
                "examples": ["text"],
            },
            "chat": {**NULLABLE_STRING, "description": "Group messages only: the group's id."},
            "group_id": {
                **NULLABLE_STRING,
                "description": "Group messages only: the group's id (the same as chat); from is the sender.",
                "examples": ["120363012345678901@g.us"],
            },
            "sender_lid": {
                "type": "string",
                "description": "Only when WhatsApp did not reveal the sender's number: their LID (…@lid).",
            },
            "media": _obj(
                {
                    "mime_type": {**NULLABLE_STRING, "description": "MIME type of the media."},
                    "file_name": {**NULLABLE_STRING, "description": "File name (documents)."},
                    "size": {"type": ["integer", "null"], "description": "Size in bytes."},
                    "url": {
                        **NULLABLE_STRING,
                        "description": "Path on this server to download it with the instance's two headers "
                        "(GET /api/whatsapp/media/{message_id}); null if MegaMsg could not fetch it.",
                    },
                },
                ["mime_type", "file_name", "size", "url"],
                "Media messages only.",
            ),
            **DETAIL_PROPERTIES,
        },
        ["id", "from", "push_name", "text", "timestamp", "is_group", "type"],
        "The incoming message.",
    ),
)

STATUS = _event(
    "status",
    "status",
    _obj(
        {
            "id": {
                "type": "string",
                "description": "MegaMsg's message id, as the send answer gave it.",
                "examples": ["3EB0C767D26A1D0F2E4C"],
            },
            "to": {"type": "string", "description": "The recipient.", "examples": ["+201234567890"]},
            "status": {
                "enum": ["sent", "delivered", "read", "played", "failed", "cancelled"],
                "description": (
                    "played: a voice note was listened to; failed: see the message log for why; "
                    "cancelled: a scheduled or queued message was cancelled and will not be sent."
                ),
                "examples": ["delivered"],
            },
            "timestamp": {
                "type": "integer",
                "description": "When it happened, Unix seconds.",
                "examples": [1714650005],
            },
        },
        ["id", "to", "status", "timestamp"],
        "A message you sent changed status.",
    ),
)

SESSION = _event(
    "session",
    "session",
    _obj(
        {
            "status": {
                "enum": ["connected", "disconnected", "logged_out"],
                "description": "disconnected: the network dropped (MegaMsg reconnects by itself); "
                "logged_out: the phone unlinked this device, scan a new QR code.",
                "examples": ["connected"],
            },
            "phone_number": {
                **NULLABLE_STRING,
                "description": "The linked number.",
                "examples": ["+201234567890"],
            },
        },
        ["status", "phone_number"],
        "The WhatsApp session changed state.",
    ),
)

TEST = _event(
    "test",
    "test",
    _obj(
        {
            "instance_id": {
                "type": "string",
                "description": "The instance that sent it.",
                "examples": ["inst_5c1f0e9a8b7d6c5e4f3a2b1c"],
            },
            "message": {
                "type": "string",
                "description": "A fixed text.",
                "examples": ["This is a test event from MegaMsg. Verify its signature with your secret."],
            },
        },
        ["instance_id", "message"],
        "Sent from the dashboard's \u201cSend a test event\u201d, whatever events are selected.",
    ),
)

SCHEMAS: dict[str, dict[str, Any]] = {"message": MESSAGE, "status": STATUS, "session": SESSION, "test": TEST}
SUMMARIES = {
    "message": "Someone sent a message to the linked number (or to a group it is in).",
    "status": "A message you sent was sent, delivered, read, played (voice notes) or failed.",
    "session": "The linked WhatsApp session connected, disconnected or was logged out.",
    "test": "A test delivery, to check your endpoint and its signature check.",
}


@dataclass(frozen=True)
class WebhookEvent:
    """One event type with its payload schema and a sample payload."""

    kind: str
    summary: str
    schema: Mapping[str, Any]
    sample: Any


def webhook_events(doc: Mapping[str, Any]) -> list[WebhookEvent]:
    """Every event type MegaMsg delivers, from the document's `webhooks` when it has them."""
    documented = doc.get("webhooks", {})
    events = []
    for kind in KINDS:
        schema: Any = SCHEMAS[kind]
        source = doc
        if kind in documented:
            schema = _document_schema(doc, documented[kind]) or schema
        else:
            source = {}
        events.append(WebhookEvent(kind, SUMMARIES[kind], schema, sample(source, schema)))
    return events


def _document_schema(doc: Mapping[str, Any], item: Any) -> Any:
    """The request body schema of a `webhooks` path item (its POST)."""
    operation = resolve(doc, resolve(doc, item).get("post", {}))
    body = resolve(doc, operation.get("requestBody", {}))
    media = body.get("content", {}).get("application/json", {})
    return media.get("schema")
