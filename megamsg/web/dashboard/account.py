"""The logged-in user's own account: change password, log out everywhere."""

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from megamsg.store import accounts, dashboard_sessions
from megamsg.web.dashboard import confirm, signin, throttle
from megamsg.web.dashboard.pages import login_required
from megamsg.web.db import get_db

bp = Blueprint("account", __name__, url_prefix="/account")


def _render(status: int = 200) -> ResponseReturnValue:
    sessions = dashboard_sessions.count_user_sessions(get_db(), g.user["id"], signin.idle_seconds())
    return render_template("account.html", sessions=sessions), status


@bp.get("")
@login_required
def overview() -> ResponseReturnValue:
    """Password form and open sessions."""
    return _render()


@bp.post("/password")
@login_required
def change_password() -> ResponseReturnValue:
    """Change the password (the current one first); end every other session of this user."""
    config, email = current_app.config, g.user["email"]
    # The current password is a login secret: guessing it here counts like guessing at /login.
    lock = throttle.lock_on(config, "login", throttle.ACCOUNT, email)
    if lock:
        flash(
            f"Too many failed attempts for this account. Try again in {throttle.wait_text(lock.seconds)}.",
            "error",
        )
        return _render(429)
    try:
        ended = accounts.change_password(
            get_db(),
            g.user["id"],
            request.form.get("current_password", ""),
            request.form.get("new_password", ""),
            keep_session=signin.current_session_id(),
        )
    except accounts.WrongPassword as exc:
        throttle.record_failure(config, "login", {throttle.ACCOUNT: email})
        flash(str(exc), "error")
        return _render(422)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return _render(422)
    if ended:
        flash(f"Password changed. Your other sessions ({ended}) were logged out.", "ok")
    else:
        flash("Password changed. No other session was open.", "ok")
    return redirect(url_for("account.overview"), 303)


@bp.route("/logout-everywhere", methods=["GET", "POST"])
@login_required
def logout_everywhere() -> ResponseReturnValue:
    """End every session of this user, this one included (after confirmation)."""
    if request.method == "GET":
        return confirm.ask(
            "Log out everywhere?",
            "This ends every session of your account, in every browser, this one included. "
            "You then log in again with your password.",
            "Log out everywhere",
            url_for("account.overview"),
        )
    if not confirm.confirmed():
        return confirm.ask_first("account.logout_everywhere")
    ended = dashboard_sessions.end_user_sessions(get_db(), g.user["id"])
    session.clear()
    flash(f"Logged out everywhere: {ended} session{'' if ended == 1 else 's'} ended.", "ok")
    return redirect(url_for("dashboard.login"), 303)
