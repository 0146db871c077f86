"""The audit log of account API calls: who (which key, whose), what, when, from which address."""

import sqlite_utils

from megamsg.clock import now_iso
from megamsg.store.db import immediate, insert_row

PAGE_SIZE = 50


def record_call(db: sqlite_utils.Database, key: dict, entry: dict) -> None:
    """Log one call made with key and note the key's last use, in one transaction."""
    at = now_iso()
    with immediate(db):
        db.execute(
            "UPDATE api_keys SET last_used_at = ?, last_used_address = ? WHERE id = ?",
            [at, entry.get("address"), key["id"]],
        )
        insert_row(db, "audit_log", {"api_key_id": key["id"], "user_id": key["user_id"], "at": at, **entry})


def list_entries(
    db: sqlite_utils.Database, user: dict, before: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[dict], int | None]:
    """Entries the user may see, newest first: calls with their keys or about their instances (admins: all).

    Returns (entries, the id to pass as before for the next page or None).
    """
    where, params = [], []
    if not user["is_admin"]:
        where.append("(audit_log.user_id = ? OR audit_log.owner_id = ?)")
        params += [user["id"], user["id"]]
    if before is not None:
        where.append("audit_log.id < ?")
        params.append(before)
    sql = (
        "SELECT audit_log.*, api_keys.name AS key_name, api_keys.prefix AS key_prefix, users.email AS user_email"
        " FROM audit_log JOIN api_keys ON api_keys.id = audit_log.api_key_id"
        " JOIN users ON users.id = audit_log.user_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY audit_log.id DESC LIMIT ?"
    )
    rows = [dict(row) for row in db.query(sql, [*params, limit + 1])]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["id"] if more and rows else None)
