"""An instance's token page and its destructive actions (rotate token, log out of WhatsApp), each confirmed first."""

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from megamsg.errors import ApiError
from megamsg.store import instances
from megamsg.web.dashboard import confirm, one_time
from megamsg.web.dashboard.pages import login_required, own_instance_or_404
from megamsg.web.db import get_db
from megamsg.web.session_control import call_runner

bp = Blueprint("instance_actions", __name__, url_prefix="/instances/<instance_id>")


@bp.get("/token")
@login_required
def token(instance_id: str) -> ResponseReturnValue:
    """The new token, shown once; after that (a reload), how to get another."""
    instance = own_instance_or_404(instance_id)
    taken = one_time.take(current_app.config, instance_id)
    kind, secret = taken if taken else (None, None)
    response = make_response(render_template("token.html", instance=instance, kind=kind, token=secret))
    response.headers["Cache-Control"] = "no-store"  # never kept by a browser or proxy cache
    return response


@bp.route("/rotate", methods=["GET", "POST"])
@login_required
def rotate(instance_id: str) -> ResponseReturnValue:
    """Issue a new token after confirmation; the old one stops working at once."""
    instance = own_instance_or_404(instance_id)
    if request.method == "GET":
        return confirm.ask(
            f"Rotate the token of “{instance['name']}”?",
            "The current token stops working at once: every system that sends with it gets 401 "
            "until you give it the new one, which is shown once on the next page.",
            "Rotate token",
            url_for("dashboard.instance_detail", instance_id=instance_id),
        )
    if not confirm.confirmed():
        return confirm.ask_first("instance_actions.rotate", instance_id=instance_id)
    token = instances.rotate_token(get_db(), instance_id)
    one_time.stash(current_app.config, instance_id, "rotated", token)
    flash("Token rotated: the previous token no longer works.", "ok")
    return redirect(url_for("instance_actions.token", instance_id=instance_id), 303)


@bp.route("/logout", methods=["GET", "POST"])
@login_required
def whatsapp_logout(instance_id: str) -> ResponseReturnValue:
    """Unlink the WhatsApp session after confirmation, then say how it went."""
    instance = own_instance_or_404(instance_id)
    back = url_for("dashboard.instance_detail", instance_id=instance_id)
    if request.method == "GET":
        return confirm.ask(
            f"Log “{instance['name']}” out of WhatsApp?",
            "This unlinks the WhatsApp session: the phone forgets this linked device, sending stops, "
            "and a new QR code appears to link a number again. The instance, its token and its "
            "messages stay.",
            "Log out of WhatsApp",
            back,
        )
    if not confirm.confirmed():
        return confirm.ask_first("instance_actions.whatsapp_logout", instance_id=instance_id)
    try:
        answer = call_runner(current_app.config, instance_id, "logout", {})
    except ApiError as exc:
        flash(f"Could not log out of WhatsApp: {exc.message}", "error")
    else:
        if answer.get("ok"):
            flash(
                "Logged out of WhatsApp: the session is unlinked. Scan the new QR code to link again.", "ok"
            )
        else:
            flash(f"Could not log out of WhatsApp: {answer.get('error') or 'the session refused.'}", "error")
    return redirect(back, 303)
