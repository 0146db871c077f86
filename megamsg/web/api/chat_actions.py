"""Read receipts and presence: POST /api/whatsapp/messages/<id>/read and POST /api/whatsapp/presence."""

from flask import Blueprint, current_app, g, jsonify
from flask.typing import ResponseReturnValue

from megamsg.errors import ApiError
from megamsg.store import message_log
from megamsg.web.api.auth import require_instance
from megamsg.web.api.chat_schemas import PRESENCE
from megamsg.web.api.features import run_feature
from megamsg.web.api.message_refs import message_key
from megamsg.web.api.rate_limit import check_rate
from megamsg.web.api.send_target import check_target, recipient
from megamsg.web.db import get_db
from megamsg.web.validation import json_object

bp = Blueprint("chat_actions", __name__, url_prefix="/whatsapp")


@bp.post("/messages/<message_id>/read")
@require_instance
def mark_read(message_id: str) -> ResponseReturnValue:
    """Tell WhatsApp an incoming message was read (the sender sees blue ticks); its log status becomes read."""
    check_rate(current_app.config, g.instance["id"])
    db = get_db()
    row = message_log.get_message(db, g.instance["id"], message_id)
    if row is None:
        raise ApiError(404, "No message with that id on this instance.")
    if row["direction"] != "in":
        raise ApiError(422, "Only incoming messages can be marked read; this one was sent by this instance.")
    key = message_key(row)
    run_feature("mark_read", {"message": {"id": key["id"], "chat": key["chat"], "sender": key["sender"]}})
    message_log.set_status(db, row["id"], "read")
    return jsonify({"ok": True, "id": row["id"], "wa_id": row["wa_id"], "status": "read"})


@bp.post("/presence")
@require_instance
def presence() -> ResponseReturnValue:
    """Show typing or recording in a chat, or stop (paused)."""
    check_rate(current_app.config, g.instance["id"])
    body = json_object()
    check_target(body)
    PRESENCE.check(body)
    to = recipient(body)
    run_feature("presence", {"to": to, "state": body["state"]})
    return jsonify({"ok": True, "to": to, "state": body["state"]})
