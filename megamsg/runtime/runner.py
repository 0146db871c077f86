"""A session runner: `python -m megamsg.runtime.runner INSTANCE_ID`.

A fresh interpreter per instance that imports only its WhatsApp driver, holds the instance's
Redis lease, and serves queue wa:<instance_id> with rq.SimpleWorker (no fork) so send jobs run
next to the live client. It never opens SQLite.
"""

import logging
import os
import signal
import sys
import threading
import time

from megamsg import keys
from megamsg.config import process_config
from megamsg.queues import MegamsgJob, queue
from megamsg.redis_conn import get_redis
from megamsg.runtime.abandoned_jobs import recover_session_queue
from megamsg.runtime.drivers import load_driver
from megamsg.runtime.lean_worker import LeanWorker
from megamsg.runtime.lease import EXIT_LEASE_HELD, EXIT_LEASE_LOST, Lease
from megamsg.runtime.parent_watch import stop_when_orphaned
from megamsg.runtime.runner_sink import RunnerSink
from megamsg.runtime.session_jobs import set_active

log = logging.getLogger("megamsg.runtime.runner")


class LeaseKeeper:
    """Renews the instance's lease and ends this runner before anyone else could take it over."""

    def __init__(self, lease: Lease, sink: RunnerSink, seconds: float):
        self.lease = lease
        self.sink = sink
        self.seconds = seconds
        self.renewed = time.monotonic()
        self.given_up_at: float | None = None
        self.stopped = threading.Event()

    def start(self) -> None:
        """Start renewing and watching."""
        for target in (self._renew, self._watch):
            threading.Thread(target=target, daemon=True, name=f"lease-{target.__name__}").start()

    def stop(self) -> None:
        """Stop renewing and watching: the session is closed."""
        self.stopped.set()

    def _renew(self) -> None:
        interval = self.seconds / 4
        while not self.stopped.wait(interval):
            try:
                if not self.lease.renew():
                    log.error("lease for %s lost; stopping this runner", self.sink.instance_id)
                    self._give_up()
                    return
                self.renewed = time.monotonic()
                interval = self.seconds / 4
                self.sink.heartbeat()
            except Exception as exc:  # noqa: BLE001 - Redis blips must not kill the renewal thread
                log.warning("lease renewal failed (%s); retrying", type(exc).__name__)
                interval = min(1.0, self.seconds / 8)

    def _watch(self) -> None:
        # Judged by the clock alone: a renewal call can hang on a half-open connection. The lease
        # expires at the earliest `seconds` after the last renewal: be gone well before that.
        while not self.stopped.wait(0.1):
            now = time.monotonic()
            if self.given_up_at is None and now - self.renewed > self.seconds / 2:
                log.error(
                    "could not renew the lease of %s in time; stopping this runner", self.sink.instance_id
                )
                self._give_up()
            late = now - self.renewed > self.seconds * 0.7
            if self.given_up_at is not None and (late or now - self.given_up_at > self.seconds / 5):
                # The graceful stop takes too long: another runner may start soon, so end the session now.
                log.error("runner for %s did not stop in time; exiting at once", self.sink.instance_id)
                os._exit(EXIT_LEASE_LOST)

    def _give_up(self) -> None:
        if self.given_up_at is None:
            self.given_up_at = time.monotonic()
            os.kill(os.getpid(), signal.SIGTERM)  # graceful: finish the current job, close the client


class EarlyStop:
    """SIGTERM/SIGINT before RQ's worker installs its own handlers: stop as gracefully as later."""

    def __init__(self) -> None:
        self.requested = False
        self.worker: LeanWorker | None = None
        signal.signal(signal.SIGTERM, self)
        signal.signal(signal.SIGINT, self)

    def __call__(self, signum: int, frame: object) -> None:
        """Note the request; hand it to the worker once there is one."""
        self.requested = True
        if self.worker is not None:
            self.worker.request_stop(signum, frame)


def run(instance_id: str) -> int:
    """Serve one instance until SIGTERM; return the exit code."""
    # Without this, a stop while the driver loads (neonize takes a second) would skip the
    # clean-up below and leave the lease to expire.
    early_stop = EarlyStop()
    config = process_config()
    client = get_redis(config)
    # Lease calls time out well within the lease, so a hung Redis cannot keep a stale session.
    lease_client = get_redis(config, timeout=max(0.5, config["LEASE_SECONDS"] / 5))
    lease = Lease(lease_client, instance_id, config["LEASE_SECONDS"])
    if not lease.acquire():
        log.info("instance %s is already served elsewhere", instance_id)
        return EXIT_LEASE_HELD
    stop_when_orphaned()
    sink = RunnerSink(config, instance_id, lease.token)
    sink.state(status="starting", pid=os.getpid(), last_error="", qr="", qr_expires_at="")
    keeper = LeaseKeeper(lease, sink, config["LEASE_SECONDS"])
    keeper.start()
    try:
        driver = load_driver(config["WHATSAPP_DRIVER"], instance_id, config, sink)
    except Exception as exc:
        log.exception("cannot load the WhatsApp driver")
        keeper.stop()
        sink.state(status="disconnected", last_error=f"cannot load the WhatsApp driver: {exc}")
        lease.release()
        return 1
    set_active(instance_id, driver, sink)
    try:
        driver.start()
        recover_session_queue(client, keys.session_queue(instance_id), MegamsgJob, sink)
        worker = LeanWorker(
            [queue(config, keys.session_queue(instance_id))],
            connection=client,
            job_class=MegamsgJob,
            name=f"runner-{instance_id}-{os.getpid()}",
        )
        early_stop.worker = worker
        if not early_stop.requested:
            worker.work(logging_level="WARNING")
    finally:
        # The keeper goes on renewing (and watching) until the client is closed.
        deleted = False
        try:
            deleted = bool(client.exists(keys.deleted(instance_id)))
            if deleted:
                driver.logout()
        except Exception:  # noqa: BLE001 - best effort while shutting down
            log.exception("could not log out deleted instance %s", instance_id)
        driver.stop()
        keeper.stop()
        try:
            if lease.renew():  # only while the instance is still ours: never overwrite a successor
                if deleted:
                    driver.forget()
                    client.delete(keys.state(instance_id))
                else:
                    client.hset(keys.state(instance_id), mapping={"heartbeat": "0", "status": "starting"})
            lease.release()
        except Exception:  # noqa: BLE001 - Redis gone: the lease simply expires
            log.exception("could not release the lease of %s", instance_id)
    return 0


def main() -> int:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s runner: %(message)s")
    if len(sys.argv) != 2:
        print("usage: python -m megamsg.runtime.runner INSTANCE_ID", file=sys.stderr)
        return 2
    return run(sys.argv[1])


if __name__ == "__main__":
    sys.exit(main())
