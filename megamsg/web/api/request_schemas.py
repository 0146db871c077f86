"""The one source of every request the API checks: JSON Schemas that validate it and that /api/openapi.json shows."""

# Code is left only for what a schema cannot say: the custom formats below (libphonenumber, URL
# parsing), the media bytes (megamsg.media), a webhook host's addresses (netguard), idempotency.

from megamsg.delivery.webhook_config import EVENT_KINDS, MAX_URL_LENGTH, WebhookConfigError, validate_url
from megamsg.pacing import MAX_INTERVAL_MS, MAX_JITTER_MS
from megamsg.phone import normalise_phone
from megamsg.store.idempotency import MAX_KEY_LENGTH
from megamsg.web.api.group_ids import GROUP_ID_PATTERN, GROUP_ID_PROBLEM, group_id
from megamsg.web.api.schema_parts import nullable, obj, ref, string
from megamsg.web.api.send_kinds import (
    EXTRA_TYPES,
    INCOMING_EXTRA_TYPES,
    REPLY_TO,
    incoming_extras,
    location_variant,
    reaction_variant,
)
from megamsg.web.api.send_time import parse_send_at
from megamsg.web.validation import RequestSchema

TYPES = ("text", "image", "audio", "video", "document")
MEDIA_TYPES = TYPES[1:]
MAX_TEXT = 65536  # WhatsApp's limit for a text message
MAX_CAPTION = 1024
MAX_FILE_NAME = 255
MAX_MIME = 255
# Accepted but meaningless for the type (so listed back as ignored): WhatsApp has no caption on
# audio, and takes the kind of image, audio and video from the bytes themselves.
NOT_APPLICABLE = {
    "image": ("mime_type", "file_name"),
    "audio": ("caption", "mime_type", "file_name"),
    "video": ("mime_type", "file_name"),
    "document": (),
    "location": (),
    "reaction": ("reply_to",),  # WhatsApp quotes no message in a reaction
}

LISTED_STATUSES = (
    "scheduled",
    "queued",
    "sent",
    "delivered",
    "read",
    "played",
    "failed",
    "cancelled",
    "received",
)
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_SEQUENCE = 2**63 - 1  # message sequence numbers are SQLite integers

INCOMING_TYPES = ("text", "image", "audio", "video", "document", "sticker", "location", "contact")
RECEIPT_STATUSES = ("delivered", "read", "played")
MAX_PUSH_NAME = 100
MAX_INCOMING_CAPTION = 4096
MAX_CHAT = 100
MAX_WA_ID = 64
MAX_RECEIPT_ID = 128
MAX_FAILURE_MESSAGE = 500
MAX_DELAY_SECONDS = 120

PHONE_FORMAT = "phone"
URL_FORMAT = "http-url"
SEND_AT_FORMAT = "date-time-with-offset"
# Whitespace as str.strip() sees it, spelled out: `\s` differs between Python, ECMA-262 and Rust regexes.
WHITESPACE = r"\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = f"[^{WHITESPACE}]"
MIME_PATTERN = "/"
# No path separators and no control characters (CR/LF would break a Content-Disposition header).
FILE_NAME_PATTERN = r"^[^/\\\u0000-\u001f\u007f-\u009f]*$"
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
# str.isprintable() over Latin-1, the alphabet WSGI reads header values in.
PRINTABLE_HEADER = r"^[\x20-\x7e\xa1-\xac\xae-\xff]*$"
# What breaking each pattern means; the first is told first when a value breaks several.
PATTERN_PROBLEMS = {
    NOT_BLANK: "must not be empty.",
    MIME_PATTERN: "must look like type/subtype, e.g. application/pdf.",
    FILE_NAME_PATTERN: "must be a plain file name without slashes or control characters.",
    BASE64_PATTERN: "must be base64.",
    PRINTABLE_HEADER: "must contain only printable characters.",
    GROUP_ID_PATTERN: GROUP_ID_PROBLEM,
}


def _url(value: str) -> None:
    try:
        validate_url(value)
    except WebhookConfigError as exc:
        # Its messages start with the field's name, which RequestSchema puts back.
        raise ValueError(str(exc).removeprefix("url ")) from None


def _send_at(value: str) -> None:
    parse_send_at(value)


FORMATS = {PHONE_FORMAT: normalise_phone, URL_FORMAT: _url, SEND_AT_FORMAT: _send_at}


