"""Simulator control endpoints (only with MEGAMSG_WHATSAPP_DRIVER=simulator; 404 otherwise)."""

import json
from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify
from flask.typing import ResponseReturnValue

from megamsg import keys
from megamsg.errors import ApiError
from megamsg.phone import normalise_phone
from megamsg.redis_conn import get_redis
from megamsg.web.api.auth import require_instance
from megamsg.web.api.request_schemas import DELAY_NEXT, FAIL_NEXT, INCOMING, RECEIPT, SCAN
from megamsg.web.api.simulated_details import injected_details
from megamsg.web.session_control import call_runner
from megamsg.web.validation import json_object

bp = Blueprint("simulator", __name__, url_prefix="/simulator")


@bp.before_request
def only_with_simulator() -> None:
    """The simulator's endpoints do not exist with a real driver."""
    if current_app.config["WHATSAPP_DRIVER"] != "simulator":
        abort(404)


def _run(action: str, params: dict) -> dict:
    answer = call_runner(current_app.config, g.instance["id"], action, params)
    if not answer.get("ok"):
        raise ApiError(409, answer.get("error") or "The simulated phone refused.")
    answer.pop("ok", None)
    return {"ok": True, **answer}


@bp.post("/scan")
@require_instance
def scan() -> ResponseReturnValue:
    """The simulated phone scans the current QR code."""
    body = SCAN.check(json_object())
    params = {"phone_number": normalise_phone(body["phone_number"]), "push_name": body.get("push_name")}
    return jsonify(_run("scan", params))


@bp.post("/incoming")
@require_instance
def incoming() -> ResponseReturnValue:
    """An incoming WhatsApp message from the simulated network."""
    body = INCOMING.check(json_object())
    params = {
        "from": normalise_phone(body["from"]),
        "push_name": body.get("push_name") or "",
        "type": body.get("type", "text"),
        "text": body.get("text") or "",
        "is_group": body.get("is_group", False),
        **{field: body.get(field) for field in ("caption", "chat", "mime_type", "file_name", "id")},
    }
    if body.get("media"):
        params["media"] = body["media"]
    params.update(injected_details(body, _wa_id_for))
    return jsonify(_run("incoming", params))


@bp.post("/receipt")
@require_instance
def receipt() -> ResponseReturnValue:
    """The recipient's phone acknowledges a message we sent."""
    body = RECEIPT.check(json_object())
    return jsonify(_run("receipt", {"message_id": _wa_id_for(body["message_id"]), "status": body["status"]}))


def _wa_id_for(message_id: str) -> str:
    """Receipts name the network's id; accept MegaMsg's id too."""
    from megamsg.web.db import get_db

    row = (
        get_db()
        .execute(
            "SELECT wa_id FROM messages WHERE instance_id = ? AND id = ?", [g.instance["id"], message_id]
        )
        .fetchone()
    )
    return row[0] if row and row[0] else message_id


@bp.post("/disconnect")
@require_instance
def disconnect() -> ResponseReturnValue:
    """Simulate losing the network."""
    return jsonify(_run("disconnect", {}))


@bp.post("/reconnect")
@require_instance
def reconnect() -> ResponseReturnValue:
    """Simulate the network coming back."""
    return jsonify(_run("reconnect", {}))


@bp.post("/fail-next")
@require_instance
def fail_next() -> ResponseReturnValue:
    """Extension: make the next send fail with the given WhatsApp error."""
    body = FAIL_NEXT.check(json_object())
    return jsonify(_run("fail_next", {"message": body.get("message") or "simulated failure"}))


@bp.post("/delay-next")
@require_instance
def delay_next() -> ResponseReturnValue:
    """Extension: make the next send take this many seconds (a slow network)."""
    seconds = DELAY_NEXT.check(json_object())["seconds"]
    return jsonify(_run("delay_next", {"seconds": float(seconds)}))


@bp.get("/outbox")
@require_instance
def outbox() -> ResponseReturnValue:
    """What reached the simulated network, oldest first."""
    return jsonify({"ok": True, "messages": read_outbox(current_app.config, g.instance["id"])})


def read_outbox(config: dict[str, Any], instance_id: str) -> list[dict[str, Any]]:
    """What the simulator driver recorded as sent to the network, oldest first."""
    items = get_redis(config).lrange(keys.simulator(instance_id, "outbox"), 0, -1)
    return [json.loads(item) for item in items]
