"""Webhook events: stored first, then delivered as signed POSTs, at least once, 3 attempts in all.

Flow: `publish` stores the event (store.webhook_events: its id is the `webhook-id`, its JSON the
exact body) and puts `deliver(event_id)` on the instance's delivery queue. Each `deliver` run
makes ONE attempt, records it, and when the attempt failed and attempts are left, schedules the
next run itself with `Queue.enqueue_at` (the worker runs RQ's scheduler). Why not `rq.Retry` for
the backoff: RQ's retry intervals are fixed when the job is enqueued, but the wait must honour
the receiver's `Retry-After`, a blocked URL or `410 Gone` must end the round without an
exception, and RQ would count our attempts separately from the ones recorded in SQLite. With one
attempt per job, SQLite is the single source of truth for "how many attempts so far" and the
promise of exactly 3 attempts holds.

Running a job twice is safe: an attempt starts only after an atomic claim (status `pending` →
`delivering`), so duplicates of a job find nothing to do and never exceed 3 attempts. A claim
older than the lease (longer than the job can run) may be taken over: that is how an attempt
cut short by a worker crash is retried. For that case only, jobs carry `rq.Retry(max=1)` with
an interval past the lease, so an abandoned job comes back and finds its claim stale.
"""

import logging
import math
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlite_utils
from rq import Retry
from rq.job import Job

from megamsg import keys, metrics
from megamsg.clock import iso_ago, now_iso
from megamsg.config import process_config
from megamsg.delivery.webhook_config import EVENT_KINDS, selected_events
from megamsg.queues import queue
from megamsg.store import webhook_events
from megamsg.store.db import acquire, release
from megamsg.store.instances import get_instance
from megamsg.store.webhook_events import IN_PROGRESS, get_event

if TYPE_CHECKING:
    from megamsg.delivery.webhook_attempt import AttemptResult

log = logging.getLogger(__name__)

KINDS = (*EVENT_KINDS, "test")
MAX_ATTEMPTS = 3  # the contract's promise: 3 attempts in all
MAX_RETRY_AFTER = 3600.0  # a receiver's Retry-After is honoured up to one hour
DEFAULT_INTERVALS = (5.0, 60.0)


class RedeliveryRefused(Exception):
    """A redelivery cannot start now (message says why)."""


def record_event(db: sqlite_utils.Database, instance: dict, kind: str, payload: dict) -> str:
    """Store the event (pending, or skipped when it will not be sent) and commit; return its id."""
    return _record(db, instance, kind, payload)[0]


def _record(db: sqlite_utils.Database, instance: dict, kind: str, payload: dict) -> tuple[str, str]:
    """Store the event; return its id and the status it was stored with."""
    if kind not in KINDS:
        raise ValueError(f"unknown webhook event kind {kind!r}")
    # instance_id beside type: one receiver can serve many instances (the caller's own key wins).
    body = {"type": kind, "instance_id": instance["id"], **payload}
    if body["type"] != kind:
        raise ValueError(f"payload type {body['type']!r} does not match kind {kind!r}")
    body.setdefault("timestamp", now_iso())
    status, reason = "pending", None
    if not instance.get("webhook_url"):
        status, reason = "skipped", "No webhook URL is set."
    elif kind != "test" and kind not in selected_events(instance):
        status, reason = "skipped", f"The webhook is not subscribed to {kind} events."
    return webhook_events.insert_event(db, instance["id"], kind, body, status, reason), status


def enqueue_delivery(config: dict[str, Any], event_id: str, instance_id: str) -> Job:
    """Queue the next delivery attempt of the event now (on its instance's delivery queue)."""
    return queue(config, keys.webhook_queue(config, instance_id)).enqueue(
        deliver, event_id, **_job_options(config)
    )


def publish(
    db: sqlite_utils.Database, config: dict[str, Any], instance: dict, kind: str, payload: dict
) -> str:
    """Record the event and, unless skipped, queue its delivery; return its id."""
    event_id, status = _record(db, instance, kind, payload)
    if status == "pending":
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
    if not webhook_events.restart(db, event):
        raise RedeliveryRefused("This event changed meanwhile; try again.")
    enqueue_delivery(config, event_id, event["instance_id"])


