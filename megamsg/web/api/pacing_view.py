"""The instance's pacing and queue, as the API shows them."""

from typing import Any

from megamsg import keys
from megamsg.pacing import pacing_of
from megamsg.queues import queue


def pacing_json(config: dict[str, Any], instance: dict) -> dict[str, int]:
    """Effective min_interval_ms and jitter_ms (the defaults where the instance has none)."""
    pacing = pacing_of(config, instance)
    return {"min_interval_ms": pacing.min_interval_ms, "jitter_ms": pacing.jitter_ms}


def queue_depth(config: dict[str, Any], instance_id: str) -> int:
    """Jobs waiting on the instance's queue (sends and control calls not yet picked up)."""
    return int(queue(config, keys.session_queue(instance_id)).count)
