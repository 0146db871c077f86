"""Dashboard login sessions kept server-side, so that logging out really ends them."""

import secrets

import sqlite_utils

from megamsg.clock import iso_ago, now_iso
from megamsg.store.db import first_row, immediate, insert_row
from megamsg.store.instances import hash_token

# last_seen_at is rewritten at most this often, not on every request (the live view polls each second).
TOUCH_SECONDS = 60


def start_session(db: sqlite_utils.Database, user_id: int, address: str, idle_seconds: float) -> str:
    """Record a new session for user_id (and it as their last login); return its id (only its hash is stored)."""
    session_id = secrets.token_urlsafe(32)
    now = now_iso()
    with immediate(db):
        db.execute("DELETE FROM dashboard_sessions WHERE last_seen_at < ?", [iso_ago(idle_seconds)])
        insert_row(
            db,
            "dashboard_sessions",
            {
                "id": hash_token(session_id),
                "user_id": user_id,
                "created_at": now,
                "last_seen_at": now,
                "address": address,
            },
        )
        db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", [now, user_id])
    return session_id


def session_user(db: sqlite_utils.Database, session_id: str, idle_seconds: float) -> dict | None:
    """The user of a live session, or None if it was ended or has been idle too long."""
    digest = hash_token(session_id)
    row = first_row(
        db,
        "SELECT dashboard_sessions.last_seen_at AS session_seen_at, users.* FROM dashboard_sessions"
        " JOIN users ON users.id = dashboard_sessions.user_id WHERE dashboard_sessions.id = ?",
        [digest],
    )
    if row is None:
        return None
    seen = row.pop("session_seen_at")
    if seen < iso_ago(idle_seconds):
        db.execute("DELETE FROM dashboard_sessions WHERE id = ?", [digest])
        return None
    if seen < iso_ago(TOUCH_SECONDS):
        db.execute("UPDATE dashboard_sessions SET last_seen_at = ? WHERE id = ?", [now_iso(), digest])
    return row


def end_session(db: sqlite_utils.Database, session_id: str) -> None:
    """End one session."""
    db.execute("DELETE FROM dashboard_sessions WHERE id = ?", [hash_token(session_id)])


def end_user_sessions(db: sqlite_utils.Database, user_id: int, keep: str | None = None) -> int:
    """End every session of user_id except `keep`; return how many ended (joins the caller's transaction)."""
    cursor = db.execute(
        "DELETE FROM dashboard_sessions WHERE user_id = ? AND id != ?",
        [user_id, hash_token(keep) if keep else ""],
    )
    return cursor.rowcount


def count_user_sessions(db: sqlite_utils.Database, user_id: int, idle_seconds: float) -> int:
    """How many live sessions user_id has."""
    return db.execute(
        "SELECT count(*) FROM dashboard_sessions WHERE user_id = ? AND last_seen_at >= ?",
        [user_id, iso_ago(idle_seconds)],
    ).fetchone()[0]
