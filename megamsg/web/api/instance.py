"""Instance API: status, QR, pair code, logout."""

import math

import segno
from flask import Blueprint, current_app, g, jsonify
from flask.typing import ResponseReturnValue

from megamsg.errors import ApiError
from megamsg.phone import normalise_phone
from megamsg.session_state import public_status, read_state
from megamsg.store.scheduled import count_scheduled
from megamsg.web.api.auth import require_instance
from megamsg.web.api.pacing_view import pacing_json, queue_depth
from megamsg.web.api.request_schemas import PAIR_CODE
from megamsg.web.db import get_db
from megamsg.web.session_control import call_runner
from megamsg.web.validation import json_object

bp = Blueprint("instance", __name__, url_prefix="/whatsapp/instance")


def qr_svg(payload: str) -> str:
    """A crisp, scalable SVG of the QR payload."""
    return segno.make(payload, error="l").svg_inline(scale=4, border=2, omitsize=True)


@bp.get("")
@require_instance
def get_instance() -> ResponseReturnValue:
    """The instance's identity and live session status."""
    state = read_state(current_app.config, g.instance["id"])
    return jsonify(
        {
            "ok": True,
            "instance_id": g.instance["id"],
            "name": g.instance["name"],
            "status": public_status(state),
            "phone_number": state.get("phone_number") or None,
            "push_name": state.get("push_name") or None,
            "last_error": state.get("last_error") or None,
            **pacing_json(current_app.config, g.instance),
            "queue_depth": queue_depth(current_app.config, g.instance["id"]),
            "scheduled": count_scheduled(get_db(), g.instance["id"]),
        }
    )


@bp.get("/qr")
@require_instance
def get_qr() -> ResponseReturnValue:
    """The QR code to scan now, or 409 when there is none."""
    state = read_state(current_app.config, g.instance["id"])
    status = public_status(state)
    if status != "qr" or not state.get("qr") or state["qr_seconds_left"] <= 0:
        raise ApiError(409, f"There is no QR code to scan (status: {status}).")
    return jsonify(
        {
            "ok": True,
            "qr": state["qr"],
            "svg": qr_svg(state["qr"]),
            "expires_in": math.ceil(state["qr_seconds_left"]),
        }
    )


def _answer_or_error(answer: dict) -> dict:
    if not answer.get("ok"):
        raise ApiError(409 if answer.get("status") else 502, answer.get("error") or "WhatsApp session error.")
    return answer


@bp.post("/pair-code")
@require_instance
def pair_code() -> ResponseReturnValue:
    """Link by phone number instead of QR: returns the code to type on the phone."""
    phone = normalise_phone(PAIR_CODE.check(json_object())["phone_number"])
    answer = _answer_or_error(
        call_runner(current_app.config, g.instance["id"], "pair_code", {"phone_number": phone.lstrip("+")})
    )
    return jsonify({"ok": True, "code": answer["code"]})


@bp.post("/logout")
@require_instance
def logout() -> ResponseReturnValue:
    """Unlink the WhatsApp session; a new QR is offered afterwards."""
    _answer_or_error(call_runner(current_app.config, g.instance["id"], "logout", {}))
    return jsonify({"ok": True})
