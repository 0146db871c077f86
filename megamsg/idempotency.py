"""Idempotency-Key: the same key on the same instance within 24 h returns the first answer."""

import hashlib
import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from megamsg.db import now_iso
from megamsg.errors import ApiError

WINDOW = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def request_fingerprint(body: dict[str, Any]) -> str:
    """Hash of the parsed body, so key reuse with a different request is caught."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _expired(created_at: str) -> bool:
    return datetime.fromisoformat(created_at) < datetime.now(UTC) - WINDOW


def _row(db: sqlite_utils.Database, instance_id: str, key: str) -> dict | None:
    rows = list(db["idempotency_keys"].rows_where("instance_id = ? AND key = ?", [instance_id, key]))
    return rows[0] if rows else None


def begin(
    db: sqlite_utils.Database, instance_id: str, key: str, fingerprint: str, wait_seconds: float
) -> tuple[int, dict] | None:
    """Claim the key (None: go ahead) or return the first request's (status, body)."""
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(422, f"Idempotency-Key must be at most {MAX_KEY_LENGTH} printable characters.")
    existing = _row(db, instance_id, key)
    if existing and _expired(existing["created_at"]):
        db.execute("DELETE FROM idempotency_keys WHERE instance_id = ? AND key = ?", [instance_id, key])
        db.conn.commit()
    try:
        with db.conn:
            db.execute(
                "INSERT INTO idempotency_keys (instance_id, key, request_hash, created_at) VALUES (?, ?, ?, ?)",
                [instance_id, key, fingerprint, now_iso()],
            )
        return None
    except sqlite3.IntegrityError:
        pass  # someone holds the key: answer with their result
    deadline = time.monotonic() + wait_seconds
    while True:
        row = _row(db, instance_id, key)
        if row is None:  # the first request was abandoned (nothing was sent): try again
            return begin(db, instance_id, key, fingerprint, max(0.0, deadline - time.monotonic()))
        if row["request_hash"] != fingerprint:
            raise ApiError(422, "Idempotency-Key was already used with a different request body.")
        if row["status_code"] is not None:
            return row["status_code"], json.loads(row["response"])
        if time.monotonic() > deadline:
            raise ApiError(409, "A request with this Idempotency-Key is still in progress; retry later.")
        time.sleep(0.05)


def finish(
    db: sqlite_utils.Database, instance_id: str, key: str, status: int, body: dict, message_id: str | None
):
    """Store the answer every later request with this key gets."""
    with db.conn:
        db.execute(
            "UPDATE idempotency_keys SET status_code = ?, response = ?, message_id = ? WHERE instance_id = ? AND key = ?",
            [status, json.dumps(body), message_id, instance_id, key],
        )


def abandon(db: sqlite_utils.Database, instance_id: str, key: str) -> None:
    """Release the key: nothing was sent, so a retry may really try again."""
    with db.conn:
        db.execute(
            "DELETE FROM idempotency_keys WHERE instance_id = ? AND key = ? AND status_code IS NULL",
            [instance_id, key],
        )
