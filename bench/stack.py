"""A real MegaMsg stack for the benchmarks: `make run`'s launcher on a fresh data directory."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import requests

from bench.machine import REPO

sys.path.insert(0, REPO)

from megamsg.config import load_config  # noqa: E402
from megamsg.store.accounts import create_user  # noqa: E402
from megamsg.store.db import connect, migrate  # noqa: E402
from megamsg.store.instances import create_instance  # noqa: E402


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll predicate until true; SystemExit naming what did not happen in time."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what}")
        time.sleep(0.1)


class Stack:
    """The launcher (web + worker + embedded Redis) with the given driver, sends unpaced."""

    def __init__(self, driver: str = "simulator", **env: str):
        self.data_dir = tempfile.mkdtemp(prefix="megamsg-bench-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MEGAMSG_")}
        self.env.update(
            MEGAMSG_DATA_DIR=self.data_dir,
            MEGAMSG_WHATSAPP_DRIVER=driver,
            MEGAMSG_RATE_LIMIT_PER_MINUTE="0",
            MEGAMSG_MIN_INTERVAL_MS="0",  # the stack's own speed, not the pacing that protects a number
            MEGAMSG_JITTER_MS="0",
            MEGAMSG_ALLOW_PRIVATE_URLS="1",  # the webhook receiver listens on loopback
            MEGAMSG_BIND=f"127.0.0.1:{self.port}",
            **env,
        )
        # Settings the caller's environment sets for the stack (e.g. MEGAMSG_SESSIONS_PER_RUNNER).
        for name in ("MEGAMSG_SESSIONS_PER_RUNNER", "WEB_CONCURRENCY", "MEGAMSG_WEB_THREADS"):
            if name in os.environ and name not in env:
                self.env[name] = os.environ[name]
        saved = dict(os.environ)
        os.environ.update(self.env)
        try:
            self.config = load_config()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        migrate(self.config["DATABASE"])
        self.db = connect(self.config["DATABASE"])
        self.user = create_user(self.db, "bench@example.com", "benchmark-password")
        self.http = requests.Session()
        self.process: subprocess.Popen | None = None
        self.instances: list[dict[str, str]] = []

    def start(self) -> "Stack":
        """Start the launcher and wait until the web answers."""
        log = open(os.path.join(self.data_dir, "stack.log"), "wb")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "megamsg.runtime.launch"],
            cwd=REPO,
            env=self.env,
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._web_up, 60, "the web process")
        return self

    def _web_up(self) -> bool:
        try:
            return self.http.get(self.base + "/healthz", timeout=2).status_code < 500
        except requests.RequestException:
            return False

    def stop(self) -> None:
        """Ctrl-C to the launcher, as a user would; it stops web, worker and Redis."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if os.environ.get("BENCH_KEEP_DATA") != "1":
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def headers(self, instance: dict[str, str]) -> dict[str, str]:
        """The API credentials of an instance."""
        return {"Authorization": f"Bearer {instance['token']}", "X-Instance-Id": instance["instance_id"]}

    def add_instances(self, count: int) -> list[dict[str, str]]:
        """Create count more instances (the supervisor starts their sessions); return them."""
        added = []
        for _ in range(count):
            row, token = create_instance(self.db, self.user["id"], f"Bench {len(self.instances) + 1}")
            added.append({"instance_id": row["id"], "token": token})
            self.instances.append(added[-1])
        return added

    def status(self, instance: dict[str, str]) -> str | None:
        """The instance's public status, or None while the web cannot tell."""
        try:
            answer = self.http.get(
                self.base + "/api/whatsapp/instance", headers=self.headers(instance), timeout=5
            )
            return str(answer.json()["status"])
        except (requests.RequestException, ValueError, KeyError):
            return None

    def wait_started(self, instances: list[dict[str, str]], timeout: float = 300) -> None:
        """Until every instance's session has started (any status but starting)."""
        pending = list(instances)

        def done() -> bool:
            pending[:] = [i for i in pending if self.status(i) in (None, "starting")]
            return not pending

        wait_until(done, timeout, f"{len(pending)} session(s) to start")

    def link(self, instances: list[dict[str, str]], timeout: float = 300) -> None:
        """Simulator: scan each instance's QR with its own phone number and wait until connected."""
        for instance in instances:
            number = self.instances.index(instance) + 1
            wait_until(lambda i=instance: self.status(i) == "qr", timeout, "a QR code")
            answer = self.http.post(
                self.base + "/api/simulator/scan",
                headers=self.headers(instance),
                json={"phone_number": f"+2010{number:08d}"},
                timeout=30,
            )
            answer.raise_for_status()
        for instance in instances:
            wait_until(lambda i=instance: self.status(i) == "connected", timeout, "a linked session")

    def redis_url(self) -> str:
        """The Redis the stack's processes use (the launcher hands the embedded server's URL to its children)."""
        assert self.process is not None
        for name in os.listdir("/proc"):
            try:
                with open(f"/proc/{name}/environ", "rb") as handle:
                    env = dict(item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item)
            except (OSError, ValueError):
                continue
            if env.get(b"MEGAMSG_DATA_DIR", b"").decode() == self.data_dir and b"MEGAMSG_REDIS_URL" in env:
                return env[b"MEGAMSG_REDIS_URL"].decode()
        raise SystemExit("bench: cannot find the stack's Redis URL")

    def webhook_secret(self, instance: dict[str, str]) -> str:
        """The instance's signing secret (straight from the database: the bench owns it)."""
        row: Any = self.db.execute(
            "SELECT webhook_secret FROM instances WHERE id = ?", [instance["instance_id"]]
        ).fetchone()
        return str(row[0])
