"""The OpenAPI 3.1 description of every /api/ endpoint, served at GET /api/openapi.json."""

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from megamsg.config import DEFAULTS
from megamsg.delivery.webhook_config import EVENT_KINDS, MAX_URL_LENGTH
from megamsg.session_state import STATUSES
from megamsg.store.idempotency import MAX_KEY_LENGTH
from megamsg.store.message_log import STATUS_RANK
from megamsg.web.api.messages import MAX_LIMIT
from megamsg.web.api.send_request import MAX_CAPTION, MAX_FILE_NAME, MAX_MIME, MAX_TEXT, MEDIA_TYPES, TYPES
from megamsg.web.api.simulator import INCOMING_TYPES, RECEIPT_STATUSES

bp = Blueprint("openapi", __name__)

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
# The characters phone._ALLOWED accepts (the number itself is checked with libphonenumber).
PHONE_PATTERN = r"^\+?[0-9 ().-]+$"
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
OUTGOING_STATUSES = [*STATUS_RANK, "failed"]

ERROR_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "Missing or invalid credentials (always the same body, whatever was wrong).",
    404: "Not found.",
    409: "Conflict with the session's current state.",
    413: "The request body is larger than the server accepts.",
    422: "A required field is missing or a value is invalid; the message names the field.",
    429: "Rate limit exceeded for this instance; retry after Retry-After seconds.",
    500: "Internal error (no details are given).",
    502: "The WhatsApp session is disconnected, not paired, not running, or did not answer.",
}
SIMULATOR_NOTE = (
    "Simulator control: this endpoint only exists when the server runs with "
    "MEGAMSG_WHATSAPP_DRIVER=simulator and answers 404 otherwise."
)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    """The schema, also allowing null (the server treats null as absent)."""
    return {**schema, "type": [schema["type"], "null"]}


def _string(description: str = "", **keywords: Any) -> dict:
    schema: dict[str, Any] = {"type": "string", **keywords}
    if description:
        schema["description"] = description
    return schema


def _object(
    properties: dict, required: list[str] | None = None, *, strict: bool = True, **keywords: Any
) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = list(properties) if required is None else required
    if strict:
        schema["additionalProperties"] = False
    schema.update(keywords)
    return schema


def _ok(properties: dict | None = None, required: list[str] | None = None) -> dict:
    """A success body: {"ok": true, …}."""
    properties = {"ok": {"const": True}, **(properties or {})}
    return _object(properties, None if required is None else ["ok", *required])


def _phone(description: str) -> dict:
    return _string(
        f"{description} International number with country code; digits with an optional leading +, "
        "spaces, dashes, dots and parentheses (normalised to E.164).",
        format="phone",
        pattern=PHONE_PATTERN,
        minLength=1,
        examples=["+201234567890"],
    )


def _json(schema: dict, description: str, headers: dict | None = None) -> dict:
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _body(schema: dict, description: str = "") -> dict:
    body: dict[str, Any] = {"required": True, "content": {JSON: {"schema": schema}}}
    if description:
        body["description"] = description
    return body


def _operation(
    operation_id: str,
    summary: str,
    tag: str,
    success: dict[int, dict],
    errors: tuple[int, ...],
    *,
    description: str = "",
    body: dict | None = None,
    parameters: list[dict] | None = None,
    error_overrides: dict[int, dict] | None = None,
    auth: bool = True,
) -> dict:
    """One operation; authenticated ones get the security, X-Instance-Id and 401 automatically."""
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description:
        operation["description"] = description
    params = list(parameters or [])
    statuses = set(errors) | {500}
    if auth:
        operation["security"] = [{"bearerAuth": []}]
        params.insert(0, {"$ref": "#/components/parameters/InstanceId"})
        statuses.add(401)
    else:
        operation["security"] = []
    if params:
        operation["parameters"] = params
    if body is not None:
        operation["requestBody"] = body
    responses: dict[str, dict] = {str(status): response for status, response in success.items()}
    for status in sorted(statuses):
        responses[str(status)] = (error_overrides or {}).get(status) or _json(
            _ref("Error"), ERROR_DESCRIPTIONS[status]
        )
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def _simulator(
    operation_id: str, summary: str, success: dict, errors: tuple[int, ...], body: dict | None = None
) -> dict:
    return _operation(
        operation_id,
        summary,
        "simulator",
        {200: _json(success, "Done.")},
        (*errors, 404),
        description=SIMULATOR_NOTE,
        body=body,
        error_overrides={404: _json(_ref("Error"), "The server does not run the simulator driver.")},
    )


