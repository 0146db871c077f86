"""POST /api/simulator/incoming-burst: many incoming messages, delivered over time by the runner."""

from flask import Blueprint, abort, current_app, jsonify
from flask.typing import ResponseReturnValue

from megamsg.phone import normalise_phone
from megamsg.web.api.auth import require_instance
from megamsg.web.api.recovery_schemas import INCOMING_BURST
from megamsg.web.api.simulator import _run
from megamsg.web.validation import json_object

bp = Blueprint("simulator_burst", __name__, url_prefix="/simulator")


@bp.before_request
def only_with_simulator() -> None:
    """This endpoint does not exist with a real driver."""
    if current_app.config["WHATSAPP_DRIVER"] != "simulator":
        abort(404)


@bp.post("/incoming-burst")
@require_instance
def incoming_burst() -> ResponseReturnValue:
    """Start count messages from one sender, interval_ms apart; answers their ids at once."""
    body = INCOMING_BURST.check(json_object())
    params = {
        "from": normalise_phone(body["from"]),
        "push_name": body.get("push_name") or "",
        "text": body.get("text") or "burst",
        "count": body["count"],
        "interval_ms": body.get("interval_ms") or 0,
    }
    return jsonify(_run("incoming_burst", params))
