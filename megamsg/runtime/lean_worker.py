"""RQ's SimpleWorker with fewer Redis round trips per job: coalesced heartbeats, suspension read once a second.

Unchanged RQ does three separate round trips for each of its three standalone heartbeats per job
and reads the suspension flag before every job: on short jobs that bookkeeping costs more CPU
(ours and Redis's) than the job. Here a standalone heartbeat is one pipelined round trip, and one
within HEARTBEAT_EVERY of the previous is skipped, unless a heartbeat with a job's TTL came in
between (the worker key's TTL must go back up to the worker's own after each job). With
`with_scheduler`, RQ's scheduler runs in a thread of the worker instead of a forked process
(ThreadScheduler): one process per worker. Everything else (registries, results, job timeouts,
retries, the scheduler's locks and loop) is RQ's own code.
"""

import time
from typing import Any

from rq import SimpleWorker

from megamsg.runtime.scheduler_thread import ThreadScheduler

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

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = "",
        log_format: str = "",
    ) -> None:
        """RQ's own start of the scheduler (lock, then its loop), with the loop in a thread."""
        self.scheduler = ThreadScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            **({"date_format": date_format} if date_format else {}),
            **({"log_format": log_format} if log_format else {}),
            serializer=self.serializer,
        )
        self.scheduler.acquire_locks()
        if self.scheduler.acquired_locks:
            if burst:
                try:
                    self.scheduler.register_birth()
                    self.scheduler.enqueue_scheduled_jobs()
                finally:
                    self.scheduler.release_locks()
                    self.scheduler.register_death()
            else:
                self.scheduler.start()

    def stop_scheduler(self) -> None:
        """Stop the scheduler thread (it releases its locks) instead of signalling a process."""
        if isinstance(self.scheduler, ThreadScheduler):
            self.scheduler.stop_thread()
        elif self.scheduler is not None:
            super().stop_scheduler()