def _request(schema: dict, messages: dict[tuple[str, str], str] | None = None) -> RequestSchema:
    return RequestSchema(schema, formats=FORMATS, patterns=PATTERN_PROBLEMS, messages=messages)


def phone(description: str) -> dict:
    """An international phone number (checked with libphonenumber, normalised to E.164)."""
    return string(
        f"{description} International number with country code; digits with an optional leading + "
        "(or 00), spaces, dashes, dots and parentheses. Checked with libphonenumber, normalised to E.164.",
        format=PHONE_FORMAT,
        minLength=1,
        examples=["+201234567890"],
    )


def _boolean(description: str) -> dict:
    return {"type": ["boolean", "null"], "default": False, "description": description}


NOT_ALLOWED = {"type": "null", "description": "Not for this type (null is the same as leaving it out)."}
MEDIA_ONLY = ("media", "caption", "mime_type", "file_name")
AUDIO_ONLY = "ptt is only allowed when type is audio."


def _text_variant() -> RequestSchema:
    properties = {
        "type": {"enum": ["text", None]},
        "text": string("Message text (not blank).", minLength=1, maxLength=MAX_TEXT, pattern=NOT_BLANK),
        **{field: NOT_ALLOWED for field in (*MEDIA_ONLY, "ptt")},
    }
    only_media = f"is only allowed for media types ({', '.join(MEDIA_TYPES)})."
    messages = {(field, "type"): f"{field} {only_media}" for field in MEDIA_ONLY}
    messages |= {("text", "required"): "text is required when type is text.", ("ptt", "type"): AUDIO_ONLY}
    return _request(obj(properties, ["text"], strict=False, title="Text message"), messages)


def _media_variant(kind: str) -> RequestSchema:
    document = kind == "document"
    ignored = NOT_APPLICABLE[kind]

    def described(field: str, applies: str, why_not: str) -> str:
        return f"Ignored: {why_not} (listed in ignored_fields)." if field in ignored else applies

    mime_type = string(
        described("mime_type", "MIME type of the document.", "detected from the bytes"),
        maxLength=MAX_MIME,
        pattern=MIME_PATTERN,
    )
    file_name = string(
        described("file_name", "File name shown to the recipient.", "only documents carry a file name"),
        maxLength=MAX_FILE_NAME,
        pattern=FILE_NAME_PATTERN,
    )
    if document:
        mime_type |= {"minLength": 1, "allOf": [{"pattern": NOT_BLANK}]}
        file_name |= {"minLength": 1, "allOf": [{"pattern": NOT_BLANK}]}
    properties = {
        "type": {"const": kind},
        "media": string(
            "An http(s) URL to download, base64, or a data: URL with base64.", minLength=1, pattern=NOT_BLANK
        ),
        "caption": nullable(
            string(
                described("caption", "Caption shown under the media.", "WhatsApp audio has no caption"),
                maxLength=MAX_CAPTION,
            )
        ),
        "mime_type": mime_type if document else nullable(mime_type),
        "file_name": file_name if document else nullable(file_name),
        "text": NOT_ALLOWED,
        "ptt": _boolean("Send as a voice note.") if kind == "audio" else NOT_ALLOWED,
    }
    required = ["type", "media", *(["mime_type", "file_name"] if document else [])]
    messages = {
        ("media", "required"): f"media is required when type is {kind}: an http(s) URL or base64.",
        ("mime_type", "required"): "mime_type is required for documents.",
        ("file_name", "required"): "file_name is required for documents.",
        ("text", "type"): f"text is only for type text; use caption for {kind}.",
    }
    if kind != "audio":
        messages["ptt", "type"] = AUDIO_ONLY
    return _request(obj(properties, required, strict=False, title=f"{kind.capitalize()} message"), messages)


