"""The send pipeline on the web side: record, enqueue on wa:<instance>, wait, finalise."""

import math
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlite_utils

from megamsg.delivery.events import apply_send_result
from megamsg.queues import EVENTS, queue, session_queue_name
from megamsg.redis_conn import get_redis
from megamsg.runtime.session_jobs import claim_key, outgoing_media_key
from megamsg.store import message_log
from megamsg.web.api.send_request import SendRequest
from megamsg.web.session_control import cancel_quietly, wait_result

if TYPE_CHECKING:
    from megamsg.media import Media

ASYNC_SEND_WINDOW = 300  # seconds an async message may wait for its session before it fails


def enqueue_send(
    config: dict[str, Any],
    db: sqlite_utils.Database,
    instance: dict,
    request: SendRequest,
    media: "Media | None",
    on_recorded: Callable[[dict], None] | None = None,
) -> tuple[dict, Any]:
    """Record the message as queued (on_recorded sees the row) and put its job on the instance's queue."""
    row = message_log.create_outgoing(
        db,
        instance["id"],
        {
            "peer": request.to,
            "type": request.type,
            "text": request.text,
            "caption": request.caption,
            "mime_type": media.mime_type if media and request.type != "document" else request.mime_type,
            "file_name": request.file_name
            or (media.file_name if media and request.type == "document" else None),
            "ptt": int(request.ptt),
            "media_size": media.size if media else None,
            "media_sha256": media.sha256 if media else None,
        },
    )
    try:
        if on_recorded is not None:
            on_recorded(row)
        return row, _enqueue(config, instance, request, media, row)
    except Exception:
        # Nothing was queued: end the record now rather than leave it queued.
        apply_send_result(db, instance, row["id"], {"ok": False, "error": "could not queue the message"})
        raise


def _enqueue(
    config: dict[str, Any], instance: dict, request: SendRequest, media: "Media | None", row: dict
) -> Any:
    window = ASYNC_SEND_WINDOW if request.is_async else math.ceil(config["SEND_TIMEOUT"])
    client = get_redis(config)
    if media is not None:
        client.set(outgoing_media_key(row["id"]), media.data, ex=window + 120)
    job = queue(config, session_queue_name(instance["id"])).enqueue_call(
        "megamsg.runtime.session_jobs.send",
        args=(
            instance["id"],
            {
                "id": row["id"],
                "to": row["peer"],
                "type": row["type"],
                "text": row["text"],
                "caption": row["caption"],
                "mime_type": row["mime_type"],
                "file_name": row["file_name"],
                "ptt": bool(row["ptt"]),
                "has_media": media is not None,
            },
        ),
        ttl=window,  # RQ discards it if no runner picks it up in time
        result_ttl=600,
        failure_ttl=24 * 3600,
        timeout=window + 300,
    )
    if request.is_async:
        # A scheduled check ends the message as failed if it never started.
        queue(config, EVENTS).enqueue_in(
            timedelta(seconds=window + 5),
            "megamsg.web.api.sending.expire_unsent",
            instance["id"],
            row["id"],
            window,
        )
    return job


def cancel_if_not_started(config: dict[str, Any], message_id: str) -> bool:
    """True if the send had not started and now never will."""
    return bool(get_redis(config).set(claim_key(message_id), "cancelled", nx=True, ex=24 * 3600))


def wait_for_send(
    config: dict[str, Any], db: sqlite_utils.Database, instance: dict, row: dict, job: Any
) -> tuple[bool, str | None]:
    """Wait up to SEND_TIMEOUT; return (sent, error) with the record in its final state."""
    timeout = float(config["SEND_TIMEOUT"])
    outcome = wait_result(job, timeout)
    if outcome is None:
        if cancel_if_not_started(config, row["id"]):
            error = f"WhatsApp session did not answer within {timeout:g} seconds; the message was not sent."
            cancel_quietly(job)
        else:
            error = (
                f"WhatsApp session did not confirm within {timeout:g} seconds; the message may still be sent "
                f"(check GET /api/whatsapp/messages/{row['id']})."
            )
        apply_send_result(db, instance, row["id"], {"ok": False, "error": error})
        return False, error
    if outcome.get("cancelled"):
        return False, "The send was cancelled."
    apply_send_result(db, instance, row["id"], outcome)
    return bool(outcome.get("ok")), outcome.get("error")


def expire_unsent(instance_id: str, message_id: str, window: int) -> str:
    """Scheduled job: fail an async message whose session never picked it up."""
    from megamsg.job_context import job_config, job_db
    from megamsg.store.instances import get_instance

    config = job_config()
    if not cancel_if_not_started(config, message_id):
        return "started"
    db = job_db()
    try:
        instance = get_instance(db, instance_id)
        if instance is None:
            return "instance gone"
        error = f"WhatsApp session did not pick the message up within {window} seconds; it was not sent."
        return apply_send_result(db, instance, message_id, {"ok": False, "error": error})
    finally:
        db.conn.close()
