"""Schemas of the recovery endpoints: webhook redelivery of a range, the simulator's burst."""

from typing import Any

from megamsg.web.api.request_schemas import FORMATS, MAX_PUSH_NAME, PATTERN_PROBLEMS, SEND_AT_FORMAT, phone
from megamsg.web.api.schema_parts import nullable, obj, ok, string
from megamsg.web.validation import RequestSchema

MAX_REDELIVER = 500  # events restarted per call; the answer says how many more matched
REDELIVER_STATUSES = ("failed", "stopped", "skipped", "delivered")
MAX_BURST = 1000
MAX_BURST_INTERVAL_MS = 10_000
MAX_BURST_TEXT = 1000
MAX_UNIX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z

_TIME_WORDS = "ISO 8601 with a UTC offset (2026-05-02T09:30:00Z), or Unix seconds. Compared at whole seconds, inclusive."
_TIME: dict[str, Any] = {
    "type": ["string", "number"],
    "format": SEND_AT_FORMAT,  # strings only
    "minimum": 0,  # numbers only
    "maximum": MAX_UNIX_SECONDS,
    "examples": ["2026-05-02T09:30:00Z", 1777714200],
}


def _request(schema: dict, messages: dict[tuple[str, str], str] | None = None) -> RequestSchema:
    return RequestSchema(schema, formats=FORMATS, patterns=PATTERN_PROBLEMS, messages=messages)


REDELIVER = _request(
    obj(
        {
            "since": {
                **_TIME,
                "description": "Events recorded at or after this time. " + _TIME_WORDS,
            },
            "until": {
                **_TIME,
                "type": ["string", "number", "null"],
                "description": "Events recorded at or before this time (default: now). " + _TIME_WORDS,
            },
            "status": {
                "enum": list(REDELIVER_STATUSES),
                "default": "failed",
                "description": "Which events of the range to send again: those that ended with this status.",
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_REDELIVER,
                "default": MAX_REDELIVER,
                "description": f"At most this many events per call (at most {MAX_REDELIVER}); the oldest first.",
            },
        },
        ["since"],
        strict=False,
    ),
    {
        ("since", "required"): "since is required: an ISO 8601 time with a UTC offset, or Unix seconds.",
        ("since", "type"): "since must be an ISO 8601 time with a UTC offset or Unix seconds.",
        ("until", "type"): "until must be an ISO 8601 time with a UTC offset or Unix seconds.",
    },
)

INCOMING_BURST = _request(
    obj(
        {
            "from": phone("Sender of every message."),
            "push_name": nullable(string(maxLength=MAX_PUSH_NAME)),
            "text": string(
                'Each message\'s text is this followed by its number: "burst 1", "burst 2", …',
                minLength=1,
                maxLength=MAX_BURST_TEXT,
                default="burst",
            ),
            "count": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_BURST,
                "description": "How many messages.",
            },
            "interval_ms": {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_BURST_INTERVAL_MS,
                "default": 0,
                "description": "Milliseconds between two messages.",
            },
        },
        ["from", "count"],
        strict=False,
    ),
)


def request_components() -> dict[str, dict]:
    """The request bodies of these endpoints, as OpenAPI component schemas."""
    return {"RedeliverRequest": REDELIVER.schema, "IncomingBurstRequest": INCOMING_BURST.schema}


def response_components() -> dict[str, dict]:
    """The answers of these endpoints, as OpenAPI component schemas."""
    return {
        "Redelivered": ok(
            {
                "count": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Events queued again by this call.",
                },
                "event_ids": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Their webhook-ids, in the order they are sent (by sequence).",
                },
                "remaining": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Events of the range and status beyond the limit: call again to send them.",
                },
            }
        ),
        "IncomingBurst": ok(
            {"ids": {"type": "array", "items": {"type": "string"}, "description": "WhatsApp ids, in order."}}
        ),
    }
