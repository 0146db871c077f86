"""Simulator control endpoints (only with MEGAMSG_WHATSAPP_DRIVER=simulator; 404 otherwise)."""

import base64
import binascii
import json
from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify
from flask.typing import ResponseReturnValue

from megamsg import keys
from megamsg.errors import ApiError
from megamsg.phone import PhoneError, normalise_phone
from megamsg.redis_conn import get_redis
from megamsg.web.api.auth import require_instance
from megamsg.web.session_control import call_runner
from megamsg.web.validation import json_object, optional_string

bp = Blueprint("simulator", __name__, url_prefix="/simulator")

RECEIPT_STATUSES = ("delivered", "read", "played")
INCOMING_TYPES = ("text", "image", "audio", "video", "document", "sticker", "location", "contact")


@bp.before_request
def only_with_simulator() -> None:
    """The simulator's endpoints do not exist with a real driver."""
    if current_app.config["WHATSAPP_DRIVER"] != "simulator":
        abort(404)


def _phone(body: dict, field: str) -> str:
    try:
        return normalise_phone(body.get(field))
    except PhoneError as exc:
        raise ApiError(422, f"{field} {exc}") from None


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
    body = json_object()
    params = {
        "phone_number": _phone(body, "phone_number"),
        "push_name": optional_string(body, "push_name", 100),
    }
    return jsonify(_run("scan", params))


@bp.post("/incoming")
@require_instance
def incoming() -> ResponseReturnValue:
    """An incoming WhatsApp message from the simulated network."""
    body = json_object()
    kind = body.get("type", "text")
    if kind not in INCOMING_TYPES:
        raise ApiError(422, f"type must be one of {', '.join(INCOMING_TYPES)}.")
    is_group = body.get("is_group", False)
    if not isinstance(is_group, bool):
        raise ApiError(422, "is_group must be a boolean.")
    params = {
        "from": _phone(body, "from"),
        "push_name": optional_string(body, "push_name", 100) or "",
        "type": kind,
        "text": optional_string(body, "text", 65536) or "",
        "caption": optional_string(body, "caption", 4096),
        "is_group": is_group,
        "chat": optional_string(body, "chat", 100),
        "mime_type": optional_string(body, "mime_type", 255),
        "file_name": optional_string(body, "file_name", 255),
        "id": optional_string(body, "id", 64),
    }
    if kind == "text" and not params["text"]:
        raise ApiError(422, "text is required for type text.")
    media = optional_string(body, "media")
    if media:
        try:
            base64.b64decode(media, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(422, "media must be base64.") from None
        params["media"] = media
    return jsonify(_run("incoming", params))


@bp.post("/receipt")
@require_instance
def receipt() -> ResponseReturnValue:
    """The recipient's phone acknowledges a message we sent."""
    body = json_object()
    message_id = optional_string(body, "message_id", 128)
    if not message_id:
        raise ApiError(422, "message_id is required.")
    status = body.get("status")
    if status not in RECEIPT_STATUSES:
        raise ApiError(422, f"status must be one of {', '.join(RECEIPT_STATUSES)}.")
    return jsonify(_run("receipt", {"message_id": _wa_id_for(message_id), "status": status}))


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
    body = json_object()
    return jsonify(
        _run("fail_next", {"message": optional_string(body, "message", 500) or "simulated failure"})
    )


MAX_DELAY_SECONDS = 120


@bp.post("/delay-next")
@require_instance
def delay_next() -> ResponseReturnValue:
    """Extension: make the next send take this many seconds (a slow network)."""
    seconds = json_object().get("seconds")
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 < seconds <= MAX_DELAY_SECONDS
    ):
        raise ApiError(422, f"seconds must be a number above 0 and at most {MAX_DELAY_SECONDS}.")
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
