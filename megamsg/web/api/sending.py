"""The send pipeline on the web side: take a paced turn, record, enqueue on wa:<instance>, wait, finalise."""

import json
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlite_utils

from megamsg import metrics
from megamsg.delivery.outcomes import apply_send_result, cancel_if_not_started
from megamsg.delivery.scheduler import drop_scheduled_media, iso_ms, park_scheduled_media
from megamsg.delivery.send_jobs import enqueue_send_job, reserve, turn_iso
from megamsg.errors import ApiError
from megamsg.ids import new_message_id
from megamsg.pacing import Turn
from megamsg.store import message_log
from megamsg.web.api.send_request import SendRequest
from megamsg.web.session_control import cancel_quietly, wait_result

if TYPE_CHECKING:
    from megamsg.media import Media

SEND_MARGIN_MS = 1000  # of SEND_TIMEOUT, kept for the send itself once its turn comes


def sync_budget_ms(config: dict[str, Any]) -> int:
    """How long a synchronous send's turn may be ahead for it still to finish within SEND_TIMEOUT."""
    timeout_ms = float(config["SEND_TIMEOUT"]) * 1000
    return int(timeout_ms - min(SEND_MARGIN_MS, timeout_ms / 2))


def take_turn(config: dict[str, Any], instance: dict, is_async: bool) -> Turn:
    """Reserve the message's paced turn, or answer 429 when a synchronous send could not wait for it."""
    budget = None if is_async else sync_budget_ms(config)
    turn = reserve(config, instance, budget)
    if turn.refused:
        assert budget is not None
        retry_after = max(1, math.ceil((turn.wait_ms - budget) / 1000))
        raise ApiError(
            429,
            f"This instance's paced queue holds {turn.depth} message(s): this message's turn would come in "
            f"{turn.wait_ms / 1000:.1f} s, after the {float(config['SEND_TIMEOUT']):g} s a send waits. "
            f'Nothing was sent. Retry in {retry_after} s, or send with "async": true.',
            {"Retry-After": str(retry_after)},
        )
    return turn


def enqueue_send(
    config: dict[str, Any],
    db: sqlite_utils.Database,
    instance: dict,
    request: SendRequest,
    media: "Media | None",
    on_recorded: Callable[[dict], None] | None = None,
    send_at: datetime | None = None,
) -> tuple[dict, Any]:
    """Record the message as queued or scheduled (on_recorded sees the row); queue its job unless scheduled."""
    turn = None if send_at is not None else take_turn(config, instance, request.is_async)
    fields = {
        "peer": request.to,
        "type": request.type,
        "text": request.text,
        "caption": request.caption,
        "mime_type": media.mime_type if media and request.type != "document" else request.mime_type,
        "file_name": request.file_name or (media.file_name if media and request.type == "document" else None),
        "ptt": int(request.ptt),
        "media_size": media.size if media else None,
        "media_sha256": media.sha256 if media else None,
        "details": json.dumps(request.details) if request.details else None,
    }
    if request.type == "reaction":
        fields["text"] = request.extras["emoji"]
    if send_at is not None:
        # The database is the schedule: the supervisor queues the message when it is due.
        when = iso_ms(send_at)
        message_id = fields["id"] = new_message_id()
        if media is not None:
            park_scheduled_media(config, instance["id"], message_id, media.data)
        try:
            row = message_log.create_outgoing(
                db, instance["id"], {**fields, "send_at": when, "due_at": when}, status="scheduled"
            )
        except Exception:
            drop_scheduled_media(config, instance["id"], message_id)
            raise
        if on_recorded is not None:
            on_recorded(row)
        return row, None
    assert turn is not None
    row = message_log.create_outgoing(db, instance["id"], {**fields, "due_at": turn_iso(turn)})
    try:
        if on_recorded is not None:
            on_recorded(row)
        return row, enqueue_send_job(
            config, instance, row, media.data if media else None, turn, request.is_async
        )
    except Exception:
        # Nothing was queued: end the record now rather than leave it queued.
        apply_send_result(
            config, db, instance, row["id"], {"ok": False, "error": "could not queue the message"}
        )
        raise


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
