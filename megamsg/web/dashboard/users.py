"""Admin-only user management: add users, reset passwords, disable / enable, admin rights.

Initial and reset passwords are generated here, never typed by the admin: a random 20-character
password is strong by construction, the admin cannot pick a weak or reused one, and it is shown
once from the one-time stash (post/redirect/get), never in a URL. Users change it under Account.
"""

from collections.abc import Callable
from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from megamsg.clock import iso_ago
from megamsg.store import accounts, dashboard_sessions
from megamsg.web.dashboard import confirm, one_time, signin, throttle
from megamsg.web.dashboard.pages import login_required
from megamsg.web.db import get_db

bp = Blueprint("users", __name__, url_prefix="/users")


def admin_required(view: Callable) -> Callable:
    """Anonymous visitors go to the login; logged-in non-admins get 404 (the pages do not exist for them)."""

    @wraps(view)
    def wrapped(*args: object, **kwargs: object) -> ResponseReturnValue:
        if not g.user["is_admin"]:
            abort(404)
        return view(*args, **kwargs)

    return login_required(wrapped)


def _stash_key(user_id: int) -> str:
    # The stash is keyed like an instance id; "user:" cannot collide with "inst_…".
    return f"user:{user_id}"


def _target(user_id: int) -> dict:
    user = accounts.user_by_id(get_db(), user_id)
    if user is None:
        abort(404)
    return user


def _ask(title: str, explanation: str, button: str, cancel_url: str) -> str:
    # confirm.html with this page's stylesheet (long email addresses in the title wrap).
    return render_template(
        "users_confirm.html", title=title, explanation=explanation, button=button, cancel=cancel_url
    )


def _back() -> ResponseReturnValue:
    return redirect(url_for("users.user_list"), 303)


def _sessions_of(user: dict) -> int:
    return dashboard_sessions.count_user_sessions(get_db(), user["id"], signin.idle_seconds())


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _render_list(email: str = "", is_admin: bool = False, status: int = 200) -> ResponseReturnValue:
    users = accounts.list_users(get_db(), iso_ago(signin.idle_seconds()))
    return render_template("users.html", users=users, email=email, is_admin=is_admin), status


@bp.get("")
@admin_required
def user_list() -> ResponseReturnValue:
    """Every user with their role, status, last login, instances and open sessions; the add-user form."""
    return _render_list()


@bp.post("")
@admin_required
def user_add() -> ResponseReturnValue:
    """Create a user with a generated password, then show it once on a GET page."""
    email, is_admin = request.form.get("email", ""), request.form.get("is_admin") == "yes"
    password = accounts.generate_password()
    try:
        user = accounts.create_user(get_db(), email, password, is_admin=is_admin)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return _render_list(email, is_admin, 422)
    one_time.stash(current_app.config, _stash_key(user["id"]), "created", password)
    return redirect(url_for("users.password", user_id=user["id"]), 303)


@bp.get("/<int:user_id>/password")
@admin_required
def password(user_id: int) -> ResponseReturnValue:
    """The new password, shown once; after that (a reload), how to get another."""
    user = _target(user_id)
    taken = one_time.take(current_app.config, _stash_key(user_id))
    kind, secret = taken if taken else (None, None)
    response = make_response(render_template("users_password.html", user=user, kind=kind, password=secret))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:user_id>/reset-password", methods=["GET", "POST"])
@admin_required
def reset_password(user_id: int) -> ResponseReturnValue:
    """Generate a new password after confirmation and end every session of the user."""
    user = _target(user_id)
    if user["id"] == g.user["id"]:
        flash("Change your own password under Account (it asks for the current one).", "error")
        return _back()
    if request.method == "GET":
        return _ask(
            f"Reset the password of {user['email']}?",
            f"A new password is generated and shown to you once on the next page. Their current "
            f"password stops working and their open sessions ({_sessions_of(user)}) end at once. "
            "Give them the new password privately; they can change it under Account.",
            "Reset password",
            url_for("users.user_list"),
        )
    if not confirm.confirmed():
        return confirm.ask_first("users.reset_password", user_id=user_id)
    new_password, ended = accounts.reset_password(get_db(), user_id)
    # A new password from an admin is a fresh start: earlier wrong guesses no longer lock it.
    throttle.forget(current_app.config, "login", throttle.ACCOUNT, user["email"])
    one_time.stash(current_app.config, _stash_key(user_id), "reset", new_password)
    flash(f"Password reset: {_plural(ended, 'session')} of {user['email']} ended.", "ok")
    return redirect(url_for("users.password", user_id=user_id), 303)


