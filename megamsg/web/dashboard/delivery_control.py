"""Dashboard: cancel a scheduled or queued message (confirmed first), and an instance's pacing setting."""

from typing import Any

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from megamsg.delivery.scheduler import cancel_message
from megamsg.pacing import MAX_INTERVAL_MS, MAX_JITTER_MS
from megamsg.store import message_log
from megamsg.store.instances import set_pacing
from megamsg.store.scheduled import CANCELLABLE
from megamsg.web.dashboard import confirm
from megamsg.web.dashboard.message_filters import CURSOR_KEYS, FILTER_KEYS
from megamsg.web.dashboard.pages import login_required, own_instance_or_404
from megamsg.web.db import get_db

bp = Blueprint("delivery_ui", __name__, url_prefix="/instances/<instance_id>")


def _back(instance_id: str) -> str:
    """The message list the request came from (its filters and cursor kept)."""
    args: dict[str, Any] = {
        key: request.args[key] for key in (*FILTER_KEYS, *CURSOR_KEYS) if request.args.get(key)
    }
    return url_for("messages_ui.message_list", instance_id=instance_id, **args)


@bp.route("/messages/<message_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(instance_id: str, message_id: str) -> ResponseReturnValue:
    """Cancel a scheduled or queued message after confirmation, then back to the list (303)."""
    instance = own_instance_or_404(instance_id)
    db = get_db()
    row = message_log.get_message(db, instance_id, message_id)
    if row is None or row["direction"] != "out":
        return redirect(_back(instance_id), 303) if request.method == "POST" else ("Not found", 404)
    if request.method == "GET":
        when = f" (scheduled for {row['send_at']})" if row["status"] == "scheduled" else ""
        return confirm.ask(
            "Cancel this message?",
            f"The {row['status']} message to {row['peer']}{when} will not be sent. A status webhook "
            "“cancelled” goes to the instance's webhook.",
            "Cancel the message",
            _back(instance_id),
        )
    if not confirm.confirmed():
        return confirm.ask_first("delivery_ui.cancel", instance_id=instance_id, message_id=message_id)
    if row["status"] in CANCELLABLE and cancel_message(current_app.config, db, instance, row):
        flash(f"Message to {row['peer']} cancelled; it will not be sent.", "ok")
    else:
        current = message_log.get_message(db, instance_id, message_id) or row
        flash(f"Too late to cancel: the message is already {current['status']}.", "error")
    return redirect(_back(instance_id), 303)


def _milliseconds(name: str, label: str, maximum: int, errors: list[str]) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if raw == "":
        return None  # the server's default
    if not raw.isascii() or not raw.isdigit() or int(raw) > maximum:
        errors.append(f"{label} must be a whole number of milliseconds from 0 to {maximum}.")
        return None
    return int(raw)


@bp.post("/pacing")
@login_required
def pacing(instance_id: str) -> ResponseReturnValue:
    """Save the instance's pacing (an empty field means the server's default)."""
    own_instance_or_404(instance_id)
    errors: list[str] = []
    interval = _milliseconds("min_interval_ms", "Minimum interval", MAX_INTERVAL_MS, errors)
    jitter = _milliseconds("jitter_ms", "Jitter", MAX_JITTER_MS, errors)
    if errors:
        for problem in errors:
            flash(problem, "error")
    else:
        set_pacing(get_db(), instance_id, {"min_interval_ms": interval, "jitter_ms": jitter})
        flash("Pacing saved.", "ok")
    return redirect(url_for("dashboard.instance_detail", instance_id=instance_id, _anchor="pacing"), 303)
