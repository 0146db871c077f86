"""One instance hosted by a runner: its lease, driver and queue worker thread, restarted with backoff.

Each hosted session lives in a thread of its own, so one that fails to start, loses its lease or
crashes ends (and comes back) alone while the runner's other sessions go on.
"""

import contextlib
import logging
import os
import threading
import time
from itertools import count
from typing import Any

from rq import Queue

from megamsg import keys, metrics
from megamsg.queues import MegamsgJob
from megamsg.redis_conn import get_redis
from megamsg.runtime.abandoned_jobs import recover_session_queue
from megamsg.runtime.drivers import load_driver
from megamsg.runtime.drivers.base import Driver
from megamsg.runtime.lease import Lease
from megamsg.runtime.lease_keeper import LeaseKeeper
from megamsg.runtime.runner_sink import RunnerSink
from megamsg.runtime.session_jobs import set_active, unset_active
from megamsg.runtime.session_worker import SOCKET_TIMEOUT, SessionWorker

log = logging.getLogger(__name__)

LEASE_RETRY_SECONDS = 2.0  # how often an instance served elsewhere is tried again
MAX_BACKOFF = 30.0
HEALTHY_SECONDS = 60.0  # a session that ran this long starts its backoff afresh
_generations = count(1)  # RQ worker names must be unique: a restarted session registers anew


def restart_delay(failures: int) -> float:
    """Capped exponential backoff (1, 2, 4 … 30 s) for the n-th failure in a row."""
    return min(MAX_BACKOFF, 2.0 ** (failures - 1))


class HostedSession:
    """Serves one instance in this runner until removed."""

    def __init__(self, config: dict[str, Any], instance_id: str):
        self.config = config
        self.instance_id = instance_id
        self.removed = threading.Event()  # for good: unassigned, or the runner is stopping
        self.ending = threading.Event()  # the current run: stop after the job in progress
        self.worker: SessionWorker | None = None
        self.thread = threading.Thread(target=self._run, name=f"session-{instance_id}", daemon=True)

    def start(self) -> None:
        """Start serving in the session's thread."""
        self.thread.start()

    def remove(self) -> None:
        """End the session gracefully (the send in progress finishes) and do not come back."""
        self.removed.set()
        self._end()

    def _end(self) -> None:
        self.ending.set()
        worker = self.worker
        if worker is not None:
            worker.stop()

    def _run(self) -> None:
        failures = 0
        seconds = float(self.config["LEASE_SECONDS"])
        # Lease calls time out well within the lease, so a hung Redis cannot keep a stale session.
        lease_client = get_redis(self.config, timeout=max(0.5, seconds / 5))
        while not self.removed.is_set():
            lease = Lease(lease_client, self.instance_id, seconds)
            try:
                acquired = lease.acquire()
            except Exception as exc:  # noqa: BLE001 - Redis away: try again shortly
                log.warning(
                    "cannot take the lease of %s (%s); retrying", self.instance_id, type(exc).__name__
                )
                acquired = False
            if not acquired:
                self.removed.wait(LEASE_RETRY_SECONDS)  # served elsewhere, or a dead holder's lease expiring
                continue
            started = time.monotonic()
            try:
                reason = self._serve(lease, seconds)
            except Exception as exc:  # noqa: BLE001 - e.g. Redis away while starting: try again later
                log.exception("session %s failed", self.instance_id)
                reason = f"{type(exc).__name__}: {exc}"
                with contextlib.suppress(Exception):
                    lease.release()
            if self.removed.is_set():
                return
            if time.monotonic() - started > HEALTHY_SECONDS:
                failures = 0
            failures += 1
            delay = restart_delay(failures)
            metrics.child_restarting(f"runner {self.instance_id}")
            log.warning("session %s ended (%s); restarting in %.0fs", self.instance_id, reason, delay)
            self.removed.wait(delay)

    def _serve(self, lease: Lease, seconds: float) -> str:
        """One run of the session while the lease is ours; why it ended (unless removed)."""
        self.ending.clear()
        if self.removed.is_set():
            self.ending.set()
        sink = RunnerSink(self.config, self.instance_id, lease.token)
        sink.state(status="starting", pid=os.getpid(), last_error="", qr="", qr_expires_at="")
        holder: list[Driver] = []

        def close_client() -> None:
            for loaded in holder:
                loaded.stop()

        keeper = LeaseKeeper(lease, sink, seconds, self._end, close_client)
        keeper.start()
        try:
            driver = load_driver(self.config["WHATSAPP_DRIVER"], self.instance_id, self.config, sink)
        except Exception as exc:  # noqa: BLE001 - reported in the state; retried with backoff
            log.exception("cannot load the WhatsApp driver for %s", self.instance_id)
            keeper.stop()
            sink.state(status="disconnected", last_error=f"cannot load the WhatsApp driver: {exc}")
            lease.release()
            return f"cannot load the WhatsApp driver: {exc}"
        holder.append(driver)
        set_active(self.instance_id, driver, sink)
        reason = "its queue worker stopped"
        try:
            driver.start()
            self._work(sink)
        except Exception as exc:  # noqa: BLE001 - this session ends alone; the others go on
            log.exception("session %s failed", self.instance_id)
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            unset_active(self.instance_id, driver)
            self._close(lease, driver, keeper)
        if keeper.given_up_at is not None:
            reason = "its lease could not be kept"
        return reason

    def _work(self, sink: RunnerSink) -> None:
        """Settle what a predecessor left, then serve the instance's queue until asked to stop."""
        connection = get_redis(self.config, timeout=SOCKET_TIMEOUT)
        name = keys.session_queue(self.instance_id)
        recover_session_queue(connection, name, MegamsgJob, sink)
        if self.ending.is_set():
            return
        self.worker = SessionWorker(
            Queue(name, connection=connection, job_class=MegamsgJob),
            connection,
            name=f"runner-{self.instance_id}-{os.getpid()}-{next(_generations)}",
        )
        try:
            if not self.ending.is_set():  # _end() may have come before the worker existed
                self.worker.work(logging_level="WARNING")
        finally:
            self.worker = None

    def _close(self, lease: Lease, driver: Driver, keeper: LeaseKeeper) -> None:
        """Close the client; hand the instance back (forgetting it when deleted) while it is still ours."""
        client = get_redis(self.config)
        # The keeper goes on renewing (and watching) until the client is closed.
        deleted = False
        try:
            deleted = bool(client.exists(keys.deleted(self.instance_id)))
            if deleted:
                driver.logout()
        except Exception:  # noqa: BLE001 - best effort while shutting down
            log.exception("could not log out deleted instance %s", self.instance_id)
        driver.stop()
        keeper.stop()
        try:
            if lease.renew():  # only while the instance is still ours: never overwrite a successor
                if deleted:
                    driver.forget()
                    client.delete(keys.state(self.instance_id))
                else:
                    state = keys.state(self.instance_id)
                    client.hset(state, mapping={"heartbeat": "0", "status": "starting"})
            lease.release()
        except Exception:  # noqa: BLE001 - Redis gone: the lease simply expires
            log.exception("could not release the lease of %s", self.instance_id)
