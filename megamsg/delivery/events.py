"""The events job: persist what a runner reported, then hand it to webhook delivery.

Every event is stored in SQLite before any delivery is attempted. Safe to run twice:
incoming messages are unique per WhatsApp id, statuses per (message, status).
"""

import logging
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from megamsg import keys
from megamsg.clock import now_iso
from megamsg.config import process_config
from megamsg.delivery.outcomes import apply_send_result, status_payload
from megamsg.delivery.webhooks import enqueue_delivery, publish
from megamsg.queues import queue
from megamsg.redis_conn import as_bytes, get_redis
from megamsg.store import message_log
from megamsg.store.db import connect
from megamsg.store.instances import get_instance
from megamsg.store.webhook_events import published_message, unattempted_message_event

log = logging.getLogger(__name__)

# A receipt can overtake the result of its own send (an async send, or several events
# workers): look again a few times before deciding it is for a message we did not send.
RECEIPT_RECHECK_SECONDS = (2, 10, 30)

Handler = Callable[[dict[str, Any], sqlite_utils.Database, dict, dict[str, Any]], str]


def handle_event(instance_id: str, event: dict[str, Any]) -> str:
    """RQ job: dispatch one runner event; returns what was done (for the job log)."""
    config = process_config()
    db = connect(config["DATABASE"])
    try:
        instance = get_instance(db, instance_id)
        if instance is None:
            return "instance gone"
        handler = HANDLERS.get(event.get("kind", ""))
        if handler is None:
            log.warning("unknown event kind %r", event.get("kind"))
            return "ignored"
        return handler(config, db, instance, event)
    finally:
        db.conn.close()


def media_path(config: dict[str, Any], instance_id: str, message_id: str) -> Path:
    """Where an incoming message's media is kept."""
    return Path(config["DATA_DIR"]) / "media" / instance_id / message_id


def _store_media(config: dict[str, Any], instance_id: str, wa_id: str, message_id: str) -> str | None:
    client = get_redis(config)
    data = client.get(keys.incoming_media(instance_id, wa_id))
    if data is None:
        return None
    path = media_path(config, instance_id, message_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(as_bytes(data))
    os.replace(tmp, path)  # atomic: a reader never sees half a file
    client.delete(keys.incoming_media(instance_id, wa_id))
    return str(path)


def message_payload(row: dict, event: dict[str, Any]) -> dict[str, Any]:
    """The contract's webhook body for an incoming message."""
    message: dict[str, Any] = {
        "id": row["wa_id"],
        "from": event["from"],
        "push_name": event.get("push_name") or "",
        "text": event.get("text") or "",
        "timestamp": int(event["timestamp"]),
        "is_group": bool(event.get("is_group")),
        "type": event.get("type") or "text",
    }
    if event.get("is_group"):
        message["chat"] = event.get("chat")
        message["group_id"] = event.get("chat")  # the issue-13 name; chat stays for existing receivers
    if event.get("sender_lid"):
        message["sender_lid"] = event["sender_lid"]  # only when WhatsApp did not reveal the number
    if event.get("media"):
        media = event["media"]
        message["media"] = {
            "mime_type": media.get("mime_type"),
            "file_name": media.get("file_name"),
            "size": media.get("size"),
            "url": f"/api/whatsapp/media/{row['id']}" if row.get("media_path") else None,
        }
    return {"type": "message", "message": message, "timestamp": now_iso()}


def _incoming_message(
    config: dict[str, Any], db: sqlite_utils.Database, instance: dict, event: dict[str, Any]
) -> str:
    media = event.get("media") or {}
    row, created = message_log.record_incoming(
        db,
        instance["id"],
        {
            "wa_id": event["wa_id"],
            "peer": "+" + event["from"] if event["from"] else event.get("sender_lid") or "",
            "chat": event.get("chat"),
            "type": event.get("type") or "text",
            "text": event.get("text") or "",
            "push_name": event.get("push_name") or "",
            "is_group": int(bool(event.get("is_group"))),
            "mime_type": media.get("mime_type"),
            "file_name": media.get("file_name"),
            "media_size": media.get("size"),
            "wa_timestamp": int(event["timestamp"]),
        },
    )
    if not created and published_message(db, instance["id"], event["wa_id"]):
        # An earlier run killed between recording the event and queueing its delivery left it
        # pending, never tried: queue it (a delivery already queued makes this one a no-op).
        unattempted = unattempted_message_event(db, instance["id"], event["wa_id"])
        if unattempted and instance.get("webhook_url"):
            enqueue_delivery(config, unattempted, instance["id"])
        return "duplicate"
    # New, or stored by an earlier run of this job that failed before publishing: finish the work.
    if event.get("media_parked") and not row.get("media_path"):
        path = _store_media(config, instance["id"], event["wa_id"], row["id"])
        if path:
            message_log.set_media_path(db, row["id"], path)
            row["media_path"] = path
    publish(db, config, instance, "message", message_payload(row, event))
    return "stored"


def _receipt(config: dict[str, Any], db: sqlite_utils.Database, instance: dict, event: dict[str, Any]) -> str:
    done = 0
    unknown = []
    for wa_id in event.get("wa_ids") or []:
        row = message_log.find_outgoing_by_wa_id(db, instance["id"], wa_id)
        if row is None:
            unknown.append(wa_id)
            continue
        if message_log.set_status(db, row["id"], event["status"]):
            payload = status_payload(row, event["status"], int(event["timestamp"]))
            publish(db, config, instance, "status", payload)
            done += 1
    rechecks = int(event.get("recheck", 0))
    if unknown and rechecks < len(RECEIPT_RECHECK_SECONDS):
        _recheck_later(config, instance["id"], {**event, "wa_ids": unknown, "recheck": rechecks + 1})
        return f"{done} status update(s), {len(unknown)} to look up again"
    return f"{done} status update(s)"


def _recheck_later(config: dict[str, Any], instance_id: str, event: dict[str, Any]) -> None:
    delay = RECEIPT_RECHECK_SECONDS[event["recheck"] - 1]
    queue(config, keys.EVENTS_QUEUE).enqueue_in(
        timedelta(seconds=delay),
        handle_event,
        instance_id,
        event,
        result_ttl=60,
        failure_ttl=7 * 24 * 3600,
    )


def _send_result(
    config: dict[str, Any], db: sqlite_utils.Database, instance: dict, event: dict[str, Any]
) -> str:
    if event.get("cancelled"):
        return "ignored"
    return apply_send_result(config, db, instance, event["message_id"], event)


def _session(config: dict[str, Any], db: sqlite_utils.Database, instance: dict, event: dict[str, Any]) -> str:
    phone = event.get("phone_number")
    if phone and not phone.startswith("+"):
        phone = "+" + phone
    payload = {
        "type": "session",
        "session": {"status": event["status"], "phone_number": phone or None},
        "timestamp": now_iso(),
    }
    publish(db, config, instance, "session", payload)
    return str(event["status"])


HANDLERS: dict[str, Handler] = {
    "message": _incoming_message,
    "receipt": _receipt,
    "session": _session,
    "send_result": _send_result,
}
