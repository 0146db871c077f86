"""The send pipeline on the web side: record, enqueue on wa:<instance>, wait, finalise."""

import math
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlite_utils

from megamsg import keys, metrics
from megamsg.delivery.outcomes import (
    ASYNC_SEND_WINDOW,
    apply_send_result,
    cancel_if_not_started,
    expire_unsent,
)
from megamsg.queues import queue
from megamsg.redis_conn import get_redis
from megamsg.store import message_log
from megamsg.web.api.send_request import SendRequest
from megamsg.web.session_control import cancel_quietly, wait_result

if TYPE_CHECKING:
    from megamsg.media import Media


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
        apply_send_result(
            config, db, instance, row["id"], {"ok": False, "error": "could not queue the message"}
        )
        raise


def _enqueue(
    config: dict[str, Any], instance: dict, request: SendRequest, media: "Media | None", row: dict
) -> Any:
    window = ASYNC_SEND_WINDOW if request.is_async else math.ceil(config["SEND_TIMEOUT"])
    client = get_redis(config)
    if media is not None:
        client.set(keys.outgoing_media(row["id"]), media.data, ex=window + 120)
    job = queue(config, keys.session_queue(instance["id"])).enqueue_call(
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
        queue(config, keys.EVENTS_QUEUE).enqueue_in(
            timedelta(seconds=window + 5),
            expire_unsent,
            instance["id"],
            row["id"],
            window,
        )
    return job


def wait_for_send(
    config: dict[str, Any], db: sqlite_utils.Database, instance: dict, row: dict, job: Any
) -> tuple[bool, str | None]:
    """Wait up to SEND_TIMEOUT; return (sent, error) with the record in its final state."""
    timeout = float(config["SEND_TIMEOUT"])
    started = time.monotonic()
    outcome = wait_result(job, timeout)
    metrics.send_waited(row["type"], time.monotonic() - started)
    if outcome is None:
        if cancel_if_not_started(config, row["id"]):
            error = f"WhatsApp session did not answer within {timeout:g} seconds; the message was not sent."
            cancel_quietly(job)
        else:
            error = (
                f"WhatsApp session did not confirm within {timeout:g} seconds; the message may still be sent "
                f"(check GET /api/whatsapp/messages/{row['id']})."
            )
        apply_send_result(config, db, instance, row["id"], {"ok": False, "error": error})
        return False, error
    if outcome.get("cancelled"):
        return False, "The send was cancelled."
    apply_send_result(config, db, instance, row["id"], outcome)
    return bool(outcome.get("ok")), outcome.get("error")
