"""Dashboard: first-admin setup, login/logout, instances."""

import time
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from megamsg.instance_registry import register
from megamsg.pacing import MAX_INTERVAL_MS, pacing_of
from megamsg.session_state import mark_deleted, read_state
from megamsg.store import accounts, instances, message_log
from megamsg.store.setup_code import check_and_consume, code_matches
from megamsg.web.dashboard import one_time, overview, signin, throttle
from megamsg.web.dashboard.status_words import describe
from megamsg.web.db import get_db

bp = Blueprint("dashboard", __name__)


@bp.before_app_request
def load_user() -> None:
    """Put the logged-in user (or None) on g; note a session that was ended elsewhere."""
    g.user, g.session_ended = signin.current_user()


def login_required(view: Callable) -> Callable:
    """Redirect anonymous visitors to the login (or first-run setup) page."""

    @wraps(view)
    def wrapped(*args: object, **kwargs: object) -> ResponseReturnValue:
        if g.user is None:
            if g.session_ended:
                flash(
                    "Your session has ended (logged out, or the password was changed). Log in again.", "error"
                )
            return redirect(url_for("dashboard.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


def safe_next(target: str) -> str | None:
    """target if it is a path on this site, else None (no open redirect to another host)."""
    # Browsers read a backslash as a slash, so "/\\evil.example" means "//evil.example".
    normalised = target.replace("\\", "/")
    parts = urlsplit(normalised)
    if not normalised.startswith("/") or normalised.startswith("//") or parts.scheme or parts.netloc:
        return None
    if any(ord(char) < 32 for char in target):
        return None
    return target


_LOCK_REASONS = {
    ("login", throttle.ACCOUNT): "Too many failed attempts for this account.",
    ("login", throttle.ADDRESS): "Too many failed attempts from your address.",
    ("setup", throttle.ADDRESS): "Too many wrong setup codes from your address.",
}


def _throttled(scope: str, lock: throttle.Lock) -> ResponseReturnValue:
    message = f"{_LOCK_REASONS[scope, lock.kind]} Try again in {throttle.wait_text(lock.seconds)}."
    if lock.kind == throttle.ADDRESS and scope == "login":
        # People behind one proxy share an address: one of them guessing must not lock the rest out.
        message += " The right password of an account that is not locked still logs in."
    return render_template("throttled.html", message=message), 429, {"Retry-After": str(lock.seconds)}


@bp.get("/")
def index() -> ResponseReturnValue:
    """Send visitors where they belong."""
    if g.user:
        return redirect(url_for("dashboard.instance_list"))
    if accounts.user_count(get_db()) == 0:
        return redirect(url_for("dashboard.setup"))
    return redirect(url_for("dashboard.login"))


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> ResponseReturnValue:
    """Create the first admin, guarded by the setup code from the web log."""
    db = get_db()
    if accounts.user_count(db):
        return redirect(url_for("dashboard.login"))
    if request.method == "POST":
        address = signin.client_address()
        lock = throttle.lock_on(current_app.config, "setup", throttle.ADDRESS, address)
        if lock:
            return _throttled("setup", lock)
        email, password = request.form.get("email", ""), request.form.get("password", "")
        code = request.form.get("setup_code", "")
        if not code_matches(db, code):
            throttle.record_failure(current_app.config, "setup", {throttle.ADDRESS: address})
            flash("That setup code is not valid. It is printed in the web process log at start.", "error")
            return render_template("setup.html", email=email), 400
        try:
            accounts.validate_new_user(db, email, password)
        except accounts.AccountError as exc:
            flash(str(exc), "error")
            return render_template("setup.html", email=email), 422
        if not check_and_consume(db, code):
            flash("That setup code was just used. Log in instead.", "error")
            return redirect(url_for("dashboard.login"))
        user = accounts.create_user(db, email, password, is_admin=True)
        signin.log_in(user)
        flash("Welcome! Your admin account is ready.", "ok")
        return redirect(url_for("dashboard.instance_list"))
    return render_template("setup.html", email="")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Email + password login, throttled per account and per address."""
    db = get_db()
    if accounts.user_count(db) == 0:
        return redirect(url_for("dashboard.setup"))
    if request.method == "POST":
        config = current_app.config
        email = accounts.normalise_email(request.form.get("email", ""))
        address = signin.client_address()
        account_lock = throttle.lock_on(config, "login", throttle.ACCOUNT, email)
        if account_lock:
            return _throttled("login", account_lock)
        # A locked address does not stop the right password: only wrong ones answer 429 there.
        user = accounts.authenticate(db, email, request.form.get("password", ""))
        if user is None:
            address_lock = throttle.lock_on(config, "login", throttle.ADDRESS, address)
            throttle.record_failure(config, "login", {throttle.ACCOUNT: email, throttle.ADDRESS: address})
            if address_lock:
                return _throttled("login", address_lock)
            flash("Wrong email or password.", "error")
            return render_template("login.html", email=email), 401
        if accounts.is_disabled(user):
            # Said only after the right password: it tells nothing to someone guessing.
            flash("This account is disabled. Ask an admin.", "error")
            return render_template("login.html", email=email), 403
        throttle.forget(config, "login", throttle.ACCOUNT, email)
        signin.log_in(user)
        return redirect(safe_next(request.args.get("next", "")) or url_for("dashboard.instance_list"))
    return render_template("login.html", email="")


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End this browser's session, on the server too."""
    signin.log_out()
    flash("You are logged out.", "ok")
    return redirect(url_for("dashboard.login"), 303)


@bp.get("/instances")
@login_required
def instance_list() -> ResponseReturnValue:
    """The user's instances (all, for admins)."""
    db = get_db()
    rows = overview.overview_rows(current_app.config, db, instances.list_instances(db, g.user))
    return render_template("instances.html", instances=rows, counts_title=overview.COUNTS_TITLE)


@bp.post("/instances")
@login_required
def instance_create() -> ResponseReturnValue:
    """Create an instance, then show its token once on a GET page (reloading it creates nothing)."""
    try:
        row, token = instances.create_instance(get_db(), g.user["id"], request.form.get("name", ""))
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("dashboard.instance_list"), 303)
    register(current_app.config, row["id"])
    one_time.stash(current_app.config, row["id"], "created", token)
    return redirect(url_for("instance_actions.token", instance_id=row["id"]), 303)


def own_instance_or_404(instance_id: str) -> dict:
    """The instance if the logged-in user may see it; 404 (not 403) otherwise."""
    instance = instances.visible_instance(get_db(), g.user, instance_id)
    if instance is None:
        abort(404)
    return instance


@bp.get("/instances/<instance_id>")
@login_required
def instance_detail(instance_id: str) -> ResponseReturnValue:
    """One instance: status, linking, credentials."""
    instance = own_instance_or_404(instance_id)
    state = read_state(current_app.config, instance_id)
    return render_template(
        "instance.html",
        instance=instance,
        state=state,
        view=describe(state, time.time()),
        messages=message_log.list_messages(get_db(), instance_id, 20, None, None),
        simulator=current_app.config["WHATSAPP_DRIVER"] == "simulator",
        pacing=pacing_of(current_app.config, instance),
        pacing_defaults=pacing_of(current_app.config, {}),
        max_interval_ms=MAX_INTERVAL_MS,
    )


@bp.get("/instances/<instance_id>/delete")
@login_required
def instance_delete_confirm(instance_id: str) -> ResponseReturnValue:
    """Ask for confirmation before deleting."""
    return render_template("delete.html", instance=own_instance_or_404(instance_id))


@bp.post("/instances/<instance_id>/delete")
@login_required
def instance_delete(instance_id: str) -> ResponseReturnValue:
    """Delete after the name was typed to confirm."""
    instance = own_instance_or_404(instance_id)
    if request.form.get("confirm_name", "").strip() != instance["name"]:
        flash("Type the instance's name exactly to confirm deletion.", "error")
        return render_template("delete.html", instance=instance), 422
    # Tell the runner first, so that it forgets the WhatsApp session when it is stopped.
    mark_deleted(current_app.config, instance_id)
    instances.delete_instance(get_db(), instance_id)
    flash(f"Instance “{instance['name']}” deleted.", "ok")
    return redirect(url_for("dashboard.instance_list"))
