"""Instances a user may see, a page at a time (the account API's list), newest first."""

import sqlite_utils


def instance_page(
    db: sqlite_utils.Database, user: dict, limit: int, before: int | None
) -> tuple[list[dict], int | None]:
    """Up to limit instances (all for admins, else the user's) before the cursor; (rows, next cursor or None)."""
    where, params = [], []
    if not user["is_admin"]:
        where.append("owner_id = ?")
        params.append(user["id"])
    if before is not None:
        where.append("rowid < ?")
        params.append(before)
    sql = (
        "SELECT rowid AS cursor, * FROM instances"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY rowid DESC LIMIT ?"
    )
    rows = [dict(row) for row in db.query(sql, [*params, limit + 1])]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["cursor"] if more and rows else None)
