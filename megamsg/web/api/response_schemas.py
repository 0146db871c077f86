"""JSON Schemas of the API's answers (the OpenAPI document's response components)."""

from megamsg.delivery.webhook_config import EVENT_KINDS
from megamsg.pacing import MAX_INTERVAL_MS, MAX_JITTER_MS
from megamsg.session_state import STATUSES
from megamsg.store.message_log import STATUS_RANK
from megamsg.web.api.detail_schemas import DETAIL_PROPERTIES, LOCATION
from megamsg.web.api.group_ids import RECIPIENT_PATTERN
from megamsg.web.api.request_schemas import TYPES
from megamsg.web.api.schema_parts import nullable, obj, ok, ref, string
from megamsg.web.api.send_kinds import EXTRA_TYPES

OPENAPI_VERSION = "3.1.0"
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
OUTGOING_STATUSES = ["scheduled", *STATUS_RANK, "failed", "cancelled"]
NULLABLE_STRING = {"type": ["string", "null"]}


def _message_schemas() -> dict[str, dict]:
    """The message log's outgoing and incoming records."""
    timestamp = string("ISO 8601 time (UTC).", format="date-time")
    history = {
        "type": "array",
        "description": "Status history, oldest first (only on GET /api/whatsapp/messages/{message_id}).",
        "items": obj(
            {
                "status": {"enum": [*OUTGOING_STATUSES, "received"]},
                "error": NULLABLE_STRING,
                "at": timestamp,
            }
        ),
    }
    common = {
        "id": string("MegaMsg's message id.", minLength=1),
        "type": string("Message type.", minLength=1),
        "caption": NULLABLE_STRING,
        "mime_type": NULLABLE_STRING,
        "file_name": NULLABLE_STRING,
        "error": nullable(string("Why the message failed.")),
        "created_at": timestamp,
        "updated_at": timestamp,
        "history": history,
    }
    outgoing = {
        "id": common["id"],
        "wa_id": nullable(string("WhatsApp's id, once sent.")),
        "direction": {"const": "out"},
        "to": string("Recipient: a number, or a group id.", pattern=RECIPIENT_PATTERN),
        "type": {"enum": [*TYPES, *EXTRA_TYPES]},
        "text": nullable(string("The text (null for media messages).")),
        **{key: common[key] for key in ("caption", "mime_type", "file_name")},
        "ptt": {"type": "boolean"},
        "send_at": nullable(string("When a scheduled message is to be sent (UTC).", format="date-time")),
        "status": {"enum": OUTGOING_STATUSES},
        **{key: common[key] for key in ("error", "created_at", "updated_at", "history")},
        **{key: DETAIL_PROPERTIES[key] for key in ("reply_to", "location", "reaction")},
    }
    incoming = {
        "id": common["id"],
        "wa_id": string("WhatsApp's id."),
        "direction": {"const": "in"},
        "from": string(
            "Sender's number; its WhatsApp LID (…@lid) when WhatsApp did not reveal the number.",
            pattern=r"^(\+[0-9]+|[0-9]+@lid)$",
        ),
        "type": common["type"],
        "text": string("The text, or the media's caption (empty string if none)."),
        **{key: common[key] for key in ("caption", "mime_type", "file_name")},
        "status": {"enum": ["received", "read"], "description": "read once marked read through the API."},
        "push_name": NULLABLE_STRING,
        "is_group": {"type": "boolean"},
        "chat": nullable(string("Group id for group messages.")),
        "media_url": string("Where to download the media with the same credentials.", pattern="^/api/"),
        **{key: common[key] for key in ("error", "created_at", "updated_at", "history")},
        **DETAIL_PROPERTIES,
    }
    optional = {"history", "media_url", *DETAIL_PROPERTIES}
    return {
        "OutgoingMessage": obj(outgoing, [key for key in outgoing if key not in optional]),
        "IncomingMessage": obj(incoming, [key for key in incoming if key not in optional]),
        "Message": {
            "oneOf": [ref("OutgoingMessage"), ref("IncomingMessage")],
            "discriminator": {
                "propertyName": "direction",
                "mapping": {
                    "out": "#/components/schemas/OutgoingMessage",
                    "in": "#/components/schemas/IncomingMessage",
                },
            },
        },
    }


