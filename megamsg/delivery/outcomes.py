"""How an outgoing message ends: its send result recorded once, published as a status webhook.

Used by the web (the waiting send request), the events job (the runner's report) and the
sweeper; `expire_unsent` is the events worker's scheduled check for async sends.
"""

from typing import Any

import sqlite_utils

from megamsg import keys, metrics
from megamsg.clock import now_iso, unix_now
from megamsg.config import process_config
from megamsg.delivery.webhooks import publish
from megamsg.redis_conn import get_redis
from megamsg.store import message_log
from megamsg.store.db import connect
from megamsg.store.instances import get_instance

ASYNC_SEND_WINDOW = 300  # seconds an async message may wait for its session before it fails


def status_payload(row: dict, status: str, timestamp: int) -> dict[str, Any]:
    """The webhook body for a status change of a message we sent."""
    return {
        "type": "status",
        "status": {"id": row["id"], "to": row["peer"], "status": status, "timestamp": timestamp},
        "timestamp": now_iso(),
    }


def apply_send_result(
    config: dict[str, Any],
    db: sqlite_utils.Database,
    instance: dict,
    message_id: str,
    outcome: dict[str, Any],
) -> str:
    """Record a send's outcome once (web and events job may both report it) and publish it."""
    row = message_log.get_message(db, instance["id"], message_id)
    if row is None:
        return "ignored"
    if outcome.get("ok"):
        changed = message_log.set_status(db, row["id"], "sent", wa_id=outcome.get("wa_id"))
        status = "sent"
    else:
        changed = message_log.set_status(db, row["id"], "failed", error=outcome.get("error"))
        status = "failed"
    if changed:
        publish(db, config, instance, "status", status_payload(row, status, unix_now()))
        metrics.send_finished(instance["id"], row["type"], status)
    return status


def cancel_if_not_started(config: dict[str, Any], message_id: str) -> bool:
    """True if the send had not started and now never will."""
    return bool(get_redis(config).set(keys.send_claim(message_id), "cancelled", nx=True, ex=24 * 3600))


def expire_unsent(instance_id: str, message_id: str, window: int) -> str:
    """Scheduled job: fail an async message whose session never picked it up."""
    config = process_config()
    if not cancel_if_not_started(config, message_id):
        return "started"
    db = connect(config["DATABASE"])
    try:
        instance = get_instance(db, instance_id)
        if instance is None:
            return "instance gone"
        error = f"WhatsApp session did not pick the message up within {window} seconds; it was not sent."
        return apply_send_result(config, db, instance, message_id, {"ok": False, "error": error})
    finally:
        db.conn.close()
