"""Account API keys in the dashboard: create (shown once), list with last use, revoke; the audit log."""

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

from megamsg.store import api_keys, audit_log
from megamsg.web.dashboard import confirm, one_time
from megamsg.web.dashboard.pages import login_required
from megamsg.web.db import get_db

bp = Blueprint("api_keys", __name__, url_prefix="/account")
SCOPE_CHOICES = {
    "write": [api_keys.READ, api_keys.WRITE],
    "read": [api_keys.READ],
}


def _stash_key(key_id: int) -> str:
    # The stash is keyed like an instance id; "apikey:" cannot collide with "inst_…" or "user:…".
    return f"apikey:{key_id}"


def _own_key_or_404(key_id: int) -> dict:
    key = api_keys.user_key(get_db(), g.user["id"], key_id)
    if key is None:
        abort(404)
    return key


def _render_list(name: str = "", access: str = "write", status: int = 200) -> ResponseReturnValue:
    keys = api_keys.list_keys(get_db(), g.user["id"])
    return render_template("api_keys.html", keys=keys, name=name, access=access), status


@bp.get("/keys")
@login_required
def key_list() -> ResponseReturnValue:
    """The user's keys and the form to make one."""
    return _render_list()


@bp.post("/keys")
@login_required
def key_create() -> ResponseReturnValue:
    """Create a key, then show it once on a GET page (reloading it creates nothing)."""
    name, access = request.form.get("name", ""), request.form.get("access", "")
    try:
        row, key = api_keys.create_key(get_db(), g.user["id"], name, SCOPE_CHOICES.get(access, []))
    except api_keys.ApiKeyError as exc:
        flash(str(exc), "error")
        return _render_list(name, access, 422)
    one_time.stash(current_app.config, _stash_key(row["id"]), "created", key)
    return redirect(url_for("api_keys.key_shown", key_id=row["id"]), 303)


@bp.get("/keys/<int:key_id>")
@login_required
def key_shown(key_id: int) -> ResponseReturnValue:
    """The new key, shown once; after that (a reload), that it was shown once."""
    key = _own_key_or_404(key_id)
    taken = one_time.take(current_app.config, _stash_key(key_id))
    response = make_response(render_template("api_key.html", key=key, secret=taken[1] if taken else None))
    response.headers["Cache-Control"] = "no-store"  # never kept by a browser or proxy cache
    return response


@bp.route("/keys/<int:key_id>/revoke", methods=["GET", "POST"])
@login_required
def key_revoke(key_id: int) -> ResponseReturnValue:
    """Revoke a key after confirmation; it stops working at once."""
    key = _own_key_or_404(key_id)
    if request.method == "GET":
        if key["revoked_at"]:
            flash(f"The key “{key['name']}” is already revoked.", "error")
            return redirect(url_for("api_keys.key_list"), 303)
        return confirm.ask(
            f"Revoke the API key “{key['name']}”?",
            "The key stops working at once: every program that uses it gets 401. "
            "The instances it made keep running. This cannot be undone; make a new key if you need one.",
            "Revoke key",
            url_for("api_keys.key_list"),
        )
    if not confirm.confirmed():
        return confirm.ask_first("api_keys.key_revoke", key_id=key_id)
    if api_keys.revoke_key(get_db(), g.user["id"], key_id):
        flash(f"API key “{key['name']}” revoked: it no longer works.", "ok")
    else:
        flash(f"The key “{key['name']}” was already revoked.", "error")
    return redirect(url_for("api_keys.key_list"), 303)


@bp.get("/audit")
@login_required
def audit() -> ResponseReturnValue:
    """Calls made with account API keys: the user's own and those about their instances (admins: all)."""
    before = request.args.get("before", type=int)
    entries, next_before = audit_log.list_entries(get_db(), g.user, before)
    return render_template("audit_log.html", entries=entries, next_before=next_before, first=before is None)
