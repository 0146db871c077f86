"""Webhook events: stored first, then delivered as signed POSTs, at least once, 3 attempts in all.

Flow: `record_event` writes the event (its id is the `webhook-id`, its JSON the exact body) to
`webhook_events` and commits; `enqueue_delivery` puts `deliver(event_id)` on the "webhooks"
queue. Each `deliver` run makes ONE attempt, records it in `webhook_deliveries`, and when the
attempt failed and attempts are left, schedules the next run itself with `Queue.enqueue_at`
(the worker runs RQ's scheduler). Why not `rq.Retry` for the backoff: RQ's retry intervals are
fixed when the job is enqueued, but the wait must honour the receiver's `Retry-After`, a blocked
URL or `410 Gone` must end the round without an exception, and RQ would count our attempts
separately from the ones recorded in SQLite. With one attempt per job, SQLite is the single
source of truth for "how many attempts so far" and the promise of exactly 3 attempts holds.

Running a job twice is safe: an attempt starts only after an atomic claim (status `pending` →
`delivering`), so duplicates of a job find nothing to do and never exceed 3 attempts. A claim
older than the lease (longer than the job can run) may be taken over: that is how an attempt
cut short by a worker crash is retried. For that case only, jobs carry `rq.Retry(max=1)` with
an interval past the lease, so an abandoned job comes back and finds its claim stale.

Event statuses: pending (an attempt is queued or waiting for its backoff), delivering, delivered
(2xx), failed (3 failed attempts, or the URL is refused by the SSRF guard), stopped (410 Gone),
skipped (no URL, or kind not selected, when it was recorded / the URL was removed since).
"""

import base64
import email.utils
import hashlib
import hmac
import json
import logging
import math
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import sqlite_utils
from rq import Retry
from rq.job import Job

from megamsg import net_errors, netguard
from megamsg.delivery.webhook_config import EVENT_KINDS, selected_events, signing_key
from megamsg.job_context import job_config, job_db
from megamsg.queues import queue, webhook_queue_name
from megamsg.store.db import now_iso
from megamsg.store.instances import get_instance

log = logging.getLogger(__name__)

KINDS = (*EVENT_KINDS, "test")
MAX_ATTEMPTS = 3  # the contract's promise: 3 attempts in all
MAX_RETRY_AFTER = 3600.0  # a receiver's Retry-After is honoured up to one hour
EXCERPT_BYTES = 1024
USER_AGENT = "MegaMsg-Webhook/1"
DEFAULT_INTERVALS = (5.0, 60.0)
IN_PROGRESS = ("pending", "delivering")


class RedeliveryRefused(Exception):
    """A redelivery cannot start now (message says why)."""


def new_event_id() -> str:
    """A fresh webhook-id."""
    return "msg_" + secrets.token_hex(12)


def record_event(db: sqlite_utils.Database, instance: dict, kind: str, payload: dict) -> str:
    """Store the event (pending, or skipped when it will not be sent) and commit; return its id."""
    if kind not in KINDS:
        raise ValueError(f"unknown webhook event kind {kind!r}")
    body = {"type": kind, **payload}
    if body["type"] != kind:
        raise ValueError(f"payload type {body['type']!r} does not match kind {kind!r}")
    body.setdefault("timestamp", now_iso())
    status, reason = "pending", None
    if not instance.get("webhook_url"):
        status, reason = "skipped", "No webhook URL is set."
    elif kind != "test" and kind not in selected_events(instance):
        status, reason = "skipped", f"The webhook is not subscribed to {kind} events."
    event_id = new_event_id()
    now = now_iso()
    with db.conn:
        db.execute(
            "INSERT INTO webhook_events (id, instance_id, kind, payload, status, attempts, last_status_code,"
            " last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, NULL, ?, ?, ?)",
            [
                event_id,
                instance["id"],
                kind,
                json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                status,
                reason,
                now,
                now,
            ],
        )
    return event_id


def enqueue_delivery(config: dict[str, Any], event_id: str, instance_id: str) -> Job:
    """Queue the next delivery attempt of the event now (on its instance's delivery queue)."""
    return queue(config, webhook_queue_name(config, instance_id)).enqueue(
        deliver, event_id, **_job_options(config)
    )


def publish(
    db: sqlite_utils.Database, config: dict[str, Any], instance: dict, kind: str, payload: dict
) -> str:
    """Record the event and, unless skipped, queue its delivery; return its id."""
    event_id = record_event(db, instance, kind, payload)
    if get_event(db, event_id)["status"] == "pending":
        enqueue_delivery(config, event_id, instance["id"])
    return event_id


def send_test_event(db: sqlite_utils.Database, config: dict[str, Any], instance: dict) -> str:
    """Record and queue a {"type": "test"} event for the instance; return its id."""
    payload = {
        "test": {
            "instance_id": instance["id"],
            "message": "This is a test event from MegaMsg. Verify its signature with your secret.",
        },
        "timestamp": now_iso(),
    }
    return publish(db, config, instance, "test", payload)


