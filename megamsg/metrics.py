"""Prometheus metrics (prometheus_client), recorded by every process and served by the web at /metrics.

Multiprocess mode: gunicorn's workers and the worker's processes each write their samples to files
under `<DATA_DIR>/metrics/<role>/` (role: web or worker, each cleaned when its side starts), and
/metrics merges the files of both. prometheus_client picks the mode from PROMETHEUS_MULTIPROC_DIR
when it is first imported, so it is imported lazily here, after `prepare` has set that variable.
Metrics are on only when MEGAMSG_METRICS_TOKEN is set; otherwise nothing is written to disk.
"""

import logging
import os
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own switch
ROLES = ("web", "worker")
SEND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
WEBHOOK_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_lock = threading.Lock()
_metrics: dict[str, Any] | None = None


def enabled(config: dict[str, Any]) -> bool:
    """Whether /metrics is served (MEGAMSG_METRICS_TOKEN is set)."""
    return bool(config.get("METRICS_TOKEN"))


def directory(config: dict[str, Any], role: str) -> Path:
    """Where the processes of one role write their samples."""
    return Path(config["DATA_DIR"]) / "metrics" / role


def prepare(config: dict[str, Any], role: str) -> None:
    """At the start of a role's parent process (gunicorn master, supervisor): a clean directory, inherited by children."""
    if not enabled(config):
        return
    path = directory(config, role)
    # Samples of a previous run are stale (their processes are gone): counters start from zero.
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROC_ENV] = str(path)


def multiprocess() -> bool:
    """Whether this process records into files (prepare ran here or in a parent)."""
    return bool(os.environ.get(MULTIPROC_ENV))


def mark_dead(pid: int) -> None:
    """gunicorn's child_exit: let prometheus_client drop a dead worker's live gauges."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.mark_process_dead(pid)


def _all() -> dict[str, Any]:
    global _metrics
    with _lock:
        if _metrics is None:
            from prometheus_client import Counter, Histogram

            _metrics = {
                "sends": Counter(
                    "megamsg_sends",
                    "Outgoing messages by their final outcome (sent or failed), instance and type.",
                    ["instance", "type", "outcome"],
                ),
                "send_wait": Histogram(
                    "megamsg_send_wait_seconds",
                    "Seconds a synchronous send waited for the WhatsApp session's answer (or its timeout).",
                    ["type"],
                    buckets=SEND_BUCKETS,
                ),
                "webhooks": Counter(
                    "megamsg_webhook_deliveries",
                    "Webhook delivery attempts by outcome: delivered, pending (failed, another attempt "
                    "follows), failed (no attempt left or not retryable), stopped (410 Gone).",
                    ["outcome"],
                ),
                "webhook_seconds": Histogram(
                    "megamsg_webhook_delivery_seconds",
                    "Seconds a webhook delivery attempt took.",
                    buckets=WEBHOOK_BUCKETS,
                ),
                "restarts": Counter(
                    "megamsg_runner_restarts",
                    "Session runners restarted by the supervisor after they exited unexpectedly.",
                    ["instance"],
                ),
            }
        return _metrics


def _record(what: str, action: Any) -> None:
    # Metrics must never fail the work they describe (a full disk, a bad mmap file).
    try:
        action(_all())
    except Exception:  # noqa: BLE001
        log.warning("could not record the %s metric", what, exc_info=True)


def send_finished(instance_id: str, kind: str, outcome: str) -> None:
    """A send reached its final outcome (counted once per message)."""
    _record("send", lambda m: m["sends"].labels(instance_id, kind or "text", outcome).inc())


def send_waited(kind: str, seconds: float) -> None:
    """How long a synchronous send waited for its answer."""
    _record("send wait", lambda m: m["send_wait"].labels(kind or "text").observe(seconds))


def webhook_attempted(outcome: str, duration_ms: int | None) -> None:
    """One webhook delivery attempt and its duration."""

    def record(m: dict[str, Any]) -> None:
        m["webhooks"].labels(outcome).inc()
        if duration_ms is not None:
            m["webhook_seconds"].observe(duration_ms / 1000)

    _record("webhook", record)


def child_restarting(name: str) -> None:
    """The supervisor restarts a child after a crash; runners are counted per instance."""
    if name.startswith("runner "):
        _record("restart", lambda m: m["restarts"].labels(name.removeprefix("runner ")).inc())


def recorded(config: dict[str, Any]) -> Iterable[Any]:
    """Every recorded metric family: merged from all processes' files, or this process's own."""
    _all()  # declared even before the first sample, so a scrape shows every metric
    if not multiprocess():
        from prometheus_client import REGISTRY

        return list(REGISTRY.collect())
    from prometheus_client.multiprocess import MultiProcessCollector

    files = [str(f) for role in ROLES for f in sorted(directory(config, role).glob("*.db"))]
    return list(MultiProcessCollector.merge(files, accumulate=True))
