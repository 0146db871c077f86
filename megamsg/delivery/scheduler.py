"""Scheduled sends: media kept on disk until due, the supervisor's move of due messages to the queue, cancel.

The database is the schedule's source of truth. Moving a due message enqueues its job first and
then marks it queued in one transaction: a crash in between enqueues it again on the next tick,
and the runner's send claim (keys.send_claim) lets only one of the two jobs send.
"""

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from megamsg import keys
from megamsg.clock import unix_now
from megamsg.delivery.outcomes import cancel_if_not_started, status_payload
from megamsg.delivery.send_jobs import enqueue_send_job, reserve, turn_iso
from megamsg.delivery.webhooks import publish
from megamsg.redis_conn import get_redis
from megamsg.store import message_log, scheduled
from megamsg.store.db import connect
from megamsg.store.instances import get_instance

log = logging.getLogger(__name__)
TICK_LOCK_MS = 30_000  # one supervisor moves due messages at a time (others may share the data)


def iso_ms(moment: datetime) -> str:
    """A time as scheduled sends store it: UTC, milliseconds (so stored times compare as strings)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def scheduled_media_path(config: dict[str, Any], instance_id: str, message_id: str) -> Path:
    """Where a scheduled message's media waits for its time."""
    return Path(config["DATA_DIR"]) / "scheduled" / instance_id / message_id


def park_scheduled_media(config: dict[str, Any], instance_id: str, message_id: str, data: bytes) -> None:
    """Keep a scheduled message's media on disk (it must outlive Redis restarts)."""
    path = scheduled_media_path(config, instance_id, message_id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def drop_scheduled_media(config: dict[str, Any], instance_id: str, message_id: str) -> None:
    """Forget a scheduled message's media file, if any."""
    scheduled_media_path(config, instance_id, message_id).unlink(missing_ok=True)


def _queue_one(config: dict[str, Any], db: sqlite_utils.Database, instance: dict, row: dict) -> bool:
    media = None
    if row["media_sha256"]:
        try:
            media = scheduled_media_path(config, instance["id"], row["id"]).read_bytes()
        except FileNotFoundError:
            media = None  # already parked by an earlier, interrupted move (its job holds the claim)
    turn = reserve(config, instance, None)
    enqueue_send_job(config, instance, row, media, turn, is_async=True)
    moved = scheduled.mark_queued(db, row["id"], turn_iso(turn))
    drop_scheduled_media(config, instance["id"], row["id"])
    return moved


def queue_due(config: dict[str, Any]) -> int:
    """Supervisor tick: put every due scheduled message on its queue; return how many moved."""
    client = get_redis(config)
    token = f"{os.getpid()}:{datetime.now(UTC).timestamp()}"
    if not client.set(keys.SCHEDULER_TICK, token, nx=True, px=TICK_LOCK_MS):
        return 0
    moved = 0
    db = connect(config["DATABASE"])
    try:
        instances: dict[str, dict | None] = {}
        for row in scheduled.due(db, iso_ms(datetime.now(UTC))):
            if row["instance_id"] not in instances:
                instances[row["instance_id"]] = get_instance(db, row["instance_id"])
            instance = instances[row["instance_id"]]
            if instance is not None and _queue_one(config, db, instance, row):
                moved += 1
    finally:
        db.conn.close()
        if client.get(keys.SCHEDULER_TICK) in (token, token.encode()):
            client.delete(keys.SCHEDULER_TICK)
    if moved:
        log.info("queued %d scheduled message(s)", moved)
    return moved


def cancel_message(config: dict[str, Any], db: sqlite_utils.Database, instance: dict, row: dict) -> bool:
    """Cancel a scheduled or queued message (status webhook included); False when it is already sending or done."""
    if row["direction"] != "out" or row["status"] not in scheduled.CANCELLABLE:
        return False
    # The send claim decides the race with the runner: whoever sets it first wins.
    if not cancel_if_not_started(config, row["id"]):
        return False
    if not scheduled.mark_cancelled(db, row["id"]):
        return False
    drop_scheduled_media(config, instance["id"], row["id"])
    fresh = message_log.get_message(db, instance["id"], row["id"]) or row
    publish(db, config, instance, "status", status_payload(fresh, "cancelled", unix_now()))
    return True
