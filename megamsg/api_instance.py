"""Instance API: status, QR, pair code, logout, webhook settings."""

from flask import Blueprint, current_app, g, jsonify

from megamsg.api_auth import require_instance
from megamsg.runtime_state import read_state

bp = Blueprint("instance", __name__, url_prefix="/whatsapp/instance")


def public_status(state: dict) -> str:
    """Contract status; a runner that is not (yet) alive reads as 'starting'."""
    return state["status"] if state["alive"] else "starting"


@bp.get("")
@require_instance
def get_instance():
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
        }
    )
