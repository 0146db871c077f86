"""Scheduled and cancellable outgoing messages: the due list, the move to queued, cancellation."""

import sqlite_utils

from megamsg.clock import now_iso
from megamsg.store.db import immediate

CANCELLABLE = ("scheduled", "queued")


def due(db: sqlite_utils.Database, now: str, limit: int = 200) -> list[dict]:
    """Scheduled messages whose send_at has come (now in the same form as send_at), earliest first."""
    return [
        dict(row)
        for row in db.query(
            "SELECT * FROM messages WHERE status = 'scheduled' AND send_at <= ? ORDER BY send_at, seq LIMIT ?",
            [now, limit],
        )
    ]


def _move(
    db: sqlite_utils.Database, message_id: str, to: str, allowed: tuple[str, ...], **fields: str
) -> bool:
    """Change the status (and fields) only from an allowed one, with its history row, in one transaction."""
    now = now_iso()
    marks = ", ".join("?" for _ in allowed)
    assignments = "".join(f", [{name}] = ?" for name in fields)
    with immediate(db):
        changed = db.execute(
            f"UPDATE messages SET status = ?, updated_at = ?{assignments} WHERE id = ? AND status IN ({marks})",
            [to, now, *fields.values(), message_id, *allowed],
        ).rowcount
        if changed:
            db.execute(
                "INSERT OR IGNORE INTO message_status (message_id, status, error, at) VALUES (?, ?, NULL, ?)",
                [message_id, to, now],
            )
    return bool(changed)


def mark_queued(db: sqlite_utils.Database, message_id: str, due_at: str) -> bool:
    """A due scheduled message is now on its queue; False if it no longer was scheduled."""
    return _move(db, message_id, "queued", ("scheduled",), due_at=due_at)


def mark_cancelled(db: sqlite_utils.Database, message_id: str) -> bool:
    """Cancel a scheduled or queued message; False if it had moved on."""
    return _move(db, message_id, "cancelled", CANCELLABLE)


def count_scheduled(db: sqlite_utils.Database, instance_id: str) -> int:
    """How many of the instance's messages wait for their send_at."""
    row = db.execute(
        "SELECT count(*) FROM messages WHERE instance_id = ? AND status = 'scheduled'", [instance_id]
    ).fetchone()
    return int(row[0])
