"""Instances (one linked WhatsApp number each) and their API credentials."""

import hashlib
import hmac
import secrets

import sqlite_utils

from megamsg.clock import now_iso
from megamsg.ids import new_instance_id
from megamsg.signing import new_secret
from megamsg.store.db import first_row, immediate

TOKEN_BYTES = 32  # 64 hex characters, as the contract promises


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token (only the hash is stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh 64-character API token."""
    return secrets.token_hex(TOKEN_BYTES)


def create_instance(
    db: sqlite_utils.Database, owner_id: int, name: str, webhook_url: str | None = None
) -> tuple[dict, str]:
    """Create an instance (webhook_url already validated); return (row, clear token). The token is not stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValueError("Name must be 1 to 100 characters.")
    token = new_token()
    row = {
        "id": new_instance_id(),
        "owner_id": owner_id,
        "name": name,
        "token_hash": hash_token(token),
        "token_rotated_at": now_iso(),
        "webhook_url": webhook_url,
        "webhook_secret": new_secret(),
        "webhook_events": None,
        "created_at": now_iso(),
    }
    db.table("instances").insert(row)
    return row, token


def get_instance(db: sqlite_utils.Database, instance_id: str) -> dict | None:
    """The instance with that id, or None."""
    return first_row(db, "SELECT * FROM instances WHERE id = ?", [instance_id])


def visible_instance(db: sqlite_utils.Database, user: dict, instance_id: str) -> dict | None:
    """The instance if this user may see it (owner or admin), else None."""
    instance = get_instance(db, instance_id)
    if instance is None:
        return None
    if user["is_admin"] or instance["owner_id"] == user["id"]:
        return instance
    return None


def list_instances(db: sqlite_utils.Database, user: dict | None = None) -> list[dict]:
    """Instances visible to user (all when user is None or an admin), newest first."""
    sql = "SELECT instances.*, users.email AS owner_email FROM instances JOIN users ON users.id = instances.owner_id"
    params: list = []
    if user is not None and not user["is_admin"]:
        sql += " WHERE owner_id = ?"
        params.append(user["id"])
    sql += " ORDER BY instances.created_at DESC, instances.rowid DESC"
    return [dict(row) for row in db.query(sql, params)]


def rotate_token(db: sqlite_utils.Database, instance_id: str) -> str:
    """Replace the instance's token; return the new clear token."""
    token = new_token()
    db.table("instances").update(
        instance_id, {"token_hash": hash_token(token), "token_rotated_at": now_iso()}
    )
    return token


def delete_instance(db: sqlite_utils.Database, instance_id: str) -> None:
    """Delete the instance and everything stored for it, all or nothing."""
    with immediate(db):
        db.execute(
            "DELETE FROM message_status WHERE message_id IN (SELECT id FROM messages WHERE instance_id = ?)",
            [instance_id],
        )
        db.execute("DELETE FROM messages WHERE instance_id = ?", [instance_id])
        db.execute("DELETE FROM idempotency_keys WHERE instance_id = ?", [instance_id])
        db.execute(
            "DELETE FROM webhook_deliveries WHERE event_id IN (SELECT id FROM webhook_events WHERE instance_id = ?)",
            [instance_id],
        )
        db.execute("DELETE FROM webhook_events WHERE instance_id = ?", [instance_id])
        db.execute("DELETE FROM instances WHERE id = ?", [instance_id])


def check_credentials(db: sqlite_utils.Database, instance_id: str, token: str) -> dict | None:
    """The instance if token is its current token (constant-time compare), else None."""
    instance = get_instance(db, instance_id) if instance_id else None
    expected = instance["token_hash"] if instance else hash_token(secrets.token_hex(8))
    ok = hmac.compare_digest(expected, hash_token(token or ""))
    return instance if (ok and instance is not None) else None


def set_pacing(db: sqlite_utils.Database, instance_id: str, fields: dict[str, int | None]) -> dict:
    """Set min_interval_ms and/or jitter_ms (None: the configured default); return the updated row."""
    allowed = {name: fields[name] for name in ("min_interval_ms", "jitter_ms") if name in fields}
    if allowed:
        assignments = ", ".join(f"[{name}] = ?" for name in allowed)
        with immediate(db):
            db.execute(f"UPDATE instances SET {assignments} WHERE id = ?", [*allowed.values(), instance_id])
    row = get_instance(db, instance_id)
    if row is None:
        raise LookupError(instance_id)
    return row
