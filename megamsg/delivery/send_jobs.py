"""Putting a recorded outgoing message on its instance's queue, with its paced turn (web and scheduler)."""

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from rq.job import Job

from megamsg import keys
from megamsg.delivery.outcomes import ASYNC_SEND_WINDOW, expire_unsent
from megamsg.pacing import Turn, pacing_of, reserve_turn
from megamsg.queues import queue
from megamsg.redis_conn import get_redis


def reserve(config: dict[str, Any], instance: dict, max_wait_ms: int | None) -> Turn:
    """The instance's next departure turn (refused when later than max_wait_ms)."""
    session_queue = queue(config, keys.session_queue(instance["id"]))
    return reserve_turn(
        get_redis(config), instance["id"], session_queue.key, pacing_of(config, instance), max_wait_ms
    )


def turn_iso(turn: Turn) -> str:
    """The turn's time as the message log stores times (UTC, milliseconds)."""
    return datetime.fromtimestamp(turn.at_ms / 1000, UTC).isoformat(timespec="milliseconds")


def enqueue_send_job(
    config: dict[str, Any],
    instance: dict,
    row: dict,
    media: bytes | None,
    turn: Turn,
    is_async: bool,
) -> Job:
    """Park the media and queue the send job; an async send also gets its expiry check."""
    wait = math.ceil(turn.wait_ms / 1000)
    # A paced message may wait its turn on top of the usual window.
    window = (ASYNC_SEND_WINDOW if is_async else math.ceil(config["SEND_TIMEOUT"])) + wait
    client = get_redis(config)
    if media is not None:
        client.set(keys.outgoing_media(row["id"]), media, ex=window + 120)
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
                "details": json.loads(row["details"]) if row.get("details") else {},
                "pace": {"at_ms": turn.at_ms, "interval_ms": pacing_of(config, instance).min_interval_ms},
            },
        ),
        ttl=window,  # RQ discards it if no runner picks it up in time
        result_ttl=600,
        failure_ttl=24 * 3600,
        timeout=window + 300,
    )
    if is_async:
        # A scheduled check ends the message as failed if it never started.
        queue(config, keys.EVENTS_QUEUE).enqueue_in(
            timedelta(seconds=window + 5), expire_unsent, instance["id"], row["id"], window
        )
    return job
