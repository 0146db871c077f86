"""The processes `make run` keeps alive: web and worker restarted when they die, the embedded Redis too.

One launcher process instead of honcho: a crash of one process no longer stops the others, and
nothing but the launcher sits between the terminal and the stack.
"""

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 60.0  # a process that ran this long starts its backoff afresh
# gunicorn finishes sends in flight within its graceful_timeout (45 s); the supervisor within 10 s.
STOP_GRACE_SECONDS = 50.0


@dataclass
class Service:
    """One child process of the stack, started again with capped backoff whenever it exits."""

    name: str
    argv: list[str]
    env: dict[str, str]
    pass_fds: tuple[int, ...] = ()
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = 0

    def start(self) -> None:
        """Start the process in a session of its own (a terminal's Ctrl-C reaches the launcher only)."""
        self.process = subprocess.Popen(
            self.argv, env=self.env, start_new_session=True, pass_fds=self.pass_fds
        )
        self.started_at = time.monotonic()
        self.restart_at = None
        log.info("started %s (pid %d)", self.name, self.process.pid)

    def check(self, now: float) -> None:
        """Notice an exit and schedule the restart; start it when its time has come."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restarts += 1
                self.start()
            return
        if self.process is None or self.process.poll() is None:
            return
        if now - self.started_at >= HEALTHY_AFTER_SECONDS:
            self.failures = 0
        self.failures += 1
        delay = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** (self.failures - 1))
        log.warning("%s exited with code %s; restarting in %.0f s", self.name, self.process.returncode, delay)
        self.restart_at = now + delay

    def signal(self, signum: int) -> None:
        """Send signum to the process, if it runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)


def stop_all(services: list[Service], grace: float = STOP_GRACE_SECONDS) -> None:
    """Ask every process to stop gracefully; kill whatever is left after grace seconds."""
    for service in services:
        service.restart_at = None
        service.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for service in services:
        if service.process is None:
            continue
        try:
            service.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s; killing it", service.name, grace)
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()


def run(
    services: list[Service],
    should_stop: Callable[[], bool],
    keep_redis: Callable[[], None] | None = None,
    tick: float = 0.5,
) -> None:
    """Start every service and keep them running until should_stop(); keep_redis() runs every tick."""
    for service in services:
        service.start()
    while not should_stop():
        now = time.monotonic()
        if keep_redis is not None:
            keep_redis()
        for service in services:
            service.check(now)
        time.sleep(tick)
