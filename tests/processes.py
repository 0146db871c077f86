"""Child processes of the test suite: environment and always-stopped groups."""

import os
import signal
import subprocess

import psutil

from megamsg.config import env_for_children

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child_env(config: dict, **extra: str) -> dict[str, str]:
    """Environment for a MegaMsg child process using the test's configuration."""
    env = env_for_children(config)
    env["MEGAMSG_SECRET_KEY"] = config["SECRET_KEY"]
    env.update(extra)
    return env


class ProcessGroup:
    """Processes started in their own sessions, stopped (and their children killed) at the end."""

    grace_seconds = 15.0

    def __init__(self, config: dict):
        self.config = config
        self.processes: list[subprocess.Popen] = []

    def stop_all(self) -> None:
        # Runners and queue workers live in sessions of their own: note them before stopping.
        descendants = []
        for process in self.processes:
            try:
                descendants += psutil.Process(process.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                pass
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=self.grace_seconds)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            # Never leave a runner or scheduler behind, even when a test failed half-way.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _, alive = psutil.wait_procs(descendants, timeout=self.grace_seconds)
        for straggler in alive:
            straggler.kill()
