"""Account API keys: created, listed, revoked; only their SHA-256 is stored, like instance tokens."""

import secrets

import sqlite_utils

from megamsg.clock import now_iso
from megamsg.store.db import first_row
from megamsg.store.instances import hash_token

# A fixed prefix lets secret scanners (GitHub's, gitleaks, …) recognise a leaked key.
PREFIX = "mmk_"
SHOWN_PREFIX_LENGTH = len(PREFIX) + 8
READ, WRITE = "instances:read", "instances:write"
SCOPES = (READ, WRITE)
MAX_NAME = 100


class ApiKeyError(ValueError):
    """A key could not be created or changed (the message is safe to show)."""


def new_key() -> str:
    """A fresh key: the prefix and 43 URL-safe characters (256 random bits)."""
    return PREFIX + secrets.token_urlsafe(32)


def looks_like_key(value: str) -> bool:
    """Whether value has a key's shape (so an instance token is not even looked up)."""
    return value.startswith(PREFIX) and 20 <= len(value) <= 100


def create_key(db: sqlite_utils.Database, user_id: int, name: str, scopes: list[str]) -> tuple[dict, str]:
    """Create a key for the user; return (row, clear key). The key itself is not stored."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ApiKeyError(f"Name must be 1 to {MAX_NAME} characters.")
    if not scopes or any(scope not in SCOPES for scope in scopes):
        raise ApiKeyError(f"Choose what the key may do: scopes among {', '.join(SCOPES)}.")
    key = new_key()
    row = {
        "user_id": user_id,
        "name": name,
        "prefix": key[:SHOWN_PREFIX_LENGTH],
        "key_hash": hash_token(key),
        "scopes": " ".join(scope for scope in SCOPES if scope in scopes),
        "created_at": now_iso(),
        "last_used_at": None,
        "last_used_address": None,
        "revoked_at": None,
    }
    table = db.table("api_keys")
    table.insert(row)
    return {"id": table.last_pk, **row}, key


def list_keys(db: sqlite_utils.Database, user_id: int) -> list[dict]:
    """The user's keys, newest first, revoked ones included."""
    return [
        dict(row) for row in db.query("SELECT * FROM api_keys WHERE user_id = ? ORDER BY id DESC", [user_id])
    ]


def user_key(db: sqlite_utils.Database, user_id: int, key_id: int) -> dict | None:
    """One of the user's keys, or None."""
    return first_row(db, "SELECT * FROM api_keys WHERE id = ? AND user_id = ?", [key_id, user_id])


def revoke_key(db: sqlite_utils.Database, user_id: int, key_id: int) -> bool:
    """Revoke one of the user's keys at once; False if it was not theirs or already revoked."""
    cursor = db.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        [now_iso(), key_id, user_id],
    )
    return cursor.rowcount == 1


def active_key(db: sqlite_utils.Database, clear: str) -> dict | None:
    """The live key (with its user's email and admin flag) for a clear key, or None.

    Refused: unknown, revoked, and keys of a disabled user.
    """
    if not looks_like_key(clear):
        return None
    return first_row(
        db,
        "SELECT api_keys.*, users.email AS user_email, users.is_admin AS user_is_admin"
        " FROM api_keys JOIN users ON users.id = api_keys.user_id"
        " WHERE api_keys.key_hash = ? AND api_keys.revoked_at IS NULL AND users.disabled_at IS NULL",
        [hash_token(clear)],
    )


def key_scopes(key: dict) -> set[str]:
    """The key's scopes."""
    return set(str(key["scopes"]).split())
