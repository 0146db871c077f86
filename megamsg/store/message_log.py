"""The message log: every message in both directions with its status history."""

import sqlite3
from typing import Any

import sqlite_utils

from megamsg.clock import now_iso
from megamsg.ids import new_message_id
from megamsg.store.db import first_row, immediate, insert_row

STATUS_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4, "played": 5}
FINAL = {"sent", "delivered", "read", "played", "failed", "cancelled"}


def _next_seq(db: sqlite_utils.Database, instance_id: str) -> int:
    row = db.execute(
        "SELECT coalesce(max(seq), 0) + 1 FROM messages WHERE instance_id = ?", [instance_id]
    ).fetchone()
    return row[0]


def _insert(db: sqlite_utils.Database, instance_id: str, direction: str, status: str, fields: dict) -> dict:
    now = now_iso()
    row = {
        "instance_id": instance_id,
        "direction": direction,
        "status": status,
        "created_at": now,
        "updated_at": now,
        **fields,
        "id": fields.get("id") or new_message_id(),
    }
    with immediate(db):
        row["seq"] = _next_seq(db, instance_id)
        insert_row(db, "messages", row)
        insert_row(
            db, "message_status", {"message_id": row["id"], "status": status, "error": None, "at": now}
        )
    return row


def create_outgoing(
    db: sqlite_utils.Database, instance_id: str, fields: dict[str, Any], status: str = "queued"
) -> dict:
    """Record an outgoing message as queued (or scheduled); return the row."""
    return _insert(db, instance_id, "out", status, fields)


def record_incoming(db: sqlite_utils.Database, instance_id: str, fields: dict[str, Any]) -> tuple[dict, bool]:
    """Store an incoming message once per WhatsApp id; return (row, created)."""
    try:
        return _insert(db, instance_id, "in", "received", fields), True
    except sqlite3.IntegrityError:
        # The unique (instance_id, wa_id) index for incoming rows: we have it already.
        existing = db.execute(
            "SELECT id FROM messages WHERE instance_id = ? AND wa_id = ? AND direction = 'in'",
            [instance_id, fields["wa_id"]],
        ).fetchone()
        row = get_message(db, instance_id, existing[0]) if existing else None
        if row is None:
            raise  # the conflict was on something else: not ours to hide
        return row, False


def set_status(
    db: sqlite_utils.Database, message_id: str, status: str, error: str | None = None, **fields: Any
) -> bool:
    """Add a status to the history; the current status only moves forward. False if already recorded."""
    with immediate(db):
        row = db.execute("SELECT status FROM messages WHERE id = ?", [message_id]).fetchone()
        if row is None:
            return False
        current = row[0]
        if current == "cancelled":
            return False  # a cancelled message never left: nothing later applies to it
        now = now_iso()
        # The unique (message_id, status) index makes "first writer wins" hold across processes.
        added = db.execute(
            "INSERT OR IGNORE INTO message_status (message_id, status, error, at) VALUES (?, ?, ?, ?)",
            [message_id, status, error, now],
        ).rowcount
        if not added:
            return False
        update: dict[str, Any] = {"updated_at": now, **fields}
        if status == "failed":
            if current not in ("sent", "delivered", "read", "played"):
                update.update(status="failed", error=error)
        elif current == "failed" or STATUS_RANK.get(status, -1) > STATUS_RANK.get(current, -1):
            update.update(status=status, error=None)
        assignments = ", ".join(f"[{name}] = ?" for name in update)
        db.execute(f"UPDATE messages SET {assignments} WHERE id = ?", [*update.values(), message_id])
    return True


def get_message(db: sqlite_utils.Database, instance_id: str, message_id: str) -> dict | None:
    """A message of this instance by MegaMsg id or WhatsApp id."""
    return first_row(
        db,
        "SELECT * FROM messages WHERE instance_id = ? AND (id = ? OR wa_id = ?) ORDER BY seq LIMIT 1",
        [instance_id, message_id, message_id],
    )


def history(db: sqlite_utils.Database, message_id: str) -> list[dict]:
    """Status history, oldest first."""
    return [
        {"status": status, "error": error, "at": at}
        for status, error, at in db.execute(
            "SELECT status, error, at FROM message_status WHERE message_id = ? ORDER BY id", [message_id]
        )
    ]


def list_messages(
    db: sqlite_utils.Database,
    instance_id: str,
    limit: int,
    before: int | None,
    direction: str | None,
    status: str | None = None,
) -> list[dict]:
    """Newest first, cursor-paginated by seq."""
    sql = "SELECT * FROM messages WHERE instance_id = ?"
    params: list[Any] = [instance_id]
    if before is not None:
        sql += " AND seq < ?"
        params.append(before)
    if direction:
        sql += " AND direction = ?"
        params.append(direction)
    if status:
        sql += " AND status = ?"
        params.append(status)
    sql += " ORDER BY seq DESC LIMIT ?"
    params.append(limit)
    return [dict(row) for row in db.query(sql, params)]


def find_outgoing_by_wa_id(db: sqlite_utils.Database, instance_id: str, wa_id: str) -> dict | None:
    """The outgoing message WhatsApp knows by wa_id."""
    return first_row(
        db,
        "SELECT * FROM messages WHERE instance_id = ? AND direction = 'out' AND wa_id = ?",
        [instance_id, wa_id],
    )


def set_media_path(db: sqlite_utils.Database, message_id: str, path: str) -> None:
    """Note where an incoming message's media was stored."""
    db.execute("UPDATE messages SET media_path = ? WHERE id = ?", [path, message_id])
