"""RQ's SimpleWorker with fewer Redis round trips per job: coalesced heartbeats, suspension read once a second.

Unchanged RQ does three separate round trips for each of its three standalone heartbeats per job
and reads the suspension flag before every job: on short jobs that bookkeeping costs more CPU
(ours and Redis's) than the job. Here a standalone heartbeat is one pipelined round trip, and one
within HEARTBEAT_EVERY of the previous is skipped, unless a heartbeat with a job's TTL came in
between (the worker key's TTL must go back up to the worker's own after each job). Everything
else (registries, results, job timeouts, retries) is RQ's own code.
"""

import time
from typing import Any

from rq import SimpleWorker

HEARTBEAT_EVERY = 5.0  # seconds; the worker key lives worker_ttl + 60 s (480 s) after each one
SUSPENSION_EVERY = 1.0  # `rq suspend` takes effect within this long


class LeanWorker(SimpleWorker):
    """SimpleWorker (jobs in this process, no fork) with coalesced heartbeats and suspension checks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._beat_at = float("-inf")
        self._suspension_checked_at = float("-inf")

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """RQ's heartbeat; a standalone one with the default TTL is pipelined and coalesced."""
        if pipeline is not None or timeout is not None:
            # A TTL other than the worker's own (a job's): the next default heartbeat must go out.
            self._beat_at = float("-inf")
            super().heartbeat(timeout, pipeline=pipeline)
            return
        now = time.monotonic()
        if now - self._beat_at < HEARTBEAT_EVERY:
            return
        self._beat_at = now
        with self.connection.pipeline(transaction=False) as batch:
            super().heartbeat(None, pipeline=batch)
            batch.execute()

    def check_for_suspension(self, burst: bool) -> None:
        """RQ's check of `rq suspend`, at most once per SUSPENSION_EVERY."""
        now = time.monotonic()
        if now - self._suspension_checked_at < SUSPENSION_EVERY:
            return
        super().check_for_suspension(burst)
        self._suspension_checked_at = time.monotonic()
