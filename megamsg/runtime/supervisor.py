"""The worker supervisor (`python worker.py`): session runners, plus the events and webhook workers.

It never imports neonize. Each runner is a fresh interpreter (subprocess, never fork) hosting up
to SESSIONS_PER_RUNNER instances (placement spreads them); it is told its instances through its
stdin. Each hosted session takes its instance's Redis lease itself, so two supervisors sharing
Redis never run one instance twice: the loser's session keeps trying until the lease is free.
"""

import json
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

import redis

from megamsg import instance_registry, keys, metrics
from megamsg.config import env_for_children, load_config
from megamsg.data_permissions import make_private
from megamsg.delivery.media_retention import purge_expired_media
from megamsg.delivery.scheduler import queue_due
from megamsg.delivery.sweeper import sweep
from megamsg.ops.schedule import BackupSchedule
from megamsg.redis_conn import get_redis, redis_url
from megamsg.runtime.lease import free_leases_of, lease_holder
from megamsg.runtime.parent_watch import stop_when_orphaned
from megamsg.runtime.placement import place
from megamsg.store.db import acquire, migrate, release
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
    instances: set[str] = field(default_factory=set)  # a runner's assignment
    told: set[str] | None = None  # the assignment last written to the runner's stdin


class Supervisor:
    """Reconciles running children with the instances that should run."""

    def __init__(self, config: dict[str, Any], owns_database: bool = True):
        self.config = config
        # Without the database (a worker host with only Redis): sessions only, for the instances
        # recorded in Redis; the SQLite duties (queue workers, sweeps, backups) stay with the
        # supervisor next to the database.
        self.owns_database = owns_database
        self.last_desired: set[str] = set()
        self.env = env_for_children(config)
        # Children must reach the very same Redis, embedded or not.
        self.env["MEGAMSG_REDIS_URL"] = redis_url(config)
        self.redis = get_redis(config)
        self.runners: dict[int, Child] = {}  # slot → runner process and its instances
        self.retiring: list[Child] = []  # runners left without instances, stopping
        self.forgetting: dict[str, float] = {}  # deleted instance → when to forget it regardless
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
    def _spawn(self, child: Child, pipe: bool = False) -> None:
        # Own session: signals to the supervisor's group (Ctrl-C, a process manager) reach children only
        # through the supervisor, once; parent_watch stops them if the supervisor dies.
        child.process = subprocess.Popen(
            child.argv, env=self.env, start_new_session=True, stdin=subprocess.PIPE if pipe else None
        )
        child.started_at = time.monotonic()
        child.stopping_since = None
        child.told = None
        log.info("started %s (pid %s)", child.name, child.process.pid)

    def _tell(self, child: Child) -> None:
        """Write the runner's assignment to its stdin when it changed."""
        if child.process is None or child.process.stdin is None or child.told == child.instances:
            return
        try:
            child.process.stdin.write(json.dumps(sorted(child.instances)).encode() + b"\n")
            child.process.stdin.flush()
            child.told = set(child.instances)
        except OSError:
            pass  # it has exited: reaped and restarted (and told again) on a later tick

    def _reap_runner(self, child: Child) -> int | None:
        """Like _reap, but first frees the leases the dead runner held, so its sessions come back at once."""
        if child.process is None:
            return None
        try:
            # WNOWAIT: the exited runner stays a zombie meanwhile, so its pid cannot name anyone else yet.
            exited = os.waitid(os.P_PID, child.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            exited = None
        if exited is not None and child.instances:
            try:
                free_leases_of(self.redis, child.process.pid, child.instances)
            except Exception:  # noqa: BLE001 - then the leases simply expire
                log.exception("could not free the leases of %s", child.name)
        return self._reap(child)

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
        if code == 0 and child.stopping_since is not None:
            return
        # A crash: restart with capped exponential backoff, reset after a healthy minute.
        if now - child.started_at > 60:
            child.failures = 0
        child.failures += 1
        delay = min(MAX_BACKOFF, 2 ** (child.failures - 1))
        child.next_start = now + delay
        metrics.child_restarting(child.name)
        for instance_id in child.instances:
            metrics.child_restarting(f"runner {instance_id}")
        log.warning("%s exited with code %s; restarting in %.0fs", child.name, code, delay)

    # -- reconciliation --------------------------------------------------------
    def desired_instances(self) -> set[str]:
        """Instances that should be served: SQLite's (recorded in Redis too), else Redis's record."""
        try:
            if self.owns_database:
                self.last_desired = instance_registry.repair(self.config, self._database_instances)
            else:
                self.last_desired = instance_registry.desired(self.config)
        except redis.RedisError as exc:
            # Redis away: SQLite still says what to serve (the record is repaired once Redis is
            # back); without the database, the last record read does.
            log.debug("cannot read or repair the instances recorded in Redis: %s", exc)
            if self.owns_database:
                self.last_desired = self._database_instances()
        return self.last_desired

    def _database_instances(self) -> set[str]:
        # Every tick: a kept connection, not a new one that parses the schema each time.
        db = acquire(self.config["DATABASE"])
        try:
            return {row[0] for row in db.execute("SELECT id FROM instances")}
        finally:
            release(db, self.config["DATABASE"])

    def _take_up_the_database(self) -> None:
        """The database appeared (a first start, the web migrating it): take up its duties."""
        if self.owns_database or not os.path.exists(self.config["DATABASE"]):
            return
        migrate(self.config["DATABASE"])
        self.owns_database = True
        log.info("database found at %s; running the events and webhook workers too", self.config["DATABASE"])

    def reconcile(self) -> None:
        """Start, stop and restart children to match the desired state."""
        now = time.monotonic()
        self._take_up_the_database()
        if self.owns_database:
            self._reconcile_database_duties(now)
        self._reconcile_runners(now, self.desired_instances())
        if self.owns_database:
            try:
                queue_due(self.config)  # every tick: a scheduled message leaves within a tick of its time
            except Exception:  # noqa: BLE001 - retried next tick; must not stop the runners' supervision
                log.exception("queueing due scheduled messages failed; retrying")

    def _reconcile_database_duties(self, now: float) -> None:
        """Sweeps, media retention, backups, and the events and webhook workers (they write SQLite)."""
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

    def _reconcile_runners(self, now: float, desired: set[str]) -> None:
        """Place the desired instances on runners, start and tell runners, stop the empty ones."""
        for child in [*self.runners.values(), *self.retiring]:
            code = self._reap_runner(child)
            if code is not None:
                self._after_exit(child, code)
        hosted = set().union(*(child.instances for child in self.runners.values()))
        for instance_id in hosted - desired:
            log.info("instance %s deleted; ending its session", instance_id)
            self.forgetting.setdefault(instance_id, now + 2 * float(self.config["LEASE_SECONDS"]))
        placement = place(
            {slot: child.instances for slot, child in self.runners.items()},
            desired,
            int(self.config["SESSIONS_PER_RUNNER"]),
        )
        for slot in [slot for slot in self.runners if slot not in placement]:
            child = self.runners.pop(slot)
            child.instances = set()
            self.retiring.append(child)
        for slot, instance_ids in placement.items():
            child = self.runners.setdefault(
                slot,
                Child(
                    f"runner-process {slot}",
                    [sys.executable, "-m", "megamsg.runtime.runner", "--follow-stdin"],
                ),
            )
            child.instances = set(instance_ids)
            if child.process is None and now >= child.next_start:
                self._spawn(child, pipe=True)
            self._tell(child)
        for child in list(self.retiring):
            if child.process is None:
                self.retiring.remove(child)
            elif child.stopping_since is None:
                log.info("%s hosts no instance any more; stopping it", child.name)
                child.stopping_since = now
                child.process.terminate()
            elif now - child.stopping_since > STOP_GRACE_SECONDS:
                child.process.kill()
        for instance_id, deadline in list(self.forgetting.items()):
            if instance_id in desired:
                del self.forgetting[instance_id]  # back again (a restore): nothing to forget
            elif now >= deadline or lease_holder(self.redis, instance_id) is None:
                self._forget_session(instance_id)
                del self.forgetting[instance_id]

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
        if not self.owns_database:
            log.warning(
                "no database at %s: hosting sessions only, for the instances recorded in Redis; "
                "the events and webhook workers run next to the database",
                self.config["DATABASE"],
            )
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
            for child in [*self.runners.values(), *self.retiring, *self.queue_workers]
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
    owns_database = os.path.exists(config["DATABASE"])
    if owns_database:
        try:
            migrate(config["DATABASE"])
        except SchemaTooNew as exc:
            log.critical("Refusing to start: %s", exc)
            sys.exit(1)
    os.makedirs(os.path.join(config["DATA_DIR"], "sessions"), mode=0o700, exist_ok=True)
    metrics.prepare(config, "worker")  # before the children are started: they inherit it
    sys.exit(Supervisor(config, owns_database).run())