def redeliver(db: sqlite_utils.Database, config: dict[str, Any], event_id: str) -> None:
    """Start a fresh round of up to 3 attempts (same webhook-id, same body)."""
    event = get_event(db, event_id)
    if event is None:
        raise RedeliveryRefused("No such event.")
    if event["status"] in IN_PROGRESS and not _stale(config, event):
        raise RedeliveryRefused("This event is still being delivered; wait for the current round to end.")
    with db.conn:
        # Compare-and-set: two clicks at once start one round, not two.
        cursor = db.execute(
            "UPDATE webhook_events SET status = 'pending', attempts = 0, last_error = NULL, updated_at = ?"
            " WHERE id = ? AND status = ? AND updated_at = ?",
            [now_iso(), event_id, event["status"], event["updated_at"]],
        )
    if cursor.rowcount != 1:
        raise RedeliveryRefused("This event changed meanwhile; try again.")
    enqueue_delivery(config, event_id, event["instance_id"])


def deliver(event_id: str) -> str:
    """RQ job: make the event's next delivery attempt; returns what happened (for the job log)."""
    config = job_config()
    db = job_db()
    try:
        event = get_event(db, event_id)
        summary, retry_in = _attempt(db, config, event_id)
    finally:
        db.conn.close()
    if retry_in is not None and event is not None:
        _schedule(config, event_id, event["instance_id"], retry_in)
    return summary


def get_event(db: sqlite_utils.Database, event_id: str, instance_id: str | None = None) -> dict | None:
    """The stored event (of that instance, when given), or None."""
    sql, params = "SELECT * FROM webhook_events WHERE id = ?", [event_id]
    if instance_id is not None:
        sql += " AND instance_id = ?"
        params.append(instance_id)
    rows = [dict(row) for row in db.query(sql, params)]
    return rows[0] if rows else None


def list_events(db: sqlite_utils.Database, instance_id: str, limit: int = 25, offset: int = 0) -> list[dict]:
    """The instance's events, newest first."""
    return [
        dict(row)
        for row in db.query(
            "SELECT id, kind, status, attempts, last_status_code, last_error, created_at, updated_at"
            " FROM webhook_events WHERE instance_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            [instance_id, limit, offset],
        )
    ]


def list_attempts(db: sqlite_utils.Database, event_id: str) -> list[dict]:
    """Every recorded attempt of the event, oldest first."""
    return [
        dict(row)
        for row in db.query("SELECT * FROM webhook_deliveries WHERE event_id = ? ORDER BY id", [event_id])
    ]


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks `webhook-signature` value for one attempt."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def retry_intervals(config: dict[str, Any]) -> list[float]:
    """Seconds to wait before attempts 2 and 3, from WEBHOOK_RETRY_INTERVALS ("5,60")."""
    raw = config.get("WEBHOOK_RETRY_INTERVALS")
    values = raw if isinstance(raw, list | tuple) else str(raw or "").split(",")
    try:
        intervals = [max(0.0, float(value)) for value in values if str(value).strip()]
    except ValueError:
        intervals = []
    if not intervals:
        intervals = list(DEFAULT_INTERVALS)
    while len(intervals) < MAX_ATTEMPTS - 1:
        intervals.append(intervals[-1])
    return intervals[: MAX_ATTEMPTS - 1]


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _schedule(config: dict[str, Any], event_id: str, instance_id: str, delay: float) -> Job:
    """Queue the next attempt in `delay` seconds (the worker's RQ scheduler enqueues it)."""
    if delay <= 0:
        return enqueue_delivery(config, event_id, instance_id)
    # RQ's scheduled registry keeps whole seconds, rounded down: round up so no wait is shorter.
    when = datetime.fromtimestamp(math.ceil(time.time() + delay), UTC)
    name = webhook_queue_name(config, instance_id)
    return queue(config, name).enqueue_at(when, deliver, event_id, **_job_options(config))


def _job_timeout(config: dict[str, Any]) -> int:
    # An attempt is bounded by WEBHOOK_TIMEOUT (plus DNS); this only catches the unforeseen.
    return max(30, math.ceil(float(config["WEBHOOK_TIMEOUT"]) * 3))


def _lease_seconds(config: dict[str, Any]) -> int:
    """How long a claim protects an attempt; longer than any job may run."""
    return _job_timeout(config) + 30


def _job_options(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "job_timeout": _job_timeout(config),
        "result_ttl": 3600,
        "failure_ttl": 7 * 24 * 3600,
        # Only for a job abandoned mid-attempt (worker crash): back after its claim went stale.
        "retry": Retry(max=1, interval=_lease_seconds(config) + 5),
    }


def _stale(config: dict[str, Any], event: dict) -> bool:
    """Whether an in-progress event has not moved for longer than any round can wait."""
    limit = _lease_seconds(config)
    if event["status"] == "pending":
        limit += MAX_RETRY_AFTER + max(retry_intervals(config))
    return event["updated_at"] < _iso_seconds_ago(limit)


