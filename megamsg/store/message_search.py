"""The dashboard's view of the message log: filtered, cursor-paginated pages and a message's webhook events."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from megamsg.store import webhook_events

LIKE_ESCAPE = "\\"
CLOCK_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class MessageFilter:
    """Checked filter values (None means "any")."""

    direction: str | None = None
    status: str | None = None
    type: str | None = None
    peer: str | None = None  # E.164, as stored in messages.peer
    text: str | None = None  # a substring of the text, caption or file name (case-insensitive)


@dataclass
class Page:
    """One page of messages, newest first, and what lies either side of it."""

    rows: list[dict] = field(default_factory=list)
    has_older: bool = False
    has_newer: bool = False
    newer_is_first: bool = True  # the newer messages fit on one page: "Newer" leads to the first page


def like_pattern(text: str) -> str:
    """A LIKE pattern matching text anywhere, its own % and _ taken literally."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%")
    return "%" + escaped.replace("_", LIKE_ESCAPE + "_") + "%"


def _where(instance_id: str, filters: MessageFilter) -> tuple[str, list[Any]]:
    """The WHERE clause and its parameters; only fixed SQL fragments, every value a parameter."""
    clauses, params = ["instance_id = ?"], [instance_id]
    for column, value in (
        ("direction", filters.direction),
        ("status", filters.status),
        ("type", filters.type),
        ("peer", filters.peer),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if filters.text:
        # SQLite's LIKE ignores case (for ASCII letters); the escape keeps a searched % or _ literal.
        clauses.append(
            "(coalesce(text, '') LIKE ? ESCAPE '\\' OR coalesce(caption, '') LIKE ? ESCAPE '\\'"
            " OR coalesce(file_name, '') LIKE ? ESCAPE '\\')"
        )
        params.extend([like_pattern(filters.text)] * 3)
    return " AND ".join(clauses), params


def _select(
    db: sqlite_utils.Database,
    instance_id: str,
    filters: MessageFilter,
    cursor: str,
    value: int | None,
    limit: int,
) -> list[dict]:
    """Rows past the cursor: "before" walks down from value (newest first), "after" up (oldest first)."""
    where, params = _where(instance_id, filters)
    if value is not None:
        where += " AND seq < ?" if cursor == "before" else " AND seq > ?"
        params.append(value)
    order = "DESC" if cursor == "before" else "ASC"
    params.append(limit)
    return [
        dict(row)
        for row in db.query(f"SELECT * FROM messages WHERE {where} ORDER BY seq {order} LIMIT ?", params)
    ]


def search_page(
    db: sqlite_utils.Database,
    instance_id: str,
    filters: MessageFilter,
    limit: int,
    before: int | None = None,
    after: int | None = None,
) -> Page:
    """A page of matching messages, newest first: the newest, those older than before, or those just newer than after."""
    if after is not None:
        upward = _select(db, instance_id, filters, "after", after, 2 * limit + 1)
        rows, newer = upward[:limit][::-1], upward[limit:]
        has_older = bool(_select(db, instance_id, filters, "before", after + 1, 1))
    else:
        downward = _select(db, instance_id, filters, "before", before, limit + 1)
        rows, has_older = downward[:limit], len(downward) > limit
        newer = [] if before is None else _select(db, instance_id, filters, "after", before - 1, limit + 1)
    return Page(rows, has_older=has_older, has_newer=bool(newer), newer_is_first=len(newer) <= limit)


def newer_than(
    db: sqlite_utils.Database, instance_id: str, filters: MessageFilter, after: int, limit: int
) -> list[dict]:
    """Matching messages with seq above after, oldest first (what a live page has not shown yet)."""
    return _select(db, instance_id, filters, "after", after, limit)


def by_ids(db: sqlite_utils.Database, instance_id: str, message_ids: list[str]) -> list[dict]:
    """Those of the given messages that belong to the instance (in no particular order)."""
    if not message_ids:
        return []
    marks = ", ".join("?" for _ in message_ids)
    return [
        dict(row)
        for row in db.query(
            f"SELECT * FROM messages WHERE instance_id = ? AND id IN ({marks})", [instance_id, *message_ids]
        )
    ]


def message_events(db: sqlite_utils.Database, message: dict) -> list[dict]:
    """The webhook events about this message (its incoming message event or its status events), oldest first, each with its attempts."""
    if message["direction"] == "in":
        kind, path, value = "message", "$.message.id", message["wa_id"]
    else:
        kind, path, value = "status", "$.status.id", message["id"]
    # Events are recorded after their message: created_at narrows the scan to the (instance_id, created_at)
    # index, with an hour's margin for the clocks of web and workers on different machines.
    since = (datetime.fromisoformat(message["created_at"]) - CLOCK_MARGIN).isoformat(timespec="seconds")
    events = [
        dict(row)
        for row in db.query(
            "SELECT id, kind, status, attempts, last_status_code, last_error, created_at, updated_at,"
            " json_extract(payload, '$.status.status') AS message_status"
            " FROM webhook_events WHERE instance_id = ? AND created_at >= ? AND kind = ?"
            " AND json_extract(payload, ?) = ? ORDER BY created_at, rowid",
            [message["instance_id"], since, kind, path, value],
        )
    ]
    for event in events:
        event["attempts_list"] = webhook_events.list_attempts(db, event["id"])
    return events
