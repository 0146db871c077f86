"""A LeanWorker (rq.SimpleWorker, fewer round trips) that runs in a thread of a runner, one per hosted instance queue.

RQ's worker is made for the main thread: it installs signal handlers, times jobs out with
SIGALRM and blocks in BLPOP for minutes. Here each instance's queue gets its own worker thread,
so a slow send of one instance never waits behind another's; the runner stops a worker by
asking (`stop()`), and the worker finishes the job in progress first.
"""

from typing import Any

from redis import Redis
from rq.queue import Queue
from rq.timeouts import TimerDeathPenalty

from megamsg.queues import MegamsgJob
from megamsg.runtime.lean_worker import LeanWorker

POLL_SECONDS = 1  # an idle worker notices a stop request within this long
# RQ derives its blocking-read timeout (worker_ttl - 15) and the socket timeout it wants
# (that + 10) from worker_ttl: 16 gives the 1 s poll and an 11 s socket timeout.
WORKER_TTL = 16
SOCKET_TIMEOUT = 11.0


class SessionWorker(LeanWorker):
    """Serves one instance's queue in the calling thread until stop()."""

    # Job timeouts by a timer thread raising in the worker's thread (SIGALRM is the main thread's only).
    death_penalty_class = TimerDeathPenalty

    def __init__(self, queue: Queue, connection: Redis, name: str) -> None:
        """A worker for queue, registered in RQ under name."""
        super().__init__(
            [queue], connection=connection, job_class=MegamsgJob, name=name, worker_ttl=WORKER_TTL
        )

    def stop(self) -> None:
        """Stop after the job in progress (at once when idle)."""
        self._stop_requested = True

    def _install_signal_handlers(self) -> None:
        """Signals belong to the runner's main thread, which stops every session itself."""

    def subscribe(self) -> None:
        """No pub/sub thread and connection per session: RQ's remote commands are not used."""

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        """Wait for a job in short polls, so that stop() takes effect while idle."""
        while not self._stop_requested:
            # max_idle_time=1: RQ returns None after one empty poll instead of waiting on.
            result = super().dequeue_job_and_maintain_ttl(POLL_SECONDS, 1)
            if result is not None:
                return result
        return None