def _send_schemas() -> dict[str, dict]:
    """The send endpoint's answers."""
    answer = {
        "to": string("The recipient, normalised (or the group id).", pattern=RECIPIENT_PATTERN),
        "type": {"enum": [*TYPES, *EXTRA_TYPES]},
        "id": string("The message id (GET /api/whatsapp/messages/{message_id}).", minLength=1),
        "ignored_fields": {
            "type": "array",
            "description": "Request fields that were ignored: unknown, or meaningless for the type.",
            "items": {"type": "string"},
            "minItems": 1,
        },
    }
    return {
        "SendResult": ok({**answer, "status": {"const": "sent"}}, ["to", "type", "id", "status"]),
        "SendQueued": ok({**answer, "status": {"const": "queued"}}, ["to", "type", "id", "status"]),
        "SendScheduled": ok(
            {
                **answer,
                "status": {"const": "scheduled"},
                "send_at": string("When it is to be sent (UTC).", format="date-time"),
            },
            ["to", "type", "id", "status", "send_at"],
        ),
        "SendFailure": obj(
            {
                "ok": {"const": False},
                "message": string("What went wrong.", minLength=1),
                "id": string("The failed message's id (when it got as far as being recorded).", minLength=1),
                "status": {"const": "failed"},
            },
            ["ok", "message"],
            dependentRequired={"id": ["status"], "status": ["id"]},
        ),
    }


def _pacing_properties() -> dict[str, dict]:
    return {
        "min_interval_ms": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_INTERVAL_MS,
            "description": "Least time between two sends of this instance (ms).",
        },
        "jitter_ms": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_JITTER_MS,
            "description": "Random extra delay added to each gap, up to this much (ms).",
        },
    }


def components() -> dict[str, dict]:
    """Every response schema, by component name."""
    return {
        "Error": obj(
            {"ok": {"const": False}, "message": string("What went wrong.", minLength=1)},
            description="Every error has this shape.",
        ),
        "Ok": ok(),
        **_send_schemas(),
        **_message_schemas(),
        "Instance": ok(
            {
                "instance_id": string(minLength=1),
                "name": string(minLength=1),
                "status": {"enum": list(STATUSES)},
                "phone_number": nullable(string("The linked WhatsApp number.")),
                "push_name": nullable(string("The linked account's display name.")),
                "last_error": nullable(string("Why the session last failed.")),
                **_pacing_properties(),
                "queue_depth": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Jobs waiting on the instance's send queue (paced sends not yet started).",
                },
                "scheduled": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Messages waiting for their send_at.",
                },
            }
        ),
        "Settings": ok(_pacing_properties()),
        "Cancelled": ok({"id": string(minLength=1), "status": {"const": "cancelled"}}),
        "Qr": ok(
            {
                "qr": string("The QR payload to render.", minLength=1),
                "svg": string("The QR code as inline SVG.", pattern="^<svg"),
                "expires_in": {"type": "integer", "minimum": 1, "description": "Seconds until it rotates."},
            }
        ),
        "PairCode": ok({"code": string("Type it on the phone.", pattern=r"^[0-9A-Z]{4}-[0-9A-Z]{4}$")}),
        "Webhook": ok(
            {
                "url": NULLABLE_STRING,
                "secret": string("Standard Webhooks signing secret.", pattern="^whsec_"),
                "events": {"type": "array", "items": {"enum": list(EVENT_KINDS)}, "uniqueItems": True},
                "warning": string("Set only when the URL's host does not resolve now.", minLength=1),
            },
            ["url", "secret", "events"],
        ),
        "OutboxEntry": obj(
            {
                "id": string(minLength=1),
                "to": string(pattern=RECIPIENT_PATTERN),
                "type": {"enum": [*TYPES, *EXTRA_TYPES]},
                "text": NULLABLE_STRING,
                "caption": NULLABLE_STRING,
                "mime_type": NULLABLE_STRING,
                "file_name": NULLABLE_STRING,
                "ptt": {"type": "boolean"},
                "media_sha256": nullable(string(pattern="^[0-9a-f]{64}$")),
                "media_size": {"type": ["integer", "null"], "minimum": 0},
                "sent_at": {"type": "number", "description": "Unix time (seconds) it reached the network."},
                "reply_to": string("WhatsApp's id of the message it quotes (replies only)."),
                "location": LOCATION,
                "reaction": obj(
                    {"message_id": string("WhatsApp's id of the message reacted to."), "emoji": string()}
                ),
            },
            [
                *("id", "to", "type", "text", "caption", "mime_type", "file_name", "ptt"),
                *("media_sha256", "media_size", "sent_at"),
            ],
        ),
        "OpenApiDocument": {
            "type": "object",
            "required": ["openapi", "info", "paths"],
            "properties": {"openapi": {"const": OPENAPI_VERSION}},
        },
    }