def _send_variant(kind: str) -> dict:
    """Request body for one message type (text may leave out `type`)."""
    properties: dict[str, Any] = {
        "phone_number": _phone("Recipient."),
        "type": {"const": kind},
        "async": _nullable(
            {
                "type": "boolean",
                "default": False,
                "description": "Answer 202 at once; the outcome follows as a status webhook.",
            }
        ),
    }
    if kind == "text":
        # No pattern for "not blank": a Unicode-aware one makes request generation seconds slower.
        properties["text"] = _string("Message text (not blank).", minLength=1, maxLength=MAX_TEXT)
        # The server rejects media fields on a text message.
        properties.update({field: False for field in ("media", "caption", "mime_type", "file_name", "ptt")})
        return _object(properties, ["phone_number", "text"], strict=False, title="Text message")
    document = kind == "document"
    properties.update(
        media=_string("An http(s) URL to download, base64, or a data: URL with base64.", minLength=1),
        caption=_nullable(
            _string(
                "Ignored: WhatsApp audio has no caption (listed in ignored_fields)."
                if kind == "audio"
                else "Caption shown under the media.",
                maxLength=MAX_CAPTION,
            )
        ),
        mime_type=_string(
            "MIME type of the document."
            if document
            else "Ignored: detected from the bytes (listed in ignored_fields).",
            maxLength=MAX_MIME,
            pattern="/",
        ),
        file_name=_string(
            "File name shown to the recipient."
            if document
            else "Ignored: only documents carry a file name (listed in ignored_fields).",
            minLength=1,
            maxLength=MAX_FILE_NAME,
            pattern=r"^[^/\\\u0000]+$",
        ),
        text=False,
    )
    if not document:
        properties["mime_type"] = _nullable(properties["mime_type"])
        properties["file_name"] = _nullable(properties["file_name"])
    if kind == "audio":
        properties["ptt"] = _nullable(
            {"type": "boolean", "default": False, "description": "Send as a voice note."}
        )
    else:
        properties["ptt"] = False
    required = ["phone_number", "type", "media"]
    if document:
        required += ["mime_type", "file_name"]
    return _object(properties, required, strict=False, title=f"{kind.capitalize()} message")


def _message_schemas() -> dict[str, dict]:
    """The message log's outgoing and incoming records."""
    nullable_string = {"type": ["string", "null"]}
    timestamp = _string("ISO 8601 time (UTC).", format="date-time")
    history = {
        "type": "array",
        "description": "Status history, oldest first (only on GET /api/whatsapp/messages/{message_id}).",
        "items": _object(
            {
                "status": {"enum": [*OUTGOING_STATUSES, "received"]},
                "error": nullable_string,
                "at": timestamp,
            }
        ),
    }
    common = {
        "id": _string("MegaMsg's message id.", minLength=1),
        "type": _string("Message type.", minLength=1),
        "caption": nullable_string,
        "mime_type": nullable_string,
        "file_name": nullable_string,
        "error": _nullable(_string("Why the message failed.")),
        "created_at": timestamp,
        "updated_at": timestamp,
        "history": history,
    }
    outgoing = {
        "id": common["id"],
        "wa_id": _nullable(_string("WhatsApp's id, once sent.")),
        "direction": {"const": "out"},
        "to": _string("Recipient.", pattern=E164_PATTERN),
        "type": {"enum": list(TYPES)},
        "text": _nullable(_string("The text (null for media messages).")),
        **{key: common[key] for key in ("caption", "mime_type", "file_name")},
        "ptt": {"type": "boolean"},
        "status": {"enum": OUTGOING_STATUSES},
        **{key: common[key] for key in ("error", "created_at", "updated_at", "history")},
    }
    incoming = {
        "id": common["id"],
        "wa_id": _string("WhatsApp's id."),
        "direction": {"const": "in"},
        "from": _string(
            "Sender's number; its WhatsApp LID (…@lid) when WhatsApp did not reveal the number.",
            pattern=r"^(\+[0-9]+|[0-9]+@lid)$",
        ),
        "type": common["type"],
        "text": _string("The text, or the media's caption (empty string if none)."),
        **{key: common[key] for key in ("caption", "mime_type", "file_name")},
        "status": {"const": "received"},
        "push_name": nullable_string,
        "is_group": {"type": "boolean"},
        "chat": _nullable(_string("Group id for group messages.")),
        "media_url": _string("Where to download the media with the same credentials.", pattern="^/api/"),
        **{key: common[key] for key in ("error", "created_at", "updated_at", "history")},
    }
    optional = {"history", "media_url"}
    return {
        "OutgoingMessage": _object(outgoing, [key for key in outgoing if key not in optional]),
        "IncomingMessage": _object(incoming, [key for key in incoming if key not in optional]),
        "Message": {
            "oneOf": [_ref("OutgoingMessage"), _ref("IncomingMessage")],
            "discriminator": {
                "propertyName": "direction",
                "mapping": {
                    "out": "#/components/schemas/OutgoingMessage",
                    "in": "#/components/schemas/IncomingMessage",
                },
            },
        },
    }


