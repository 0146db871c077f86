"""Simulator control beyond the contract: declare which numbers are on WhatsApp and which groups exist."""

import json

from flask import Blueprint, abort, current_app, g, jsonify
from flask.typing import ResponseReturnValue

from megamsg import keys
from megamsg.phone import normalise_phone
from megamsg.redis_conn import get_redis
from megamsg.web.api.auth import require_instance
from megamsg.web.api.feature_schemas import SIMULATED_GROUPS, SIMULATED_NUMBERS
from megamsg.web.api.simulator import _run
from megamsg.web.validation import json_object

bp = Blueprint("simulator_features", __name__, url_prefix="/simulator")


@bp.before_request
def only_with_simulator() -> None:
    """These endpoints do not exist with a real driver."""
    if current_app.config["WHATSAPP_DRIVER"] != "simulator":
        abort(404)


@bp.post("/numbers")
@require_instance
def numbers() -> ResponseReturnValue:
    """Declare numbers on WhatsApp or not (by default every valid number is)."""
    body = SIMULATED_NUMBERS.check(json_object())
    params = {
        "phone_numbers": [normalise_phone(number) for number in body["phone_numbers"]],
        "on_whatsapp": body["on_whatsapp"],
    }
    return jsonify(_run("declare_numbers", params))


@bp.get("/activity")
@require_instance
def activity() -> ResponseReturnValue:
    """Read receipts and presence the simulated network got, oldest first."""
    items = get_redis(current_app.config).lrange(keys.simulator(g.instance["id"], "activity"), 0, -1)
    return jsonify({"ok": True, "activity": [json.loads(item) for item in items]})


@bp.put("/groups")
@require_instance
def groups() -> ResponseReturnValue:
    """Replace the groups the simulated phone is in."""
    body = SIMULATED_GROUPS.check(json_object())
    return jsonify(_run("declare_groups", {"groups": body["groups"]}))