# The send body: fields every message has, then the fields of its type. Extra fields are allowed:
# the answer lists them in ignored_fields.
SEND = _request(
    obj(
        {
            "phone_number": phone("Recipient (or give group_id instead)."),
            "group_id": group_id("Extension: the group to send to, instead of phone_number (exactly one)."),
            "type": {
                "enum": [*TYPES, *EXTRA_TYPES, None],
                "default": "text",
                "description": "null means text; location and reaction are extensions.",
            },
            "reply_to": REPLY_TO,
            "async": _boolean("Answer 202 at once; the outcome follows as a status webhook."),
            "send_at": nullable(
                string(
                    "Schedule the message: an ISO 8601 time with a UTC offset (e.g. 2026-05-02T09:30:00+02:00), "
                    "in the future and at most MEGAMSG_SCHEDULE_HORIZON_DAYS ahead. Answers 202 with "
                    '"status": "scheduled"; cancel with DELETE /api/whatsapp/messages/{message_id}.',
                    format=SEND_AT_FORMAT,
                    examples=["2026-05-02T09:30:00+02:00"],
                )
            ),
        },
        # Exactly one of phone_number and group_id: send_target checks it first, naming the field
        # (the document says it with RECIPIENT_CHOICES; here it would hide the field's own problem).
        [],
        strict=False,
        description="A text or media message to a number or a group. Unknown fields are ignored and listed "
        "in ignored_fields.",
    )
)
RECIPIENT_CHOICES = [
    {"required": ["phone_number"], "not": {"required": ["group_id"]}},
    {"required": ["group_id"], "not": {"required": ["phone_number"]}},
]
SEND_TYPES = {
    "text": _text_variant(),
    **{kind: _media_variant(kind) for kind in MEDIA_TYPES},
    "location": _request(*location_variant(NOT_ALLOWED)),
    "reaction": _request(*reaction_variant(NOT_ALLOWED, NOT_BLANK)),
}

# The query fields of every cursor-paged list.
CURSOR_PAGE = {
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    "before": {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_SEQUENCE,
        "description": "Cursor: next_before of the previous page.",
    },
}

LIST_QUERY = _request(
    obj(
        {
            **CURSOR_PAGE,
            "direction": {"enum": ["in", "out"]},
            "status": {
                "enum": list(LISTED_STATUSES),
                "description": "Only messages with this status (e.g. scheduled, queued).",
            },
        },
        [],
        strict=False,
    )
)

# No minLength: an empty key is a key like any other.
SEND_HEADERS = _request(
    obj(
        {
            "Idempotency-Key": string(
                "Same key on the same instance within 24 h returns the first answer and sends nothing new.",
                maxLength=MAX_KEY_LENGTH,
                pattern=PRINTABLE_HEADER,
            )
        },
        [],
        strict=False,
    )
)

PAIR_CODE = _request(obj({"phone_number": phone("The number to link.")}, strict=False))

EVENT_CHOICES = ", ".join(EVENT_KINDS)
WEBHOOK = _request(
    obj(
        {
            "url": nullable(
                string(
                    "Absolute http(s) URL; null clears it. Refused when its host resolves to a private "
                    "address (unless the server allows them) or to a link-local, multicast or reserved one.",
                    format=URL_FORMAT,
                    maxLength=MAX_URL_LENGTH,
                )
            ),
            "events": {
                "type": ["array", "null"],
                "items": {"enum": list(EVENT_KINDS)},
                "description": "Event kinds to deliver (unchanged when absent).",
            },
        },
        ["url"],
        strict=False,
    ),
    {
        ("url", "required"): "url is required: an http(s) URL, or null to clear it.",
        ("url", "type"): "url must be an http(s) URL or null.",
        ("events", "type"): f"events must be a list of event kinds ({EVENT_CHOICES}).",
        ("events", "enum"): f"events: unknown kind(s) {{value}}; use {EVENT_CHOICES}.",
    },
)

SCAN = _request(
    obj(
        {
            "phone_number": phone("The simulated phone's number."),
            "push_name": nullable(string(maxLength=MAX_PUSH_NAME)),
        },
        ["phone_number"],
        strict=False,
    )
)

INCOMING_EXTRAS, INCOMING_CONDITIONS, INCOMING_MESSAGES = incoming_extras(NOT_BLANK)
INCOMING = _request(
    obj(
        {
            "from": phone("Sender."),
            "push_name": nullable(string(maxLength=MAX_PUSH_NAME)),
            "type": {"enum": [*INCOMING_TYPES, *INCOMING_EXTRA_TYPES], "default": "text"},
            "text": nullable(string("The text, or the media's caption.", maxLength=MAX_TEXT)),
            "caption": nullable(string(maxLength=MAX_INCOMING_CAPTION)),
            "is_group": {"type": "boolean", "default": False},
            "chat": nullable(string("Group id for group messages.", maxLength=MAX_CHAT)),
            "mime_type": nullable(string(maxLength=MAX_MIME)),
            "file_name": nullable(string(maxLength=MAX_FILE_NAME)),
            "id": nullable(string("WhatsApp id to use (random when absent).", maxLength=MAX_WA_ID)),
            "media": nullable(string("Media bytes.", pattern=BASE64_PATTERN, contentEncoding="base64")),
            **INCOMING_EXTRAS,
        },
        ["from"],
        strict=False,
        allOf=[
            # type defaults to text, which needs a text.
            {
                "if": {"properties": {"type": {"const": "text"}}},
                "then": {"required": ["text"], "properties": {"text": {"type": "string", "minLength": 1}}},
            },
            *INCOMING_CONDITIONS,
        ],
    ),
    {("text", "required"): "text is required for types text and edited.", **INCOMING_MESSAGES},
)

