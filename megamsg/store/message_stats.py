"""Message counts per instance for the instances overview."""

from datetime import UTC, datetime

import sqlite_utils

# Outgoing messages WhatsApp accepted; queued, failed and cancelled ones were not sent.
SENT_STATUSES = ("sent", "delivered", "read", "played")
DAY_BOUNDARY = "since midnight UTC"


def midnight_utc(now: datetime | None = None) -> str:
    """Today's 00:00 UTC in the stored created_at form (ISO 8601, +00:00), so the two compare as text."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).isoformat(timespec="seconds")


def counts_since(db: sqlite_utils.Database, instance_ids: list[str], since: str) -> dict[str, dict[str, int]]:
    """{instance_id: {"sent": n, "received": n}} for messages created at or after since."""
    counts = {instance_id: {"sent": 0, "received": 0} for instance_id in instance_ids}
    if not instance_ids:
        return counts
    marks = ", ".join("?" for _ in instance_ids)
    sent = ", ".join("?" for _ in SENT_STATUSES)
    rows = db.execute(
        f"SELECT instance_id, direction, count(*) FROM messages"
        f" WHERE instance_id IN ({marks}) AND created_at >= ?"
        f" AND (direction = 'in' OR status IN ({sent}))"
        f" GROUP BY instance_id, direction",
        [*instance_ids, since, *SENT_STATUSES],
    ).fetchall()
    for instance_id, direction, count in rows:
        counts[instance_id]["sent" if direction == "out" else "received"] = count
    return counts
