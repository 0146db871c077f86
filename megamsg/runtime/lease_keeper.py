"""Keeps one hosted session's lease, and ends that session before anyone else could take it over."""

import logging
import os
import threading
import time
from collections.abc import Callable

from megamsg.runtime.lease import EXIT_LEASE_LOST, Lease
from megamsg.runtime.runner_sink import RunnerSink

log = logging.getLogger(__name__)

GIVE_UP_AT = 0.5  # of the lease without a renewal: end the session gracefully
CLOSE_AT = 0.6  # still open: close its client now, even mid-send
EXIT_AT = 0.7  # still open: end the whole process, the only way left to close it in time


class LeaseKeeper:
    """Renews the lease every quarter; without a renewal for too long, ends only this session."""

    def __init__(
        self,
        lease: Lease,
        sink: RunnerSink,
        seconds: float,
        end_session: Callable[[], None],
        close_client: Callable[[], None],
    ):
        self.lease = lease
        self.sink = sink
        self.seconds = seconds
        self.end_session = end_session  # graceful: the job in progress finishes first
        self.close_client = close_client
        self.renewed = time.monotonic()
        self.given_up_at: float | None = None
        self.closing = False
        self.stopped = threading.Event()

    @property
    def instance_id(self) -> str:
        """The instance whose lease this is."""
        return self.sink.instance_id

    def start(self) -> None:
        """Start renewing and watching."""
        for target in (self._renew, self._watch):
            name = f"lease-{target.__name__.strip('_')}-{self.instance_id}"
            threading.Thread(target=target, daemon=True, name=name).start()

    def stop(self) -> None:
        """Stop renewing and watching: the session's client is closed."""
        self.stopped.set()

    def _renew(self) -> None:
        interval = self.seconds / 4
        while not self.stopped.wait(interval):
            try:
                if not self.lease.renew():
                    log.error("lease for %s lost; stopping its session", self.instance_id)
                    self._give_up()
                    return
                self.renewed = time.monotonic()
                interval = self.seconds / 4
                self.sink.heartbeat()
            except Exception as exc:  # noqa: BLE001 - Redis blips must not kill the renewal thread
                log.warning("lease renewal of %s failed (%s); retrying", self.instance_id, type(exc).__name__)
                interval = min(1.0, self.seconds / 8)

    def _watch(self) -> None:
        # Judged by the clock alone: a renewal call can hang on a half-open connection. The lease
        # expires at the earliest `seconds` after the last renewal: the client must be closed before.
        while not self.stopped.wait(0.1):
            overdue = (time.monotonic() - self.renewed) / self.seconds
            if self.given_up_at is None and overdue > GIVE_UP_AT:
                log.error("could not renew the lease of %s in time; stopping its session", self.instance_id)
                self._give_up()
            given_up_for = time.monotonic() - (self.given_up_at or time.monotonic())
            if (
                self.given_up_at is not None
                and not self.closing
                and (overdue > CLOSE_AT or given_up_for > self.seconds / 5)
            ):
                # The graceful stop takes too long (a long send): close the client under it.
                log.error("session %s did not stop in time; closing its client now", self.instance_id)
                self.closing = True
                threading.Thread(target=self._close, daemon=True, name=f"close-{self.instance_id}").start()
            if overdue > EXIT_AT and self.given_up_at is not None:
                log.error("the client of %s could not be closed in time; exiting at once", self.instance_id)
                os._exit(EXIT_LEASE_LOST)

    def _close(self) -> None:
        try:
            self.close_client()
        except Exception:  # noqa: BLE001 - then the watch ends the process
            log.exception("closing the client of %s failed", self.instance_id)
            return
        self.stopped.set()

    def _give_up(self) -> None:
        if self.given_up_at is None:
            self.given_up_at = time.monotonic()
            self.end_session()
