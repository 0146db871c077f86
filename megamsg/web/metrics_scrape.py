"""What /metrics renders: the recorded metrics plus queue depths and instances by status, read at scrape time."""

from collections import Counter
from collections.abc import Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from megamsg import keys, metrics
from megamsg.queues import queue
from megamsg.session_state import STATUSES, public_status, read_state
from megamsg.store.db import connect


class _Recorded:
    """The counters and histograms every process recorded."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def collect(self) -> Iterable[Metric]:
        return metrics.recorded(self.config)


class _Live:
    """Gauges read from Redis and SQLite now (no process has to keep them up to date)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def collect(self) -> Iterable[Metric]:
        db = connect(self.config["DATABASE"])
        try:
            instance_ids = [row[0] for row in db.execute("SELECT id FROM instances ORDER BY id")]
        finally:
            db.conn.close()
        depth = GaugeMetricFamily("megamsg_queue_depth", "Jobs waiting in each RQ queue.", labels=["queue"])
        names = [keys.EVENTS_QUEUE, *keys.webhook_queues(self.config)]
        for name in names + [keys.session_queue(i) for i in instance_ids]:
            depth.add_metric([name], queue(self.config, name).count)
        yield depth
        statuses = Counter(public_status(read_state(self.config, i)) for i in instance_ids)
        by_status = GaugeMetricFamily("megamsg_instances", "Instances by session status.", labels=["status"])
        for status in sorted({*STATUSES, *statuses} - {"not started"}):
            by_status.add_metric([status], statuses.get(status, 0))
        yield by_status


def render(config: dict[str, Any]) -> tuple[bytes, str]:
    """The exposition text and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Recorded(config))
    registry.register(_Live(config))
    return generate_latest(registry), CONTENT_TYPE_LATEST
