"""Schemas of the send extensions: replies (reply_to), locations and reactions (issue 13)."""

from megamsg.web.api.schema_parts import nullable, obj, string

EXTRA_TYPES = ("location", "reaction")
MAX_MESSAGE_REF = 128
MAX_EMOJI = 32  # one emoji, with its skin-tone and joiner sequences
MAX_PLACE_TEXT = 1000
TEXT_FIELDS = ("text", "media", "caption", "mime_type", "file_name", "ptt")

REPLY_TO = nullable(
    string(
        "Extension: send as a quoted reply to this message of the log (MegaMsg's id or WhatsApp's id). "
        "An id the log does not hold is refused with 422.",
        minLength=1,
        maxLength=MAX_MESSAGE_REF,
        examples=["3EB0C431C26A1916E2D7"],
    )
)


def message_ref(description: str, not_blank: str) -> dict:
    """A message of the log, by MegaMsg's id or WhatsApp's id."""
    return string(description, minLength=1, maxLength=MAX_MESSAGE_REF, pattern=not_blank)


def _refused(not_allowed: dict, kind: str, instead: str) -> tuple[dict, dict]:
    """The text and media fields, refused for kind (properties, their messages)."""
    properties = dict.fromkeys(TEXT_FIELDS, not_allowed)
    messages = {(field, "type"): f"{field} is not for type {kind}; {instead}" for field in TEXT_FIELDS}
    return properties, messages


def location_variant(not_allowed: dict) -> tuple[dict, dict]:
    """The location message's schema and its messages."""
    refused, messages = _refused(not_allowed, "location", "give latitude, longitude, name and address.")
    properties = {
        "type": {"const": "location"},
        "latitude": {
            "type": "number",
            "minimum": -90,
            "maximum": 90,
            "description": "Degrees north (negative: south).",
            "examples": [30.0444],
        },
        "longitude": {
            "type": "number",
            "minimum": -180,
            "maximum": 180,
            "description": "Degrees east (negative: west).",
            "examples": [31.2357],
        },
        "name": nullable(string("The place's name, shown above the map.", maxLength=MAX_PLACE_TEXT)),
        "address": nullable(string("The place's address, shown under its name.", maxLength=MAX_PLACE_TEXT)),
        **refused,
    }
    messages |= {
        ("latitude", "required"): "latitude is required for a location: degrees between -90 and 90.",
        ("longitude", "required"): "longitude is required for a location: degrees between -180 and 180.",
    }
    schema = obj(properties, ["type", "latitude", "longitude"], strict=False, title="Location message")
    return schema, messages


def reaction_variant(not_allowed: dict, not_blank: str) -> tuple[dict, dict]:
    """The reaction's schema and its messages."""
    refused, messages = _refused(not_allowed, "reaction", "give message_id and emoji.")
    properties = {
        "type": {"const": "reaction"},
        "message_id": message_ref(
            "The message to react to: MegaMsg's id or WhatsApp's id of a message of the log, in the chat "
            "the reaction is sent to.",
            not_blank,
        ),
        "emoji": string(
            'The reaction, e.g. "👍"; an empty string removes this number\'s reaction.',
            maxLength=MAX_EMOJI,
            examples=["👍"],
        ),
        **refused,
    }
    messages |= {
        ("message_id", "required"): "message_id is required for a reaction: the message to react to.",
        ("emoji", "required"): 'emoji is required for a reaction ("" removes it).',
    }
    schema = obj(properties, ["type", "message_id", "emoji"], strict=False, title="Reaction")
    return schema, messages


INCOMING_EXTRA_TYPES = ("reaction", "edited", "deleted")


def _when(kind: str | list[str], required: list[str], properties: dict | None = None) -> dict:
    """A schema branch: when type is kind (or one of them), these fields are required."""
    kinds = {"enum": kind} if isinstance(kind, list) else {"const": kind}
    then: dict = {"required": required}
    if properties:
        then["properties"] = properties
    return {"if": {"required": ["type"], "properties": {"type": kinds}}, "then": then}


def incoming_extras(not_blank: str) -> tuple[dict, list[dict], dict]:
    """The simulator's injected replies, locations, reactions, edits and deletions: properties, conditions, messages."""
    referred = "The message it is about: WhatsApp's id (or MegaMsg's) of a message of the log."
    location, _ = location_variant({"type": "null"})
    properties = {
        "reply_to": nullable(string("WhatsApp's id (or MegaMsg's) of the message it quotes.", minLength=1)),
        "message_id": message_ref(referred, not_blank),
        "emoji": string("The reaction's emoji; empty: the reaction was removed.", maxLength=MAX_EMOJI),
        "from_me": {"type": "boolean", "description": "The reaction is to a message this instance sent."},
        **{name: location["properties"][name] for name in ("latitude", "longitude", "name", "address")},
    }
    conditions = [
        _when(["reaction", "edited", "deleted"], ["message_id"]),
        _when("reaction", ["emoji"]),
        _when("edited", ["text"], {"text": {"type": "string", "minLength": 1}}),
        # A location with only a text stays valid (as before coordinates were fields); the two go together.
        {
            "if": {"anyOf": [{"required": ["latitude"]}, {"required": ["longitude"]}]},
            "then": {"required": ["latitude", "longitude"]},
        },
    ]
    messages = {
        ("message_id", "required"): "message_id is required for a reaction, an edit or a deletion.",
        ("emoji", "required"): 'emoji is required for a reaction ("" removes it).',
        ("latitude", "required"): "latitude is required with longitude.",
        ("longitude", "required"): "longitude is required with latitude.",
    }
    return properties, conditions, messages