def redeliver_range(
    db: sqlite_utils.Database,
    config: dict[str, Any],
    instance: dict,
    status: str,
    since: str,
    until: str,
    limit: int,
) -> tuple[list[str], int]:
    """Start a fresh round for a range of the instance's finished events, queued in sequence order.

    Returns the event ids queued and how many more matched beyond limit.
    """
    if not instance.get("webhook_url"):
        raise RedeliveryRefused("No webhook URL is set: set one first, then redeliver.")
    event_ids, remaining = webhook_events.restart_range(db, instance["id"], status, since, until, limit)
    # One queue per instance, one worker per queue: they go out in this order. Should this
    # process die before all are queued, the sweeper queues the rest (pending, never queued).
    for event_id in event_ids:
        enqueue_delivery(config, event_id, instance["id"])
    return event_ids, remaining


def deliver(event_id: str) -> str:
    """RQ job: make the event's next delivery attempt; returns what happened (for the job log)."""
    config = process_config()
    db = acquire(config["DATABASE"])
    try:
        event = get_event(db, event_id)
        summary, retry_in = _attempt(db, config, event_id)
    finally:
        release(db, config["DATABASE"])
    if retry_in is not None and event is not None:
        _schedule(config, event_id, event["instance_id"], retry_in)
    return summary


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


def _schedule(config: dict[str, Any], event_id: str, instance_id: str, delay: float) -> Job:
    """Queue the next attempt in `delay` seconds (the worker's RQ scheduler enqueues it)."""
    if delay <= 0:
        return enqueue_delivery(config, event_id, instance_id)
    # RQ's scheduled registry keeps whole seconds, rounded down: round up so no wait is shorter.
    when = datetime.fromtimestamp(math.ceil(time.time() + delay), UTC)
    name = keys.webhook_queue(config, instance_id)
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
    limit = float(_lease_seconds(config))
    if event["status"] == "pending":
        limit += MAX_RETRY_AFTER + max(retry_intervals(config))
    return bool(event["updated_at"] < iso_ago(limit))


def _attempt(db: sqlite_utils.Database, config: dict[str, Any], event_id: str) -> tuple[str, float | None]:
    """One attempt; returns (summary, seconds until the next attempt or None)."""
    if not webhook_events.claim(db, event_id, _lease_seconds(config)):
        return "nothing to do (already delivered, finished or being delivered)", None
    event = get_event(db, event_id)
    instance = get_instance(db, event["instance_id"]) if event else None
    if event is None or instance is None or not instance["webhook_url"]:
        webhook_events.finish(db, event_id, "skipped", "The webhook URL was removed before delivery.")
        return "skipped: no URL", None
    if not instance["webhook_secret"]:
        webhook_events.finish(
            db, event_id, "failed", "The instance has no webhook secret; rotate it in the dashboard."
        )
        return "failed: no secret", None
    # Here, not at the top: publishers (the supervisor, the web) never load requests for nothing.
    from megamsg import netguard
    from megamsg.delivery.webhook_attempt import post, signed_headers

    url, number, body = instance["webhook_url"], (event["attempts"] or 0) + 1, event["payload"].encode()
    result = post(
        url,
        signed_headers(instance["webhook_secret"], event_id, body),
        body,
        timeout=float(config["WEBHOOK_TIMEOUT"]),
        allow_private=bool(config["ALLOW_PRIVATE_URLS"]),
    )
    status, retry_in = _next_step(config, result, number)
    webhook_events.record_attempt(
        db,
        event_id,
        number,
        netguard.redact(url),
        status,
        status_code=result.status_code,
        error=result.error,
        duration_ms=result.duration_ms,
        excerpt=result.excerpt,
    )
    metrics.webhook_attempted(status, result.duration_ms)
    log.info(
        "webhook %s attempt %d/%d to %s: %s%s",
        event_id,
        number,
        MAX_ATTEMPTS,
        netguard.redact(url),
        result.status_code if result.status_code is not None else result.error,
        f", next in {retry_in:g} s" if retry_in is not None else f", {status}",
    )
    return f"attempt {number}: {status}", retry_in


def _next_step(config: dict[str, Any], result: "AttemptResult", number: int) -> tuple[str, float | None]:
    """The event's status after this attempt and, when another attempt follows, the wait before it."""
    if result.succeeded:
        result.error = None
        return "delivered", None
    if result.status_code == 410:
        result.error = "410 Gone: the receiver asked to stop."
        return "stopped", None
    if result.final or number >= MAX_ATTEMPTS:
        return "failed", None
    retry_in = retry_intervals(config)[number - 1]
    if result.retry_after is not None:
        retry_in = max(retry_in, min(result.retry_after, MAX_RETRY_AFTER))
    return "pending", retry_in
