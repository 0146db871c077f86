"""Idempotency-Key: the same key on the same instance within 24 h returns the first answer."""

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from megamsg.clock import now_iso
from megamsg.errors import ApiError
from megamsg.store.db import first_row

WINDOW = timedelta(hours=24)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    """The answer an earlier request with the same key gave (or would give)."""

    status: int
    body: dict


class ClaimLost(ApiError):
    """A retry took the key over while this request was still running: this one must not send."""

    def __init__(self) -> None:
        super().__init__(
            409,
            "A retry with this Idempotency-Key took over while this request was still preparing it; "
            "this request sent nothing.",
        )


def request_fingerprint(body: dict[str, Any]) -> str:
    """Hash of the parsed body, so key reuse with a different request is caught."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _row(db: sqlite_utils.Database, instance_id: str, key: str) -> dict | None:
    return first_row(
        db, "SELECT * FROM idempotency_keys WHERE instance_id = ? AND key = ?", [instance_id, key]
    )


def _older_than(created_at: str, seconds: float) -> bool:
    return datetime.fromisoformat(created_at) < datetime.now(UTC) - timedelta(seconds=seconds)


def _drop(db: sqlite_utils.Database, row: dict) -> None:
    # Guarded by created_at so two requests can never delete each other's fresh claim.
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
) -> str | Replay:
    """Claim the key (returns a claim token: go ahead) or return the first request's answer."""
    # A claim older than stale_after whose request never answered was cut short (process
    # restart): if it had queued a message, the message's state is the answer; otherwise
    # nothing was sent and this request takes the key over. The token guards attach, finish
    # and abandon, so a request whose claim was taken over can neither send nor clobber it.
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(422, f"Idempotency-Key must be at most {MAX_KEY_LENGTH} printable characters.")
    existing = _row(db, instance_id, key)
    if existing and _older_than(existing["created_at"], WINDOW.total_seconds()):
        _drop(db, existing)
    claim = now_iso()
    try:
        db.execute(
            "INSERT INTO idempotency_keys (instance_id, key, request_hash, created_at) VALUES (?, ?, ?, ?)",
            [instance_id, key, fingerprint, claim],
        )
        return claim
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
            return Replay(row["status_code"], json.loads(row["response"]))
        if _older_than(row["created_at"], stale_after):
            if row["message_id"]:
                return Replay(*_answer_from_message(db, row))
            _drop(db, row)
            continue
        if time.monotonic() > deadline:
            raise ApiError(409, "A request with this Idempotency-Key is still in progress; retry later.")
        time.sleep(0.05)


def finish(
    db: sqlite_utils.Database,
    instance_id: str,
    key: str,
    claim: str,
    status: int,
    body: dict,
    message_id: str | None,
) -> None:
    """Store the answer every later request with this key gets."""
    db.execute(
        "UPDATE idempotency_keys SET status_code = ?, response = ?, message_id = ? "
        "WHERE instance_id = ? AND key = ? AND created_at = ?",
        [status, json.dumps(body), message_id, instance_id, key, claim],
    )


def attach_message(
    db: sqlite_utils.Database, instance_id: str, key: str, claim: str, message_id: str
) -> None:
    """Note the message about to be queued on the claim; ClaimLost if a retry took the key over."""
    cursor = db.execute(
        "UPDATE idempotency_keys SET message_id = ? "
        "WHERE instance_id = ? AND key = ? AND created_at = ? AND message_id IS NULL",
        [message_id, instance_id, key, claim],
    )
    if cursor.rowcount != 1:
        raise ClaimLost()


def abandon(db: sqlite_utils.Database, instance_id: str, key: str, claim: str) -> None:
    """Release this request's claim: nothing was sent, so a retry may really try again."""
    db.execute(
        "DELETE FROM idempotency_keys "
        "WHERE instance_id = ? AND key = ? AND created_at = ? AND status_code IS NULL",
        [instance_id, key, claim],
    )
