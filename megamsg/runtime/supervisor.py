"""The worker supervisor (`python worker.py`): one runner per instance, plus the events and webhook workers.

It never imports neonize. Each runner is a fresh interpreter (subprocess, never fork) that
takes the instance's Redis lease itself, so two supervisors sharing Redis never run one
instance twice: the loser's runner exits with EXIT_LEASE_HELD and is retried later.
"""

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from megamsg import keys, metrics
from megamsg.config import env_for_children, load_config
from megamsg.data_permissions import make_private
from megamsg.delivery.media_retention import purge_expired_media
from megamsg.delivery.scheduler import queue_due
from megamsg.delivery.sweeper import sweep
from megamsg.ops.schedule import BackupSchedule
from megamsg.redis_conn import get_redis, redis_url
from megamsg.runtime.lease import EXIT_LEASE_HELD, lease_holder
from megamsg.runtime.parent_watch import stop_when_orphaned
from megamsg.store.db import connect, migrate
from megamsg.store.schema import SchemaTooNew

log = logging.getLogger("megamsg.runtime.supervisor")
STOP_GRACE_SECONDS = 10.0
MAX_BACKOFF = 30.0
TICK = 0.5


@dataclass
class Child:
    """A supervised child process and its restart bookkeeping."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    failures: int = 0
    next_start: float = 0.0
    stopping_since: float | None = None
    started_at: float = field(default_factory=time.monotonic)


class Supervisor:
    """Reconciles running children with the instances that should run."""

    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.env = env_for_children(config)
        # Children must reach the very same Redis, embedded or not.
        self.env["MEGAMSG_REDIS_URL"] = redis_url(config)
        self.redis = get_redis(config)
        self.runners: dict[str, Child] = {}
        # Separate workers, so a slow webhook receiver never delays storing events; several
        # webhook workers, each serving its share of the instances, so one tenant's slow receiver
        # does not hold up everyone's deliveries while each instance's events stay in order.
        self.queue_workers = [
            Child("events-worker", [sys.executable, "-m", "megamsg.runtime.queue_worker", keys.EVENTS_QUEUE]),
            *(
                Child(f"{name}-worker", [sys.executable, "-m", "megamsg.runtime.queue_worker", name])
                for name in keys.webhook_queues(config)
            ),
        ]
        self.stop_requested = False
        self.next_purge = 0.0
        self.backups = BackupSchedule(config)

    # -- process handling ------------------------------------------------------
    def _spawn(self, child: Child) -> None:
        # Own session: signals to the supervisor's group (Ctrl-C, a process manager) reach children only
        # through the supervisor, once; parent_watch stops them if the supervisor dies.
        child.process = subprocess.Popen(child.argv, env=self.env, start_new_session=True)
        child.started_at = time.monotonic()
        child.stopping_since = None
        log.info("started %s (pid %s)", child.name, child.process.pid)

    def _reap(self, child: Child) -> int | None:
        """Exit code if the child has exited (and forget the process), else None."""
        if child.process is None:
            return None
        code = child.process.poll()
        if code is None:
            return None
        child.process = None
        return code

    def _after_exit(self, child: Child, code: int) -> None:
        now = time.monotonic()
        if code == EXIT_LEASE_HELD:
            child.next_start = now + 2.0
            return
        if code == 0 and child.stopping_since is not None:
            return
        # A crash: restart with capped exponential backoff, reset after a healthy minute.
        if now - child.started_at > 60:
            child.failures = 0
        child.failures += 1
        delay = min(MAX_BACKOFF, 2 ** (child.failures - 1))
        child.next_start = now + delay
        metrics.child_restarting(child.name)
        log.warning("%s exited with code %s; restarting in %.0fs", child.name, code, delay)

    # -- reconciliation --------------------------------------------------------
    def desired_instances(self) -> set[str]:
        """Instances that should have a runner (every instance that exists)."""
        db = connect(self.config["DATABASE"])
        try:
            return {row[0] for row in db.execute("SELECT id FROM instances")}
        finally:
            db.conn.close()

    def reconcile(self) -> None:
        """Start, stop and restart children to match the desired state."""
        now = time.monotonic()
        if now >= self.next_purge:
            self.next_purge = now + 300
            removed = purge_expired_media(self.config)
            if removed:
                log.info("deleted %d incoming media file(s) past the retention period", removed)
            sweep(self.config)
        self.backups.tick()
        for worker in self.queue_workers:
            code = self._reap(worker)
            if code is not None:
                self._after_exit(worker, code)
            if worker.process is None and now >= worker.next_start:
                self._spawn(worker)

        desired = self.desired_instances()
        for instance_id, child in list(self.runners.items()):
            code = self._reap(child)
            if code is not None:
                self._after_exit(child, code)
            if instance_id not in desired:
                if child.process is None:
                    self._forget_session(instance_id)
                    del self.runners[instance_id]
                elif child.stopping_since is None:
                    log.info("instance %s deleted; stopping its runner", instance_id)
                    child.stopping_since = now
                    child.process.terminate()
                elif now - child.stopping_since > STOP_GRACE_SECONDS:
                    child.process.kill()
        for instance_id in desired:
            child = self.runners.setdefault(
                instance_id,
                Child(f"runner {instance_id}", [sys.executable, "-m", "megamsg.runtime.runner", instance_id]),
            )
            if child.process is None and now >= child.next_start:
                if lease_holder(self.redis, instance_id):
                    child.next_start = now + 2.0  # served elsewhere (or a dead holder's lease expiring)
                    continue
                self._spawn(child)
        try:
            queue_due(self.config)  # every tick: a scheduled message leaves within a tick of its time
        except Exception:  # noqa: BLE001 - retried next tick; must not stop the runners' supervision
            log.exception("queueing due scheduled messages failed; retrying")

    def _forget_session(self, instance_id: str) -> None:
        """Remove a deleted instance's local neonize session store and stored media."""
        # The deleted marker is left to expire: a runner on another machine may still need it.
        data = Path(self.config["DATA_DIR"])
        for path in (data / "sessions").glob(f"{instance_id}.sqlite*"):
            path.unlink(missing_ok=True)
        shutil.rmtree(data / "media" / instance_id, ignore_errors=True)

    # -- main loop ---------------------------------------------------------------
    def run(self) -> int:
        """Supervise until SIGTERM/SIGINT, then stop every child within the grace period."""
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        log.info("supervisor started (driver: %s)", self.config["WHATSAPP_DRIVER"])
        while not self.stop_requested:
            try:
                self.reconcile()
            except Exception:  # noqa: BLE001 - a Redis/SQLite blip must not kill the supervisor
                log.exception("reconcile failed; retrying")
            deadline = time.monotonic() + TICK
            while not self.stop_requested and time.monotonic() < deadline:
                time.sleep(0.05)
        self.shutdown()
        return 0

    def _request_stop(self, signum: int, _frame: Any) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        self.stop_requested = True

    def shutdown(self) -> None:
        """SIGTERM every child, wait up to the grace period, then SIGKILL what is left."""
        running = [
            (child.name, child.process)
            for child in [*self.runners.values(), *self.queue_workers]
            if child.process is not None
        ]
        for _name, process in running:
            try:
                process.terminate()
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, process in running:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", name)
                process.kill()
                process.wait()
        log.info("supervisor stopped")


def main() -> None:
    """Entry point for `python worker.py`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config()
    make_private(config["DATA_DIR"])  # the runners inherit the umask: session stores are private too
    if config["STOP_WHEN_ORPHANED"]:
        stop_when_orphaned()
    try:
        migrate(config["DATABASE"])
    except SchemaTooNew as exc:
        log.critical("Refusing to start: %s", exc)
        sys.exit(1)
    os.makedirs(os.path.join(config["DATA_DIR"], "sessions"), mode=0o700, exist_ok=True)
    metrics.prepare(config, "worker")  # before the children are started: they inherit it
    sys.exit(Supervisor(config).run())
