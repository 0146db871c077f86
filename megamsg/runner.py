"""A session runner: `python -m megamsg.runner INSTANCE_ID`.

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

from rq import SimpleWorker

from megamsg.drivers import load_driver
from megamsg.job_context import job_config
from megamsg.lease import Lease
from megamsg.queues import queue, session_queue_name
from megamsg.redis_conn import get_redis
from megamsg.runner_sink import RunnerSink
from megamsg.runtime_state import state_key
from megamsg.session_jobs import set_active

EXIT_LEASE_HELD = 3
log = logging.getLogger("megamsg.runner")


def deleted_key(instance_id: str) -> str:
    """Set by the web when an instance is deleted, so its runner also forgets the session."""
    return f"megamsg:deleted:{instance_id}"


def keep_lease(lease: Lease, sink: RunnerSink, seconds: float, stop: threading.Event) -> None:
    """Renew the lease and heartbeat; stop this runner when the lease is lost or cannot be renewed.

    Renewal failures count too: if Redis is unreachable for most of the lease time, another
    supervisor may take the instance over once the lease expires, so we stop first.
    """
    last_renewed = time.monotonic()
    while not stop.wait(seconds / 4):
        try:
            if not lease.renew():
                log.error("lease for %s lost; stopping this runner", sink.instance_id)
                break
            last_renewed = time.monotonic()
            sink.heartbeat()
        except Exception:  # noqa: BLE001 - Redis blips must not kill the renewal thread
            log.exception("lease renewal failed")
            if time.monotonic() - last_renewed > seconds * 0.75:
                log.error("could not renew the lease for %s in time; stopping this runner", sink.instance_id)
                break
    else:
        return
    os.kill(os.getpid(), signal.SIGTERM)


def run(instance_id: str) -> int:
    """Serve one instance until SIGTERM; return the exit code."""
    config = job_config()
    client = get_redis(config)
    lease = Lease(client, instance_id, config["LEASE_SECONDS"])
    if not lease.acquire():
        log.info("instance %s is already served elsewhere", instance_id)
        return EXIT_LEASE_HELD
    stop = threading.Event()
    sink = RunnerSink(config, instance_id)
    sink.state(status="starting", pid=os.getpid(), last_error="", qr="", qr_expires_at="")
    renewer = threading.Thread(
        target=keep_lease, args=(lease, sink, config["LEASE_SECONDS"], stop), daemon=True
    )
    renewer.start()
    driver = load_driver(config["WHATSAPP_DRIVER"], instance_id, config, sink)
    set_active(instance_id, driver, sink)
    try:
        driver.start()
        worker = SimpleWorker(
            [queue(config, session_queue_name(instance_id))],
            connection=client,
            name=f"runner-{instance_id}-{os.getpid()}",
        )
        worker.work(logging_level="WARNING")
    finally:
        stop.set()
        try:
            if client.exists(deleted_key(instance_id)):
                driver.logout()
        except Exception:  # noqa: BLE001 - best effort while shutting down
            log.exception("could not log out deleted instance %s", instance_id)
        driver.stop()
        try:
            if lease.renew():  # only while the instance is still ours: never overwrite a successor
                client.hset(state_key(instance_id), mapping={"heartbeat": "0", "status": "starting"})
            lease.release()
        except Exception:  # noqa: BLE001 - Redis gone: the lease simply expires
            log.exception("could not release the lease of %s", instance_id)
    return 0


def main() -> int:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s runner: %(message)s")
    if len(sys.argv) != 2:
        print("usage: python -m megamsg.runner INSTANCE_ID", file=sys.stderr)
        return 2
    return run(sys.argv[1])


if __name__ == "__main__":
    sys.exit(main())
