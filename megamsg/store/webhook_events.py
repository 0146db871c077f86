"""Stored webhook events (`webhook_events`) and every delivery attempt (`webhook_deliveries`).

An event's id is its `webhook-id` and its stored JSON the exact body sent on every attempt.
Statuses: pending (an attempt is queued or waiting for its backoff), delivering, delivered (2xx),
failed, stopped (410 Gone), skipped (no URL, or kind not selected).
"""

import json

import sqlite_utils

from megamsg.clock import iso_ago, now_iso
from megamsg.ids import new_event_id
from megamsg.store.db import first_row, immediate

IN_PROGRESS = ("pending", "delivering")


def insert_event(
    db: sqlite_utils.Database, instance_id: str, kind: str, body: dict, status: str, reason: str | None
) -> str:
    """Store a new event and commit; return its id."""
    event_id = new_event_id()
    now = now_iso()
    db.execute(
        "INSERT INTO webhook_events (id, instance_id, kind, payload, status, attempts, last_status_code,"
        " last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, NULL, ?, ?, ?)",
        [
            event_id,
            instance_id,
            kind,
            json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            status,
            reason,
            now,
            now,
        ],
    )
    return event_id


def get_event(db: sqlite_utils.Database, event_id: str, instance_id: str | None = None) -> dict | None:
    """The stored event (of that instance, when given), or None."""
    sql, params = "SELECT * FROM webhook_events WHERE id = ?", [event_id]
    if instance_id is not None:
        sql += " AND instance_id = ?"
        params.append(instance_id)
    return first_row(db, sql, params)


def list_events(
    db: sqlite_utils.Database,
    instance_id: str,
    limit: int = 25,
    offset: int = 0,
    include_skipped: bool = True,
) -> list[dict]:
    """The instance's events, newest first (without the skipped ones unless include_skipped)."""
    skip = "" if include_skipped else " AND status != 'skipped'"
    return [
        dict(row)
        for row in db.query(
            "SELECT id, kind, status, attempts, last_status_code, last_error, created_at, updated_at"
            f" FROM webhook_events WHERE instance_id = ?{skip}"
            " ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            [instance_id, limit, offset],
        )
    ]


def count_skipped(db: sqlite_utils.Database, instance_id: str) -> int:
    """How many of the instance's events were recorded but never to be sent."""
    row = db.execute(
        "SELECT COUNT(*) FROM webhook_events WHERE instance_id = ? AND status = 'skipped'", [instance_id]
    ).fetchone()
    return int(row[0])


def events_by_id(db: sqlite_utils.Database, instance_id: str, event_ids: list[str]) -> list[dict]:
    """Those of the given events that belong to the instance (in no particular order)."""
    if not event_ids:
        return []
    marks = ", ".join("?" for _ in event_ids)
    return [
        dict(row)
        for row in db.query(
            "SELECT id, kind, status, attempts, last_status_code, last_error, created_at, updated_at"
            f" FROM webhook_events WHERE instance_id = ? AND id IN ({marks})",
            [instance_id, *event_ids],
        )
    ]


def list_attempts(db: sqlite_utils.Database, event_id: str) -> list[dict]:
    """Every recorded attempt of the event, oldest first."""
    return [
        dict(row)
        for row in db.query("SELECT * FROM webhook_deliveries WHERE event_id = ? ORDER BY id", [event_id])
    ]


def claim(db: sqlite_utils.Database, event_id: str, stale_after: float) -> bool:
    """Atomically move the event to `delivering` (or take over a claim older than stale_after)."""
    cursor = db.execute(
        "UPDATE webhook_events SET status = 'delivering', updated_at = ? WHERE id = ?"
        " AND (status = 'pending' OR (status = 'delivering' AND updated_at < ?))",
        [now_iso(), event_id, iso_ago(stale_after)],
    )
    return cursor.rowcount == 1


def restart(db: sqlite_utils.Database, event: dict) -> bool:
    """Start a fresh round (pending, 0 attempts) unless the event changed since it was read."""
    # Compare-and-set: two clicks at once start one round, not two.
    cursor = db.execute(
        "UPDATE webhook_events SET status = 'pending', attempts = 0, last_error = NULL, updated_at = ?"
        " WHERE id = ? AND status = ? AND updated_at = ?",
        [now_iso(), event["id"], event["status"], event["updated_at"]],
    )
    return cursor.rowcount == 1


def finish(db: sqlite_utils.Database, event_id: str, status: str, error: str | None) -> None:
    """End the event without an attempt (nothing was sent)."""
    db.execute(
        "UPDATE webhook_events SET status = ?, last_error = ?, updated_at = ? WHERE id = ?",
        [status, error, now_iso(), event_id],
    )


def record_attempt(
    db: sqlite_utils.Database,
    event_id: str,
    number: int,
    url: str,
    status: str,
    *,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    excerpt: str | None,
) -> None:
    """Log one attempt and move the event to its new status, in one transaction."""
    now = now_iso()
    with immediate(db):
        db.execute(
            "INSERT INTO webhook_deliveries (event_id, attempt, url, status_code, error, duration_ms,"
            " response_excerpt, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                event_id,
                number,
                url,
                status_code,
                error,
                duration_ms,
                excerpt,
                now,
            ],
        )
        db.execute(
            "UPDATE webhook_events SET status = ?, attempts = ?, last_status_code = ?, last_error = ?,"
            " updated_at = ? WHERE id = ?",
            [status, number, status_code, error, now, event_id],
        )


def stale_pending(db: sqlite_utils.Database, older_than: float) -> list[tuple[str, str]]:
    """(event id, instance id) of events pending without change for older_than seconds."""
    return [
        (row[0], row[1])
        for row in db.execute(
            "SELECT id, instance_id FROM webhook_events WHERE status = 'pending' AND updated_at < ?",
            [iso_ago(older_than)],
        ).fetchall()
    ]


def unattempted_message_event(db: sqlite_utils.Database, instance_id: str, wa_id: str) -> str | None:
    """The id of this incoming message's event if it is pending and was never attempted."""
    row = db.execute(
        "SELECT id FROM webhook_events WHERE instance_id = ? AND kind = 'message'"
        " AND json_extract(payload, '$.message.id') = ? AND status = 'pending' AND coalesce(attempts, 0) = 0",
        [instance_id, wa_id],
    ).fetchone()
    return str(row[0]) if row else None


def published_message(db: sqlite_utils.Database, instance_id: str, wa_id: str) -> bool:
    """Whether a message event for this incoming WhatsApp message was already recorded."""
    return bool(
        db.execute(
            "SELECT 1 FROM webhook_events WHERE instance_id = ? AND kind = 'message'"
            " AND json_extract(payload, '$.message.id') = ?",
            [instance_id, wa_id],
        ).fetchone()
    )
