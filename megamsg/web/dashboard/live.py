"""The overview's live JSON (static/instances.js polls it) and its "Reconnect now" action."""

from flask import Blueprint, current_app, flash, g, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue

from megamsg.errors import ApiError
from megamsg.session_state import read_state
from megamsg.store import instances, message_stats
from megamsg.web.dashboard.overview import overview_rows, row_json
from megamsg.web.dashboard.pages import login_required, own_instance_or_404
from megamsg.web.db import get_db
from megamsg.web.session_control import call_runner

bp = Blueprint("overview", __name__)


@bp.get("/instances/live")
@login_required
def live() -> ResponseReturnValue:
    """The user's instances (all, for admins) as the overview shows them; `?id=` for one of them."""
    wanted = request.args.get("id")
    rows = [own_instance_or_404(wanted)] if wanted else instances.list_instances(get_db(), g.user)
    payload = {
        "day": message_stats.DAY_BOUNDARY,
        "instances": [row_json(row) for row in overview_rows(current_app.config, get_db(), rows)],
    }
    return jsonify(payload), 200, {"Cache-Control": "no-store"}


def _reconnect(instance: dict) -> tuple[str, str]:
    """Ask the runner to reconnect; (flash message, category)."""
    name = instance["name"]
    state = read_state(current_app.config, instance["id"])
    if not state["alive"]:
        return (
            f"“{name}” cannot reconnect: the worker is not running this instance. "
            "Start the worker (make run, or python worker.py) and it connects by itself.",
            "error",
        )
    if state.get("status") == "connected":
        return f"“{name}” is already connected.", "ok"
    try:
        answer = call_runner(current_app.config, instance["id"], "reconnect", {})
    except ApiError as exc:
        return f"Could not reconnect “{name}”: {exc.message}", "error"
    if not answer.get("ok"):
        return f"Could not reconnect “{name}”: {answer.get('error') or 'the session refused.'}", "error"
    if answer.get("status") == "connected":
        return f"“{name}” is connected again.", "ok"
    return f"Reconnecting “{name}”… its status updates here as it changes.", "ok"


@bp.post("/instances/<instance_id>/reconnect")
@login_required
def reconnect(instance_id: str) -> ResponseReturnValue:
    """ "Reconnect now": skip the session's retry wait, then say what happened (post/redirect/get)."""
    instance = own_instance_or_404(instance_id)
    message, category = _reconnect(instance)
    flash(message, category)
    if request.form.get("back") == "instance":
        return redirect(url_for("dashboard.instance_detail", instance_id=instance_id), 303)
    return redirect(url_for("dashboard.instance_list"), 303)
