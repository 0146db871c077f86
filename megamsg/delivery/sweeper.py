"""Periodic repair: no message stays queued forever, no stored webhook event waits forever."""

import logging
from typing import Any

from megamsg.clock import iso_ago
from megamsg.delivery.outcomes import ASYNC_SEND_WINDOW, apply_send_result, cancel_if_not_started
from megamsg.store.db import connect
from megamsg.store.instances import get_instance
from megamsg.store.webhook_events import stale_pending

log = logging.getLogger(__name__)
# Longer than any send can legitimately take: the async window plus the send job's own timeout.
STUCK_MESSAGE_SECONDS = ASYNC_SEND_WINDOW + 600
STALE_EVENT_SECONDS = 2 * 3600


def finish_stuck_messages(config: dict[str, Any]) -> int:
    """End outgoing messages still queued long after any send could finish; return how many."""
    db = connect(config["DATABASE"])
    try:
        rows = db.execute(
            # A paced or scheduled message is due at due_at, which may be long after it was created.
            "SELECT id, instance_id FROM messages WHERE direction = 'out' AND status = 'queued' "
            "AND coalesce(due_at, created_at) < ?",
            [iso_ago(STUCK_MESSAGE_SECONDS)],
        ).fetchall()
        for message_id, instance_id in rows:
            instance = get_instance(db, instance_id)
            if instance is None:
                continue
            if cancel_if_not_started(config, message_id):
                error = "The WhatsApp session never picked the message up; it was not sent."
            else:
                error = (
                    "The WhatsApp session stopped while sending; delivery is unknown (no receipt arrived)."
                )
            apply_send_result(config, db, instance, message_id, {"ok": False, "error": error})
        return len(rows)
    finally:
        db.conn.close()


def requeue_stale_webhook_events(config: dict[str, Any]) -> int:
    """Queue again events left pending (e.g. the enqueue failed); the delivery claim prevents doubles."""
    from megamsg.delivery.webhooks import enqueue_delivery

    db = connect(config["DATABASE"])
    try:
        rows = stale_pending(db, STALE_EVENT_SECONDS)
    finally:
        db.conn.close()
    for event_id, instance_id in rows:
        enqueue_delivery(config, event_id, instance_id)
    return len(rows)


def sweep(config: dict[str, Any]) -> None:
    """Run every repair and log what was done."""
    finished = finish_stuck_messages(config)
    requeued = requeue_stale_webhook_events(config)
    if finished or requeued:
        log.warning("sweeper: ended %d stuck message(s), re-queued %d webhook event(s)", finished, requeued)