def _schemas() -> dict[str, dict]:
    send_answer = {
        "to": _string("The recipient, normalised.", pattern=E164_PATTERN),
        "type": {"enum": list(TYPES)},
        "id": _string("The message id (GET /api/whatsapp/messages/{message_id}).", minLength=1),
        "ignored_fields": {
            "type": "array",
            "description": "Unknown request fields that were ignored.",
            "items": {"type": "string"},
            "minItems": 1,
        },
    }
    optional_string = {"type": ["string", "null"]}
    return {
        "Error": _object(
            {"ok": {"const": False}, "message": _string("What went wrong.", minLength=1)},
            description="Every error has this shape.",
        ),
        "Ok": _ok(),
        "SendRequest": {
            "description": (
                "A text or media message. Unknown fields are ignored and listed in ignored_fields."
            ),
            "oneOf": [_send_variant(kind) for kind in TYPES],
        },
        "SendResult": _ok({**send_answer, "status": {"const": "sent"}}, ["to", "type", "id", "status"]),
        "SendQueued": _ok({**send_answer, "status": {"const": "queued"}}, ["to", "type", "id", "status"]),
        "SendFailure": _object(
            {
                "ok": {"const": False},
                "message": _string("What went wrong.", minLength=1),
                "id": _string("The failed message's id (when it got as far as being recorded).", minLength=1),
                "status": {"const": "failed"},
            },
            ["ok", "message"],
            dependentRequired={"id": ["status"], "status": ["id"]},
        ),
        **_message_schemas(),
        "Instance": _ok(
            {
                "instance_id": _string(minLength=1),
                "name": _string(minLength=1),
                "status": {"enum": list(STATUSES)},
                "phone_number": _nullable(_string("The linked WhatsApp number.")),
                "push_name": _nullable(_string("The linked account's display name.")),
                "last_error": _nullable(_string("Why the session last failed.")),
            }
        ),
        "Qr": _ok(
            {
                "qr": _string("The QR payload to render.", minLength=1),
                "svg": _string("The QR code as inline SVG.", pattern="^<svg"),
                "expires_in": {"type": "integer", "minimum": 1, "description": "Seconds until it rotates."},
            }
        ),
        "PairCodeRequest": _object({"phone_number": _phone("The number to link.")}, strict=False),
        "PairCode": _ok({"code": _string("Type it on the phone.", pattern=r"^[0-9A-Z]{4}-[0-9A-Z]{4}$")}),
        "WebhookRequest": _object(
            {
                "url": _nullable(
                    _string(
                        "Absolute http(s) URL; null clears it.",
                        maxLength=MAX_URL_LENGTH,
                        pattern="^https?://",
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
        "Webhook": _ok(
            {
                "url": optional_string,
                "secret": _string("Standard Webhooks signing secret.", pattern="^whsec_"),
                "events": {"type": "array", "items": {"enum": list(EVENT_KINDS)}, "uniqueItems": True},
                "warning": _string("Set only when the URL's host does not resolve now.", minLength=1),
            },
            ["url", "secret", "events"],
        ),
        "ScanRequest": _object(
            {"phone_number": _phone("The simulated phone's number."), "push_name": _string(maxLength=100)},
            ["phone_number"],
            strict=False,
        ),
        "IncomingRequest": {
            **_object(
                {
                    "from": _phone("Sender."),
                    "push_name": _string(maxLength=100),
                    "type": {"enum": list(INCOMING_TYPES), "default": "text"},
                    "text": _string(maxLength=65536),
                    "caption": _string(maxLength=4096),
                    "is_group": {"type": "boolean", "default": False},
                    "chat": _string(maxLength=100),
                    "mime_type": _string(maxLength=255),
                    "file_name": _string(maxLength=255),
                    "id": _string("WhatsApp id to use (random when absent).", maxLength=64),
                    "media": _string("Media bytes.", pattern=BASE64_PATTERN, contentEncoding="base64"),
                },
                ["from"],
                strict=False,
            ),
            # type defaults to text, which needs a text.
            "if": {"properties": {"type": {"const": "text"}}},
            "then": {"required": ["text"], "properties": {"text": {"minLength": 1}}},
        },
        "ReceiptRequest": _object(
            {
                "message_id": _string(
                    "MegaMsg's or WhatsApp's id of a sent message.", minLength=1, maxLength=128
                ),
                "status": {"enum": list(RECEIPT_STATUSES)},
            },
            strict=False,
        ),
        "FailNextRequest": _object(
            {"message": _string("The WhatsApp error to fail with.", maxLength=500)}, [], strict=False
        ),
        "DelayNextRequest": _object(
            {
                "seconds": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "maximum": 120,
                    "description": "How long the next send takes.",
                }
            },
            ["seconds"],
            strict=False,
        ),
        "OutboxEntry": _object(
            {
                "id": _string(minLength=1),
                "to": _string(pattern=E164_PATTERN),
                "type": {"enum": list(TYPES)},
                "text": optional_string,
                "caption": optional_string,
                "mime_type": optional_string,
                "file_name": optional_string,
                "ptt": {"type": "boolean"},
                "media_sha256": _nullable(_string(pattern="^[0-9a-f]{64}$")),
                "media_size": {"type": ["integer", "null"], "minimum": 0},
            }
        ),
        "OpenApiDocument": {
            "type": "object",
            "required": ["openapi", "info", "paths"],
            "properties": {"openapi": {"const": OPENAPI_VERSION}},
        },
    }


def _paths(config: Mapping[str, Any]) -> dict[str, dict]:
    message_id = {
        "name": "message_id",
        "in": "path",
        "required": True,
        "schema": _string(minLength=1),
        "description": "MegaMsg's message id (WhatsApp's id works too).",
    }
    replayed = {
        "Idempotent-Replayed": {
            "description": "Present (true) when this is the stored answer to an earlier request with the same key.",
            "schema": {"const": "true"},
        }
    }
    retry_after = {
        "Retry-After": {
            "description": "Seconds until the limit resets.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    }
    simulator_on = config.get("WHATSAPP_DRIVER", DEFAULTS["WHATSAPP_DRIVER"]) == "simulator"
    send_timeout = config.get("SEND_TIMEOUT", DEFAULTS["SEND_TIMEOUT"])
    return {
        "/api/whatsapp/messages/send": {
            "post": _operation(
                "sendMessage",
                "Send a text or media message",
                "messages",
                {
                    200: _json(_ref("SendResult"), "Sent.", replayed),
                    202: _json(
                        _ref("SendQueued"), 'Queued ("async": true); a status webhook follows.', replayed
                    ),
                },
                (400, 409, 413, 422, 429, 502),
                description=(
                    f"Waits up to {send_timeout:g} s for WhatsApp to accept the message, unless async. "
                    f"Media types: {', '.join(MEDIA_TYPES)}."
                ),
                body=_body(_ref("SendRequest")),
                parameters=[{"$ref": "#/components/parameters/IdempotencyKey"}],
                error_overrides={
                    409: _json(_ref("Error"), "A request with this Idempotency-Key is still in progress."),
                    422: _json(
                        _ref("Error"),
                        ERROR_DESCRIPTIONS[422] + " Also: Idempotency-Key reused with a different body.",
                    ),
                    429: _json(_ref("Error"), ERROR_DESCRIPTIONS[429], retry_after),
                    502: _json(
                        _ref("SendFailure"),
                        "Not sent: the session is not connected (no id), or WhatsApp refused or did not "
                        'answer (with the message id and "status": "failed").',
                        replayed,
                    ),
                },
            )
        },
        "/api/whatsapp/messages": {
            "get": _operation(
                "listMessages",
                "List messages, newest first",
                "messages",
                {
                    200: _json(
                        _ok(
                            {
                                "messages": {
                                    "type": "array",
                                    "items": _ref("Message"),
                                    "maxItems": MAX_LIMIT,
                                },
                                "next_before": {
                                    "type": ["integer", "null"],
                                    "minimum": 1,
                                    "description": "Pass as ?before= for the next page; null on the last one.",
                                },
                            }
                        ),
                        "A page of messages.",
                    )
                },
                (422,),
                parameters=[
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20},
                    },
                    {
                        "name": "before",
                        "in": "query",
                        # Message sequence numbers are SQLite integers.
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                        "description": "Cursor: next_before of the previous page.",
                    },
                    {"name": "direction", "in": "query", "schema": {"enum": ["in", "out"]}},
                ],
            )
        },
        "/api/whatsapp/messages/{message_id}": {
            "get": _operation(
                "getMessage",
                "One message with its status history",
                "messages",
                {
                    200: _json(
                        _ok({"message": {"allOf": [_ref("Message"), {"required": ["history"]}]}}),
                        "The message.",
                    )
                },
                (404,),
                parameters=[message_id],
                error_overrides={404: _json(_ref("Error"), "No message with that id on this instance.")},
            )
        },
        "/api/whatsapp/media/{message_id}": {
            "get": _operation(
                "getMedia",
                "Download an incoming message's media",
                "messages",
                {
                    200: {
                        "description": "The media bytes, as an attachment, with their MIME type.",
                        "headers": {
                            "Content-Disposition": {
                                "required": True,
                                "schema": _string(pattern="^attachment"),
                            }
                        },
                        "content": {"*/*": {"schema": {}}},
                    }
                },
                (404,),
                parameters=[message_id],
                error_overrides={
                    404: _json(
                        _ref("Error"), "No media for that message, or it is past its retention period."
                    )
                },
            )
        },
        "/api/whatsapp/instance": {
            "get": _operation(
                "getInstance",
                "The instance and its live session status",
                "instance",
                {200: _json(_ref("Instance"), "The instance.")},
                (),
            )
        },
        "/api/whatsapp/instance/qr": {
            "get": _operation(
                "getQr",
                "The QR code to scan now",
                "instance",
                {200: _json(_ref("Qr"), "The current QR code.")},
                (409,),
                error_overrides={
                    409: _json(_ref("Error"), "There is no QR code to scan (already connected, or starting).")
                },
            )
        },
        "/api/whatsapp/instance/pair-code": {
            "post": _operation(
                "requestPairCode",
                "Link by phone number instead of QR",
                "instance",
                {200: _json(_ref("PairCode"), "The code to type on the phone.")},
                (400, 409, 413, 422, 502),
                body=_body(_ref("PairCodeRequest")),
                error_overrides={
                    409: _json(_ref("Error"), "The session cannot pair now (e.g. already linked).")
                },
            )
        },
        "/api/whatsapp/instance/logout": {
            "post": _operation(
                "logout",
                "Unlink the WhatsApp session (a new QR code follows)",
                "instance",
                {200: _json(_ref("Ok"), "Logged out.")},
                (409, 502),
                error_overrides={409: _json(_ref("Error"), "WhatsApp refused the logout.")},
            )
        },
        "/api/whatsapp/instance/webhook": {
            "get": _operation(
                "getWebhook",
                "The webhook URL, signing secret and event kinds",
                "instance",
                {200: _json(_ref("Webhook"), "The webhook settings.")},
                (),
            ),
            "put": _operation(
                "setWebhook",
                "Set or clear the webhook",
                "instance",
                {200: _json(_ref("Webhook"), "The new webhook settings.")},
                (400, 413, 422),
                body=_body(_ref("WebhookRequest")),
            ),
        },
        "/api/simulator/scan": {
            "post": _simulator(
                "simulatorScan",
                "The simulated phone scans the QR code",
                _ok({"status": {"const": "connected"}}),
                (400, 409, 413, 422, 502),
                _body(_ref("ScanRequest")),
            )
        },
        "/api/simulator/incoming": {
            "post": _simulator(
                "simulatorIncoming",
                "An incoming WhatsApp message from the simulated network",
                _ok({"id": _string("WhatsApp id of the message.", minLength=1)}),
                (400, 409, 413, 422, 502),
                _body(_ref("IncomingRequest")),
            )
        },
        "/api/simulator/receipt": {
            "post": _simulator(
                "simulatorReceipt",
                "The recipient acknowledges a sent message",
                _ok({"status": {"enum": list(RECEIPT_STATUSES)}}),
                (400, 409, 413, 422, 502),
                _body(_ref("ReceiptRequest")),
            )
        },
        "/api/simulator/disconnect": {
            "post": _simulator(
                "simulatorDisconnect",
                "Simulate losing the network",
                _ok({"status": {"const": "disconnected"}}),
                (409, 502),
            )
        },
        "/api/simulator/reconnect": {
            "post": _simulator(
                "simulatorReconnect",
                "Simulate the network coming back",
                _ok({"status": {"const": "connected"}}),
                (409, 502),
            )
        },
        "/api/simulator/fail-next": {
            "post": _simulator(
                "simulatorFailNext",
                "Make the next send fail with the given error",
                _ok({"armed": {"const": True}}),
                (400, 409, 413, 422, 502),
                _body(_ref("FailNextRequest")),
            )
        },
        "/api/simulator/delay-next": {
            "post": _simulator(
                "simulatorDelayNext",
                "Make the next send take this long (a slow network)",
                _ok({"armed": {"const": True}}),
                (400, 409, 413, 422, 502),
                _body(_ref("DelayNextRequest")),
            )
        },
        "/api/simulator/outbox": {
            "get": _simulator(
                "simulatorOutbox",
                "What reached the simulated network, oldest first",
                _ok({"messages": {"type": "array", "items": _ref("OutboxEntry")}}),
                (),
            )
        },
        "/api/openapi.json": {
            "get": _operation(
                "getOpenApi",
                "This document",
                "meta",
                {200: _json(_ref("OpenApiDocument"), "The OpenAPI 3.1 document.")},
                (),
                auth=False,
                description=f"Simulator endpoints are {'enabled' if simulator_on else 'disabled (404)'} here.",
            )
        },
    }


def openapi_document(config: Mapping[str, Any]) -> dict:
    """The OpenAPI 3.1 document for this server's API."""
    rate = config.get("RATE_LIMIT_PER_MINUTE", DEFAULTS["RATE_LIMIT_PER_MINUTE"])
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "MegaMsg API",
            "version": "1",
            "description": (
                "Self-hosted WhatsApp gateway. Every /api/whatsapp/* and /api/simulator/* request carries "
                "`Authorization: Bearer <token>` and `X-Instance-Id: <instance id>`. Every error is JSON "
                '`{"ok": false, "message": "…"}`. '
                + (f"Sends are limited to {rate} per minute per instance." if int(rate) > 0 else "")
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "messages"},
            {"name": "instance"},
            {"name": "simulator", "description": SIMULATOR_NOTE},
            {"name": "meta"},
        ],
        "paths": _paths(config),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The instance's 64-character API token.",
                }
            },
            "parameters": {
                "InstanceId": {
                    "name": "X-Instance-Id",
                    "in": "header",
                    "required": True,
                    "description": "The instance the token belongs to.",
                    "schema": _string(minLength=1),
                },
                "IdempotencyKey": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": (
                        "Same key on the same instance within 24 h returns the first answer and sends nothing new."
                    ),
                    "schema": _string(minLength=1, maxLength=MAX_KEY_LENGTH),
                },
            },
            "schemas": _schemas(),
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    """Serve the document (no authentication: it holds no secrets)."""
    return jsonify(openapi_document(current_app.config))
