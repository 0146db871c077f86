"""RQ's scheduler in a thread of its worker rather than a forked process (one process per worker)."""

import threading

from rq.scheduler import RQScheduler, run

STOP_WAIT_SECONDS = 5.0  # the loop notices a stop request within its interval (1 s)


class ThreadScheduler(RQScheduler):
    """RQScheduler whose start() runs its loop in a daemon thread; the worker's signals stop it."""

    def _install_signal_handlers(self) -> None:
        """Nothing: only the main thread may set handlers; the worker calls stop_thread()."""

    def start(self) -> threading.Thread:
        """Run the scheduling loop in a thread (RQ checks `_process.is_alive()` to restart it)."""
        self._status = self.Status.STARTED
        self._stop_requested = False
        thread = threading.Thread(target=run, args=(self,), name="rq-scheduler", daemon=True)
        self._process = thread  # type: ignore[assignment]
        thread.start()
        return thread

    def stop_thread(self) -> None:
        """Ask the loop to stop (it releases its locks) and wait for it."""
        thread = self._process
        self.request_stop()
        if isinstance(thread, threading.Thread) and thread.is_alive():
            thread.join(STOP_WAIT_SECONDS)
