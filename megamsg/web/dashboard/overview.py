"""The instances overview's rows: each instance's session in words and its message counts today."""

import time
from typing import Any

import sqlite_utils

from megamsg.session_state import read_state
from megamsg.store import message_stats
from megamsg.web.dashboard.status_words import describe

COUNTS_TITLE = f"Messages {message_stats.DAY_BOUNDARY}: sent counts those WhatsApp accepted, received those that arrived."


def overview_rows(config: dict[str, Any], db: sqlite_utils.Database, rows: list[dict]) -> list[dict]:
    """rows (instances) with their live state, its words and today's counts."""
    counts = message_stats.counts_since(db, [row["id"] for row in rows], message_stats.midnight_utc())
    now = time.time()
    result = []
    for row in rows:
        state = read_state(config, row["id"])
        result.append({**row, "state": state, "view": describe(state, now), **counts[row["id"]]})
    return result


def row_json(row: dict) -> dict[str, Any]:
    """What the live endpoint says of one instance."""
    state = row["state"]
    return {
        "id": row["id"],
        **row["view"].as_json(),
        "phone_number": state.get("phone_number") or "",
        "push_name": state.get("push_name") or "",
        "last_error": state.get("last_error") or "",
        "sent": row["sent"],
        "received": row["received"],
    }
