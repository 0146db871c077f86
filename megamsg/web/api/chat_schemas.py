"""Schemas of read receipts and presence (issue 13 item 7): requests, answers and the simulator's activity."""

from megamsg.web.api.feature_schemas import _request
from megamsg.web.api.group_ids import RECIPIENT_PATTERN, group_id
from megamsg.web.api.request_schemas import RECIPIENT_CHOICES, phone
from megamsg.web.api.schema_parts import obj, ok, string

PRESENCE_STATES = ("typing", "recording", "paused")

PRESENCE = _request(
    obj(
        {
            "phone_number": phone("The chat: a number (or give group_id instead)."),
            "group_id": group_id("The chat: a group, instead of phone_number (exactly one)."),
            "state": {
                "enum": list(PRESENCE_STATES),
                "description": "typing or recording (a voice note) shows in the chat until paused, or until "
                "WhatsApp drops it after a few seconds.",
            },
        },
        ["state"],
        strict=False,
        description="Typing or recording indicator in a chat.",
    )
)


def request_components() -> dict[str, dict]:
    """The request bodies, as OpenAPI component schemas."""
    # Exactly one of phone_number and group_id: check_target says it first, naming the field.
    return {"PresenceRequest": {**PRESENCE.schema, "anyOf": RECIPIENT_CHOICES}}


def response_components() -> dict[str, dict]:
    """The answers, as OpenAPI component schemas."""
    to = string("The chat: a number, or a group id.", pattern=RECIPIENT_PATTERN)
    activity = obj(
        {
            "kind": {"enum": ["read", "presence"]},
            "message_id": string("WhatsApp's id of the message marked read (read only)."),
            "chat": string("The chat of the message marked read (read only)."),
            "to": {**to, "description": "The chat the presence was shown in (presence only)."},
            "state": {"enum": list(PRESENCE_STATES)},
            "at": {"type": "number", "description": "Unix time (seconds) it reached the network."},
        },
        ["kind", "at"],
    )
    return {
        "MarkedRead": ok(
            {
                "id": string("MegaMsg's id of the message.", minLength=1),
                "wa_id": string("WhatsApp's id of the message.", minLength=1),
                "status": {"const": "read"},
            }
        ),
        "PresenceSent": ok({"to": to, "state": {"enum": list(PRESENCE_STATES)}}),
        "SimulatorActivity": ok({"activity": {"type": "array", "items": activity}}),
    }
