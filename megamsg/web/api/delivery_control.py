"""Delivery control: the instance's pacing settings and cancelling a scheduled or queued message."""

from flask import Blueprint, current_app, g, jsonify
from flask.typing import ResponseReturnValue

from megamsg.delivery.scheduler import cancel_message
from megamsg.errors import ApiError
from megamsg.store import message_log
from megamsg.store.instances import set_pacing
from megamsg.web.api.auth import require_instance
from megamsg.web.api.pacing_view import pacing_json
from megamsg.web.api.request_schemas import SETTINGS
from megamsg.web.db import get_db
from megamsg.web.validation import json_object

bp = Blueprint("delivery_control", __name__, url_prefix="/whatsapp")
SETTING_FIELDS = ("min_interval_ms", "jitter_ms")


@bp.put("/instance/settings")
@require_instance
def put_settings() -> ResponseReturnValue:
    """Set the instance's pacing (fields left out keep their value; null means the default)."""
    body = SETTINGS.check(json_object())
    given = {field: body[field] for field in SETTING_FIELDS if field in body}
    if not given:
        raise ApiError(422, "Set min_interval_ms, jitter_ms or both.")
    db = get_db()
    instance = set_pacing(db, g.instance["id"], given)
    return jsonify({"ok": True, **pacing_json(current_app.config, instance)})


@bp.delete("/messages/<message_id>")
@require_instance
def cancel(message_id: str) -> ResponseReturnValue:
    """Cancel a scheduled or still-queued message; 409 once it is sending or done."""
    db = get_db()
    row = message_log.get_message(db, g.instance["id"], message_id)
    if row is None:
        raise ApiError(404, "No message with that id on this instance.")
    if not cancel_message(current_app.config, db, g.instance, row):
        current = message_log.get_message(db, g.instance["id"], row["id"]) or row
        raise ApiError(
            409,
            f"The message cannot be cancelled: it is {current['status']} "
            "(only scheduled or queued messages can be).",
        )
    return jsonify({"ok": True, "id": row["id"], "status": "cancelled"})
