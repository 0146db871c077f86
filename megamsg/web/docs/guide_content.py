"""What the guide page shows, built from the OpenAPI document and this server's own base URL."""

import base64
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from megamsg.config import DEFAULTS
from megamsg.web.api.openapi_account import TAG as ACCOUNT_TAG
from megamsg.web.docs.account_guide import AccountEndpoint, Step, account_endpoints, walkthrough
from megamsg.web.docs.code_examples import INSTANCE_ID, Call, CodeExample, curl, examples
from megamsg.web.docs.error_codes import ErrorCode, error_codes
from megamsg.web.docs.openapi_view import Operation, Response, find, operations
from megamsg.web.docs.schema_fields import Field, fields
from megamsg.web.docs.signature_snippets import signature_snippets
from megamsg.web.docs.webhook_events import WebhookEvent, webhook_events

SEND_PATH = "/api/whatsapp/messages/send"
# More send bodies, each valid against the document's send schema (tests check it).
MORE_BODIES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("An image from a URL, with a caption", {
        "phone_number": "+201234567890",
        "type": "image",
        "media": "https://example.com/photo.jpg",
        "caption": "Your order has shipped",
    }),
    ("A voice note (audio as a voice message)", {
        "phone_number": "+201234567890",
        "type": "audio",
        "media": "https://example.com/note.ogg",
        "ptt": True,
    }),
    ("A document as base64 (a data: URL works too)", {
        "phone_number": "+201234567890",
        "type": "document",
        "media": base64.b64encode(b"Hello from MegaMsg!\n").decode(),
        "mime_type": "text/plain",
        "file_name": "hello.txt",
    }),
    ("A reply: quote a message of the log (MegaMsg's or WhatsApp's id)", {
        "phone_number": "+201234567890",
        "text": "Yes, 6 works",
        "reply_to": "3EB0C431C26A1916E2D7",
    }),
    ("A location", {
        "phone_number": "+201234567890",
        "type": "location",
        "latitude": 30.0444,
        "longitude": 31.2357,
        "name": "Tahrir Square",
        "address": "Cairo",
    }),
    ("A reaction to a message of that chat (an empty emoji removes it)", {
        "phone_number": "+201234567890",
        "type": "reaction",
        "message_id": "3EB0C431C26A1916E2D7",
        "emoji": "👍",
    }),
    ("Queued: answer 202 at once, the outcome follows as a status webhook", {
        "phone_number": "+201234567890",
        "text": "Hello from MegaMsg!",
        "async": True,
    }),
)  # fmt: skip


@dataclass(frozen=True)
class Endpoint:
    """An operation with its curl example and sample answer."""

    operation: Operation
    curl: str
    success: Response | None


@dataclass(frozen=True)
class EndpointGroup:
    """The endpoints of one tag."""

    tag: str
    description: str
    endpoints: list[Endpoint]


def request_timeout(config: Mapping[str, Any]) -> int:
    """Seconds a client should wait for a send: the server's own wait plus a margin."""
    return math.ceil(float(config.get("SEND_TIMEOUT", DEFAULTS["SEND_TIMEOUT"]))) + 10


def call_for(
    operation: Operation, base_url: str, config: Mapping[str, Any], instance_id: str = INSTANCE_ID
) -> Call:
    """The example request for an operation (path parameters as placeholders such as MESSAGE_ID)."""
    path = re.sub(r"\{([^}]+)\}", lambda match: match.group(1).upper(), operation.path)
    query = urlencode([(name, str(value)) for name, value in operation.query_sample])
    return Call(
        operation.method,
        base_url + path + (f"?{query}" if query else ""),
        body=operation.body_sample,
        authenticated=operation.authenticated,
        instance_id=instance_id,
        timeout=request_timeout(config),
        download=not operation.returns_json,
    )


def send_curl(doc: Mapping[str, Any], base_url: str, config: Mapping[str, Any], instance_id: str) -> str:
    """The send example in curl for one instance (its id filled in)."""
    return curl(call_for(find(operations(doc), "post", SEND_PATH), base_url, config, instance_id))


def _groups(
    doc: Mapping[str, Any], ops: list[Operation], base_url: str, config: Mapping[str, Any]
) -> list[EndpointGroup]:
    tags = {str(tag["name"]): str(tag.get("description", "")) for tag in doc.get("tags", [])}
    order = list(dict.fromkeys([*tags, *(operation.tag for operation in ops)]))
    groups = []
    for tag in order:
        if tag == ACCOUNT_TAG:
            continue  # their own section, with the account key instead of the instance's headers
        endpoints = [
            Endpoint(
                operation,
                curl(call_for(operation, base_url, config)),
                next((response for response in operation.responses if response.success), None),
            )
            for operation in ops
            if operation.tag == tag and operation.path != SEND_PATH
        ]
        if endpoints:
            groups.append(EndpointGroup(tag, tags.get(tag, ""), endpoints))
    return groups


@dataclass(frozen=True)
class Guide:
    """Everything docs.html renders."""

    base_url: str
    info: Mapping[str, Any]
    send: Operation
    send_examples: list[CodeExample]
    send_response_fields: list[Field]
    more_bodies: tuple[tuple[str, dict[str, Any]], ...]
    events: list[WebhookEvent]
    event_fields: dict[str, list[Field]]
    signature_snippets: list[CodeExample]
    errors: list[ErrorCode]
    groups: list[EndpointGroup]
    operations: list[Operation]
    account: list[AccountEndpoint]
    walkthrough: list[Step]

    def anchor(self, method: str, path: str) -> str:
        """The id of an operation's section (links keep working when operation ids change)."""
        return find(self.operations, method, path).anchor


def scheduled_body() -> tuple[str, dict[str, Any]]:
    """A scheduled send for tomorrow 09:30 (+02:00): always in the future and within the horizon."""
    zone = timezone(timedelta(hours=2))
    tomorrow = datetime.now(zone).date() + timedelta(days=1)
    send_at = datetime.combine(tomorrow, time(9, 30), zone).isoformat()
    return (
        "Scheduled: sent at send_at (ISO 8601 with an offset); cancel with DELETE /api/whatsapp/messages/{id}",
        {"phone_number": "+201234567890", "text": "Your appointment is today at 10:00.", "send_at": send_at},
    )


def guide(doc: Mapping[str, Any], base_url: str, config: Mapping[str, Any]) -> Guide:
    """The page's content for this document and base URL."""
    ops = operations(doc)
    send = find(ops, "post", SEND_PATH)
    answers = [
        response.schema for response in send.responses if response.success and response.schema is not None
    ]
    events = webhook_events(doc)
    return Guide(
        base_url=base_url,
        info=doc.get("info", {}),
        send=send,
        send_examples=examples(call_for(send, base_url, config)),
        send_response_fields=fields(doc, {"oneOf": answers}) if answers else [],
        more_bodies=(*MORE_BODIES, scheduled_body()),
        events=events,
        event_fields={event.kind: fields(doc, event.schema) for event in events},
        signature_snippets=signature_snippets(),
        errors=error_codes(doc),
        groups=_groups(doc, ops, base_url, config),
        operations=ops,
        account=account_endpoints(ops, lambda operation: call_for(operation, base_url, config)),
        walkthrough=walkthrough(
            base_url, config.get("WHATSAPP_DRIVER", DEFAULTS["WHATSAPP_DRIVER"]) == "simulator"
        ),
    )
