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


def _older_than(created_at: str, seconds: float) -> bool:
    return datetime.fromisoformat(created_at) < datetime.now(UTC) - timedelta(seconds=seconds)


def _drop(db: sqlite_utils.Database, row: dict) -> None:
    # Guarded by created_at so two requests can never delete each other's fresh claim.
    with db.conn:
        db.execute(
            "DELETE FROM idempotency_keys WHERE instance_id = ? AND key = ? AND created_at = ?",
            [row["instance_id"], row["key"], row["created_at"]],
        )


def _answer_from_message(db: sqlite_utils.Database, row: dict) -> tuple[int, dict]:
    """The answer for a claim whose request died after queueing its message: the message's state."""
    message = db.execute(
        "SELECT id, peer, type, status, error FROM messages WHERE id = ?", [row["message_id"]]
    ).fetchone()
    if message is None:
        return 404, {"ok": False, "message": "The message for this Idempotency-Key no longer exists."}
    message_id, peer, kind, status, error = message
    if status == "failed":
        return 502, {
            "ok": False,
            "message": error or "The message failed.",
            "id": message_id,
            "status": "failed",
        }
    base = {"ok": True, "to": peer, "type": kind, "id": message_id}
    if status == "queued":
        return 202, {**base, "status": "queued"}
    return 200, {**base, "status": "sent"}


def begin(
    db: sqlite_utils.Database,
    instance_id: str,
    key: str,
    fingerprint: str,
    wait_seconds: float,
    stale_after: float,
) -> tuple[int, dict] | None:
    """Claim the key (None: go ahead) or return the first request's (status, body).

    A claim older than stale_after whose request never answered was cut short (process
    restart): if it had queued a message, the message's state is the answer; otherwise
    nothing was sent and this request takes the key over.
    """
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(422, f"Idempotency-Key must be at most {MAX_KEY_LENGTH} printable characters.")
    existing = _row(db, instance_id, key)
    if existing and _expired(existing["created_at"]):
        _drop(db, existing)
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
            return begin(
                db, instance_id, key, fingerprint, max(0.0, deadline - time.monotonic()), stale_after
            )
        if row["request_hash"] != fingerprint:
            raise ApiError(422, "Idempotency-Key was already used with a different request body.")
        if row["status_code"] is not None:
            return row["status_code"], json.loads(row["response"])
        if _older_than(row["created_at"], stale_after):
            if row["message_id"]:
                return _answer_from_message(db, row)
            _drop(db, row)
            continue
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


def attach_message(db: sqlite_utils.Database, instance_id: str, key: str, message_id: str) -> None:
    """Note the queued message on the claim, so a cut-short request can still be answered."""
    with db.conn:
        db.execute(
            "UPDATE idempotency_keys SET message_id = ? WHERE instance_id = ? AND key = ?",
            [message_id, instance_id, key],
        )


def abandon(db: sqlite_utils.Database, instance_id: str, key: str) -> None:
    """Release the key: nothing was sent, so a retry may really try again."""
    with db.conn:
        db.execute(
            "DELETE FROM idempotency_keys WHERE instance_id = ? AND key = ? AND status_code IS NULL",
            [instance_id, key],
        )