RECEIPT = _request(
    obj(
        {
            "message_id": string(
                "MegaMsg's or WhatsApp's id of a sent message.", minLength=1, maxLength=MAX_RECEIPT_ID
            ),
            "status": {"enum": list(RECEIPT_STATUSES)},
        },
        strict=False,
    )
)

FAIL_NEXT = _request(
    obj(
        {"message": nullable(string("The WhatsApp error to fail with.", maxLength=MAX_FAILURE_MESSAGE))},
        [],
        strict=False,
    )
)

DELAY_NEXT = _request(
    obj(
        {
            "seconds": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": MAX_DELAY_SECONDS,
                "description": "How long the next send takes.",
            }
        },
        ["seconds"],
        strict=False,
    )
)

MAX_INSTANCE_NAME = 100
CREATE_INSTANCE = _request(
    obj(
        {
            "name": string(
                "The instance's name, shown in the dashboard.",
                minLength=1,
                maxLength=MAX_INSTANCE_NAME,
                pattern=NOT_BLANK,
            ),
            "webhook_url": nullable(
                string(
                    "Where to deliver this instance's webhooks (optional; the same rules as PUT "
                    "/api/whatsapp/instance/webhook).",
                    format=URL_FORMAT,
                    maxLength=MAX_URL_LENGTH,
                )
            ),
        },
        ["name"],
        strict=False,
    )
)

ACCOUNT_LIST_QUERY = _request(obj(dict(CURSOR_PAGE), [], strict=False))


def _pacing_field(description: str, maximum: int) -> dict:
    return {
        "type": ["integer", "null"],
        "minimum": 0,
        "maximum": maximum,
        "description": f"{description} Milliseconds; null returns to the server's default.",
    }


SETTINGS = _request(
    obj(
        {
            "min_interval_ms": _pacing_field(
                "Least time between two sends of this instance.", MAX_INTERVAL_MS
            ),
            "jitter_ms": _pacing_field(
                "Random extra delay, up to this much, added to each gap.", MAX_JITTER_MS
            ),
        },
        [],
        strict=False,
        description="Pacing of the instance's sends. Fields left out keep their value; give at least one.",
        anyOf=[{"required": ["min_interval_ms"]}, {"required": ["jitter_ms"]}],
    ),
    {("The body", "anyOf"): "Set min_interval_ms, jitter_ms or both."},
)


def components() -> dict[str, dict]:
    """The request bodies as OpenAPI component schemas (the very objects the server validates with)."""
    variants = {f"{kind.capitalize()}Message": variant.schema for kind, variant in SEND_TYPES.items()}
    return {
        "SendRequest": {**SEND.schema, "anyOf": RECIPIENT_CHOICES, "oneOf": [ref(name) for name in variants]},
        **variants,
        "PairCodeRequest": PAIR_CODE.schema,
        "WebhookRequest": WEBHOOK.schema,
        "ScanRequest": SCAN.schema,
        "IncomingRequest": INCOMING.schema,
        "ReceiptRequest": RECEIPT.schema,
        "FailNextRequest": FAIL_NEXT.schema,
        "DelayNextRequest": DELAY_NEXT.schema,
        "CreateInstanceRequest": CREATE_INSTANCE.schema,
        "SettingsRequest": SETTINGS.schema,
    }


def query_parameters(query: RequestSchema) -> list[dict]:
    """OpenAPI query parameters for a query schema."""
    # OpenAPI discourages allowEmptyValue, but it says what RequestSchema.check_query does: an empty
    # parameter counts as absent (the contract spells the list as ?limit=&before=&direction=).
    return [
        {"name": name, "in": "query", "allowEmptyValue": True, "schema": schema}
        for name, schema in query.schema["properties"].items()
    ]


def header_parameter(headers: RequestSchema, name: str) -> dict:
    """An OpenAPI header parameter from a headers schema."""
    schema = headers.schema["properties"][name]
    return {"name": name, "in": "header", "required": name in headers.schema["required"], "schema": schema}