def _iso_seconds_ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="seconds")


def _claim(db: sqlite_utils.Database, config: dict[str, Any], event_id: str) -> bool:
    with db.conn:
        cursor = db.execute(
            "UPDATE webhook_events SET status = 'delivering', updated_at = ? WHERE id = ?"
            " AND (status = 'pending' OR (status = 'delivering' AND updated_at < ?))",
            [now_iso(), event_id, _iso_seconds_ago(_lease_seconds(config))],
        )
    return cursor.rowcount == 1


def _finish(db: sqlite_utils.Database, event_id: str, status: str, error: str | None) -> None:
    """End the event without an attempt (nothing was sent)."""
    with db.conn:
        db.execute(
            "UPDATE webhook_events SET status = ?, last_error = ?, updated_at = ? WHERE id = ?",
            [status, error, now_iso(), event_id],
        )


def _attempt(db: sqlite_utils.Database, config: dict[str, Any], event_id: str) -> tuple[str, float | None]:
    """One attempt; returns (summary, seconds until the next attempt or None)."""
    if not _claim(db, config, event_id):
        return "nothing to do (already delivered, finished or being delivered)", None
    event = get_event(db, event_id)
    instance = get_instance(db, event["instance_id"])
    url = instance["webhook_url"] if instance else None
    if not url:
        _finish(db, event_id, "skipped", "The webhook URL was removed before delivery.")
        return "skipped: no URL", None
    secret = instance["webhook_secret"]
    if not secret:
        _finish(db, event_id, "failed", "The instance has no webhook secret; rotate it in the dashboard.")
        return "failed: no secret", None

    number = (event["attempts"] or 0) + 1
    body = event["payload"].encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, event_id, timestamp, body),
    }
    status_code: int | None = None
    excerpt: str | None = None
    error: str | None = None
    retry_after: float | None = None
    final = False
    started = time.monotonic()
    timeout = float(config["WEBHOOK_TIMEOUT"])
    # The whole attempt, not just each connect and read: a trickling receiver is cut off.
    with netguard.deadline(timeout) as expired:
        try:
            response = netguard.request(
                "POST",
                url,
                allow_private=bool(config["ALLOW_PRIVATE_URLS"]),
                timeout=timeout,
                max_redirects=0,
                data=body,
                headers=headers,
                stream=True,
            )
            try:
                status_code = response.status_code
                # Only the excerpt is read: a receiver cannot make us buffer a huge answer.
                excerpt = response.raw.read(EXCERPT_BYTES, decode_content=True).decode("utf-8", "replace")
            finally:
                response.close()
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        except netguard.BlockedURL as exc:
            error, final = f"Refused by the URL guard: {exc}.", True
        except requests.Timeout:
            error = f"Timeout: no answer within {timeout:g} s."
        except net_errors.NETWORK_ERRORS as exc:
            error = f"Connection error: {net_errors.describe(exc, timeout)}."
        except Exception as exc:
            # Includes RQ's job timeout and reading errors: still one (failed) attempt, recorded.
            error = f"{type(exc).__name__}: {_short(exc)}"
    if expired.is_set():
        # A cut connection can even parse as a complete answer: the attempt failed.
        status_code, excerpt, retry_after = None, None, None
        error = f"Timeout: no complete answer within {timeout:g} s."
    duration_ms = int((time.monotonic() - started) * 1000)

    retry_in: float | None = None
    if status_code is not None and 200 <= status_code < 300:
        status, error = "delivered", None
    elif status_code == 410:
        status, error = "stopped", "410 Gone: the receiver asked to stop."
    else:
        if status_code is not None:
            error = f"HTTP {status_code}" + (
                " (redirects are not followed)" if 300 <= status_code < 400 else ""
            )
        if final or number >= MAX_ATTEMPTS:
            status = "failed"
        else:
            status = "pending"
            retry_in = retry_intervals(config)[number - 1]
            if retry_after is not None:
                retry_in = max(retry_in, min(retry_after, MAX_RETRY_AFTER))

    now = now_iso()
    with db.conn:
        db.execute(
            "INSERT INTO webhook_deliveries (event_id, attempt, url, status_code, error, duration_ms,"
            " response_excerpt, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [event_id, number, netguard.redact(url), status_code, error, duration_ms, excerpt, now],
        )
        db.execute(
            "UPDATE webhook_events SET status = ?, attempts = ?, last_status_code = ?, last_error = ?,"
            " updated_at = ? WHERE id = ?",
            [status, number, status_code, error, now, event_id],
        )
    log.info(
        "webhook %s attempt %d/%d to %s: %s%s",
        event_id,
        number,
        MAX_ATTEMPTS,
        netguard.redact(url),
        status_code if status_code is not None else error,
        f", next in {retry_in:g} s" if retry_in is not None else f", {status}",
    )
    return f"attempt {number}: {status}", retry_in


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
