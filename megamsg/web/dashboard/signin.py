"""Who is logged in: the browser's cookie holds a session id that the server can revoke."""

from flask import current_app, request, session

from megamsg.store import accounts, dashboard_sessions
from megamsg.web.db import get_db

SESSION_KEY = "sid"


def idle_seconds() -> float:
    """How long an unused session lives (MEGAMSG_SESSION_IDLE_DAYS)."""
    return float(current_app.config["SESSION_IDLE_DAYS"]) * 86400


def client_address() -> str:
    """The client's address (as the trusted proxies report it)."""
    return request.remote_addr or "unknown"


def log_in(user: dict) -> None:
    """Start a fresh session for user (a new cookie, a new CSRF secret)."""
    session.clear()
    session[SESSION_KEY] = dashboard_sessions.start_session(
        get_db(), user["id"], client_address(), idle_seconds()
    )


def current_session_id() -> str | None:
    """This browser's session id, if it has one."""
    value = session.get(SESSION_KEY)
    return value if isinstance(value, str) else None


def current_user() -> tuple[dict | None, bool]:
    """(the logged-in user or None, whether this browser's session has just been found ended or disabled)."""
    session_id = current_session_id()
    if session_id is None:
        return None, False
    db = get_db()
    user = dashboard_sessions.session_user(db, session_id, idle_seconds())
    if user is not None and accounts.is_disabled(user):
        # Disabling ends the sessions; this catches one started while the disable was under way.
        dashboard_sessions.end_session(db, session_id)
        user = None
    if user is None:
        session.clear()
        return None, True
    return user, False


def log_out() -> None:
    """End this browser's session on the server and forget the cookie's contents."""
    session_id = current_session_id()
    if session_id:
        dashboard_sessions.end_session(get_db(), session_id)
    session.clear()
