"""Dashboard endpoints behind the instance page's live view (JSON, session + CSRF protected)."""

import math

from flask import Blueprint, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from megamsg.errors import ApiError
from megamsg.phone import normalise_phone
from megamsg.session_state import public_status, read_state
from megamsg.web.api.instance import qr_svg
from megamsg.web.api.request_schemas import PAIR_CODE
from megamsg.web.dashboard.pages import login_required, own_instance_or_404
from megamsg.web.session_control import call_runner

bp = Blueprint("session_ui", __name__, url_prefix="/instances/<instance_id>")


@bp.get("/live")
@login_required
def live(instance_id: str) -> ResponseReturnValue:
    """Current status, QR (as SVG) and errors for the page to render."""
    own_instance_or_404(instance_id)
    state = read_state(current_app.config, instance_id)
    status = public_status(state) if state["alive"] else "not started"
    showing_qr = status == "qr" and state.get("qr") and state["qr_seconds_left"] > 0
    return jsonify(
        {
            "status": status,
            "qr_svg": qr_svg(state["qr"]) if showing_qr else None,
            "qr_id": state.get("qr", "")[-12:] if showing_qr else None,
            "expires_in": math.ceil(state["qr_seconds_left"]) if showing_qr else None,
            "phone_number": state.get("phone_number") or None,
            "push_name": state.get("push_name") or None,
            "last_error": state.get("last_error") or None,
        }
    )


def _run(instance_id: str, action: str, params: dict) -> dict:
    answer = call_runner(current_app.config, instance_id, action, params)
    if not answer.get("ok"):
        raise ApiError(409, answer.get("error") or "The WhatsApp session refused.")
    return answer


@bp.post("/pair-code")
@login_required
def pair_code(instance_id: str) -> ResponseReturnValue:
    """Request a pair code for linking by phone number."""
    own_instance_or_404(instance_id)
    # The API's own schema: the form and POST /api/whatsapp/instance/pair-code agree on what is valid.
    phone = normalise_phone(
        PAIR_CODE.check({"phone_number": request.form.get("phone_number", "")})["phone_number"]
    )
    answer = _run(instance_id, "pair_code", {"phone_number": phone.lstrip("+")})
    return jsonify({"ok": True, "code": answer["code"]})


@bp.post("/simulate-scan")
@login_required
def simulate_scan(instance_id: str) -> ResponseReturnValue:
    """Simulator only: scan the QR with a made-up phone."""
    if current_app.config["WHATSAPP_DRIVER"] != "simulator":
        abort(404)
    own_instance_or_404(instance_id)
    raw = request.form.get("phone_number") or "+201000000000"
    phone = normalise_phone(PAIR_CODE.check({"phone_number": raw})["phone_number"])
    _run(
        instance_id,
        "scan",
        {"phone_number": phone, "push_name": request.form.get("push_name") or "Simulated phone"},
    )
    return jsonify({"ok": True})