@bp.route("/<int:user_id>/disable", methods=["GET", "POST"])
@admin_required
def disable(user_id: int) -> ResponseReturnValue:
    """Disable a user after confirmation: no login, every session ends; their instances keep running."""
    user = _target(user_id)
    if request.method == "GET":
        try:
            accounts.check_can_disable(get_db(), user, g.user["id"])
        except accounts.AccountError as exc:
            flash(str(exc), "error")
            return _back()
        return _ask(
            f"Disable {user['email']}?",
            f"They can no longer log in, and their open sessions ({_sessions_of(user)}) end at once. "
            "Their instances keep running: WhatsApp stays linked, and the API tokens and webhooks "
            "keep working (rotate a token to stop it). You can enable the account again later.",
            "Disable user",
            url_for("users.user_list"),
        )
    if not confirm.confirmed():
        return confirm.ask_first("users.disable", user_id=user_id)
    try:
        ended = accounts.disable_user(get_db(), user_id, g.user["id"])
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return _back()
    flash(
        f"{user['email']} is disabled: {_plural(ended, 'session')} ended. Their instances keep running.", "ok"
    )
    return _back()


@bp.route("/<int:user_id>/enable", methods=["GET", "POST"])
@admin_required
def enable(user_id: int) -> ResponseReturnValue:
    """Let a disabled user log in again, after confirmation."""
    user = _target(user_id)
    if request.method == "GET":
        if not accounts.is_disabled(user):
            flash(f"{user['email']} is not disabled.", "error")
            return _back()
        return _ask(
            f"Enable {user['email']}?",
            "They can log in again with the password they had. Reset it too if they no longer know it.",
            "Enable user",
            url_for("users.user_list"),
        )
    if not confirm.confirmed():
        return confirm.ask_first("users.enable", user_id=user_id)
    try:
        accounts.enable_user(get_db(), user_id)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return _back()
    flash(f"{user['email']} is enabled and can log in again.", "ok")
    return _back()


@bp.route("/<int:user_id>/admin", methods=["GET", "POST"])
@admin_required
def make_admin(user_id: int) -> ResponseReturnValue:
    """Give a user admin rights, after confirmation."""
    user = _target(user_id)
    if request.method == "GET":
        if user["is_admin"]:
            flash(f"{user['email']} is already an admin.", "error")
            return _back()
        return _ask(
            f"Make {user['email']} an admin?",
            "Admins see and manage every instance and every user, this page included.",
            "Make admin",
            url_for("users.user_list"),
        )
    if not confirm.confirmed():
        return confirm.ask_first("users.make_admin", user_id=user_id)
    try:
        accounts.set_admin(get_db(), user_id, True, g.user["id"])
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return _back()
    flash(f"{user['email']} is now an admin.", "ok")
    return _back()


@bp.route("/<int:user_id>/remove-admin", methods=["GET", "POST"])
@admin_required
def remove_admin(user_id: int) -> ResponseReturnValue:
    """Take a user's admin rights away, after confirmation (never your own, never the last admin's)."""
    user = _target(user_id)
    if request.method == "GET":
        try:
            accounts.check_can_demote(get_db(), user, g.user["id"])
        except accounts.AccountError as exc:
            flash(str(exc), "error")
            return _back()
        return _ask(
            f"Remove the admin rights of {user['email']}?",
            "They then see only their own instances and can no longer manage users. "
            "Their account, sessions and instances stay.",
            "Remove admin rights",
            url_for("users.user_list"),
        )
    if not confirm.confirmed():
        return confirm.ask_first("users.remove_admin", user_id=user_id)
    try:
        accounts.set_admin(get_db(), user_id, False, g.user["id"])
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return _back()
    flash(f"{user['email']} is no longer an admin.", "ok")
    return _back()
