"""The error codes table: every status MegaMsg answers with an error, and when."""

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from megamsg.errors import MESSAGES
from megamsg.web.docs.openapi_view import operations

# When each status happens, in the reader's terms; the statuses come from megamsg.errors.MESSAGES
# and the OpenAPI document (a test fails if one of them has no row).
WHEN = {
    400: "The body is not valid JSON (or holds invalid Unicode).",
    401: "The Authorization or X-Instance-Id header is missing, the instance does not exist, or the token "
    "is wrong or belongs to another instance. One body for every cause, so nothing is revealed.",
    404: "No such path under /api/, no such message or media (or past its retention), or a "
    "/api/simulator/ call on a server that does not run the simulator.",
    405: "The path exists but not with this method (the Allow header lists the right ones).",
    409: "The session's state does not allow it: no QR code to scan (already linked or starting), "
    "pairing while linked, WhatsApp refused a logout, or an Idempotency-Key still in progress.",
    413: "The request body is larger than the server accepts (set by MEGAMSG_MAX_DOCUMENT_BYTES).",
    415: "Reserved for bodies that are not JSON. MegaMsg reads every body as JSON whatever its "
    "Content-Type, so today such a body answers 400; send Content-Type: application/json anyway.",
    422: "A required field is missing or a value is invalid; the message names the field. Also an "
    "Idempotency-Key reused with a different body.",
    429: "More requests than MEGAMSG_RATE_LIMIT_PER_MINUTE for this instance: wait the Retry-After "
    "header's seconds.",
    500: "An internal error. The body gives no details; the server log has them.",
    502: "The WhatsApp session is not connected (the message names its status), not running yet, "
    "WhatsApp refused the message, or did not answer within MEGAMSG_SEND_TIMEOUT. A message that got "
    'that far carries its "id" and "status": "failed".',
    503: "Only GET /healthz: Redis or the database is down (the body names which).",
}


@dataclass(frozen=True)
class ErrorCode:
    """One row of the table."""

    status: int
    name: str
    when: str
    body: dict[str, Any]


def error_statuses(doc: Mapping[str, Any]) -> set[int]:
    """Every 4xx and 5xx status an /api/ operation of the document answers."""
    return {
        int(response.status)
        for operation in operations(doc)
        for response in operation.responses
        if response.status.isdigit() and int(response.status) >= 400
    }


def error_codes(doc: Mapping[str, Any]) -> list[ErrorCode]:
    """The rows, ordered by status."""
    rows = []
    for status in sorted(set(MESSAGES) | error_statuses(doc)):
        described = [
            response.description
            for operation in operations(doc)
            for response in operation.responses
            if response.status == str(status)
        ]
        when = WHEN.get(status) or (described[0] if described else "")
        body = {"ok": False, "message": MESSAGES.get(status, HTTPStatus(status).phrase + ".")}
        rows.append(ErrorCode(status, HTTPStatus(status).phrase, when, body))
    return rows
