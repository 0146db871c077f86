"""POST /api/whatsapp/messages/send and the message log."""

import json

from flask import Blueprint, request

from megamsg.api_auth import require_instance
from megamsg.errors import ApiError

bp = Blueprint("messages", __name__, url_prefix="/whatsapp/messages")


def json_object() -> dict:
    """The request body as a JSON object, or a 400/422 error."""
    raw = request.get_data(cache=True)  # raises 413 past the body limit
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "Malformed JSON body.") from None
    if not isinstance(body, dict):
        raise ApiError(422, "The body must be a JSON object.")
    return body


@bp.post("/send")
@require_instance
def send():
    """Send a WhatsApp message (implemented by the send issue)."""
    json_object()
    raise ApiError(502, "WhatsApp session is not connected (status: not started).")
