"""The one-time code that guards "create the first admin" on a fresh server."""

import hmac
import secrets

import sqlite_utils

from megamsg.store.accounts import user_count

KEY = "setup_code"


def ensure_setup_code(db: sqlite_utils.Database) -> str | None:
    """While no user exists, return the pending setup code (creating it once)."""
    if user_count(db):
        return None
    code = "-".join(secrets.token_hex(3).upper() for _ in range(3))
    # INSERT OR IGNORE: every gunicorn worker starting at once agrees on one code.
    db.execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", [KEY, code])
    return db.execute("SELECT value FROM settings WHERE key = ?", [KEY]).fetchone()[0]


def _normalise(code: str) -> str:
    return (code or "").strip().upper().replace(" ", "")


def code_matches(db: sqlite_utils.Database, code: str) -> bool:
    """True if code is the pending setup code (does not consume it)."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [KEY]).fetchone()
    return row is not None and hmac.compare_digest(row[0].encode(), _normalise(code).encode())


def check_and_consume(db: sqlite_utils.Database, code: str) -> bool:
    """True (and the code is gone) if code is the pending setup code."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [KEY]).fetchone()
    if row is None:
        return False
    given = _normalise(code)
    if not hmac.compare_digest(row[0].encode(), given.encode()):
        return False
    cursor = db.execute("DELETE FROM settings WHERE key = ? AND value = ?", [KEY, row[0]])
    return cursor.rowcount == 1
