"""The events job: persist what a runner reported, then hand it to webhook delivery.

Every event is stored in SQLite before any delivery is attempted. Safe to run twice:
incoming messages are unique per WhatsApp id, statuses per (message, status).
"""

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from megamsg.job_context import job_config, job_db, job_redis
from megamsg.runtime.runner_sink import incoming_media_key
from megamsg.store import message_log
from megamsg.store.instances import get_instance

log = logging.getLogger(__name__)


def iso_now() -> str:
    """ISO 8601 of now, UTC."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def handle_event(instance_id: str, event: dict[str, Any]) -> str:
    """Dispatch one runner event; returns what was done (for the job log)."""
    db = job_db()
    try:
        instance = get_instance(db, instance_id)
        if instance is None:
            return "instance gone"
        handler = {
            "message": _incoming_message,
            "receipt": _receipt,
            "session": _session,
            "send_result": _send_result,
        }.get(event.get("kind"))
        if handler is None:
            log.warning("unknown event kind %r", event.get("kind"))
            return "ignored"
        return handler(db, instance, event)
    finally:
        db.conn.close()


def _publish(
    db: sqlite_utils.Database, instance: dict, kind: str, payload: dict[str, Any], config: dict | None = None
) -> None:
    from megamsg.delivery.webhooks import publish

    publish(db, config or _config_for_publish(), instance, kind, payload)


def _config_for_publish() -> dict[str, Any]:
    # The web process calls apply_send_result with its app config; jobs use theirs.
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.config
    return job_config()


def _published(db: sqlite_utils.Database, instance_id: str, wa_id: str) -> bool:
    return bool(
        db.execute(
            "SELECT 1 FROM webhook_events WHERE instance_id = ? AND kind = 'message'"
            " AND json_extract(payload, '$.message.id') = ?",
            [instance_id, wa_id],
        ).fetchone()
    )


def media_path(instance_id: str, message_id: str) -> Path:
    """Where an incoming message's media is kept."""
    return Path(job_config()["DATA_DIR"]) / "media" / instance_id / message_id


def _store_media(instance_id: str, wa_id: str, message_id: str) -> str | None:
    client = job_redis()
    data = client.get(incoming_media_key(instance_id, wa_id))
    if data is None:
        return None
    path = media_path(instance_id, message_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # atomic: a reader never sees half a file
    client.delete(incoming_media_key(instance_id, wa_id))
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
    return {"type": "message", "message": message, "timestamp": iso_now()}


def _incoming_message(db: sqlite_utils.Database, instance: dict, event: dict[str, Any]) -> str:
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
    if not created and _published(db, instance["id"], event["wa_id"]):
        return "duplicate"
    # New, or stored by an earlier run of this job that failed before publishing: finish the work.
    if event.get("media_parked") and not row.get("media_path"):
        path = _store_media(instance["id"], event["wa_id"], row["id"])
        if path:
            db["messages"].update(row["id"], {"media_path": path})
            db.conn.commit()
            row["media_path"] = path
    _publish(db, instance, "message", message_payload(row, event))
    return "stored"


def status_payload(row: dict, status: str, timestamp: int) -> dict[str, Any]:
    """The webhook body for a status change of a message we sent."""
    return {
        "type": "status",
        "status": {"id": row["id"], "to": row["peer"], "status": status, "timestamp": timestamp},
        "timestamp": iso_now(),
    }


# A receipt can overtake the result of its own send (an async send, or several events
# workers): look again a few times before deciding it is for a message we did not send.
RECEIPT_RECHECK_SECONDS = (2, 10, 30)


def _receipt(db: sqlite_utils.Database, instance: dict, event: dict[str, Any]) -> str:
    done = 0
    unknown = []
    for wa_id in event.get("wa_ids") or []:
        row = message_log.find_outgoing_by_wa_id(db, instance["id"], wa_id)
        if row is None:
            unknown.append(wa_id)
            continue
        if message_log.set_status(db, row["id"], event["status"]):
            _publish(db, instance, "status", status_payload(row, event["status"], int(event["timestamp"])))
            done += 1
    rechecks = int(event.get("recheck", 0))
    if unknown and rechecks < len(RECEIPT_RECHECK_SECONDS):
        _recheck_later(instance["id"], {**event, "wa_ids": unknown, "recheck": rechecks + 1})
        return f"{done} status update(s), {len(unknown)} to look up again"
    return f"{done} status update(s)"


def _recheck_later(instance_id: str, event: dict[str, Any]) -> None:
    from megamsg.queues import EVENTS, queue

    delay = RECEIPT_RECHECK_SECONDS[event["recheck"] - 1]
    queue(job_config(), EVENTS).enqueue_in(
        timedelta(seconds=delay),
        "megamsg.delivery.events.handle_event",
        instance_id,
        event,
        result_ttl=60,
        failure_ttl=7 * 24 * 3600,
    )


def _send_result(db: sqlite_utils.Database, instance: dict, event: dict[str, Any]) -> str:
    if event.get("cancelled"):
        return "ignored"
    return apply_send_result(db, instance, event["message_id"], event)


def apply_send_result(
    db: sqlite_utils.Database,
    instance: dict,
    message_id: str,
    outcome: dict[str, Any],
    config: dict | None = None,
) -> str:
    """Record a send's outcome once (web and events job may both report it) and publish it."""
    row = message_log.get_message(db, instance["id"], message_id)
    if row is None:
        return "ignored"
    now = int(datetime.now(UTC).timestamp())
    if outcome.get("ok"):
        changed = message_log.set_status(db, row["id"], "sent", wa_id=outcome.get("wa_id"))
        status = "sent"
    else:
        changed = message_log.set_status(db, row["id"], "failed", error=outcome.get("error"))
        status = "failed"
    if changed:
        _publish(db, instance, "status", status_payload(row, status, now), config)
    return status


def _session(db: sqlite_utils.Database, instance: dict, event: dict[str, Any]) -> str:
    phone = event.get("phone_number")
    if phone and not phone.startswith("+"):
        phone = "+" + phone
    payload = {
        "type": "session",
        "session": {"status": event["status"], "phone_number": phone or None},
        "timestamp": iso_now(),
    }
    _publish(db, instance, "session", payload)
    return event["status"]
