"""`make run` from a clean directory: the real stack answers /healthz and stops without orphans."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading

import psutil
import pytest
import requests

from tests.conftest import REPO, wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_tracked_files(destination: str) -> None:
    """A clean checkout: only files git tracks (or would, for a new file), no data/, no venv."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        source = os.path.join(REPO, name)
        if not os.path.isfile(source):
            continue
        target = os.path.join(destination, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target)


def processes_using(path: str) -> list[psutil.Process]:
    """Live processes whose command line or working directory is inside path."""
    found = []
    for process in psutil.process_iter(["cmdline", "cwd", "status"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline = " ".join(process.info["cmdline"] or [])
        if path in cmdline or (process.info["cwd"] or "").startswith(path):
            found.append(process)
    return found


@pytest.mark.parametrize(
    "stop_signal",
    [
        signal.SIGINT,  # Ctrl-C, as a terminal sends it: to the whole foreground process group
        signal.SIGHUP,  # the terminal was closed
    ],
)
def test_make_run_serves_healthz_and_stops_cleanly(tmp_path, stop_signal):
    checkout = str(tmp_path / "megamsg")
    copy_tracked_files(checkout)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MEGAMSG_") and key != "REDIS_URL"
    }
    env["PORT"] = str(port)
    # Reuse this interpreter's environment as the venv so the test does not reinstall everything.
    make = subprocess.Popen(
        ["make", "run", f"VENV={sys.prefix}"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(make.stdout), daemon=True)
    reader.start()
    try:

        def healthy() -> bool:
            if make.poll() is not None:
                raise AssertionError(f"make run exited with {make.returncode}:\n{''.join(output)[-3000:]}")
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except (requests.ConnectionError, requests.Timeout):
                return False  # not listening yet, or listening while its workers still boot (a busy machine)

        wait_for(healthy, 90, interval=0.25, what="make run to serve /healthz")
        body = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
        assert body == {"ok": True, "redis": "ok", "database": "ok"}
        wait_for(lambda: any("setup code" in line for line in output), 10, what="setup code printed")
        text = "".join(output)
        assert f"http://127.0.0.1:{port}" in text
        assert re.search(r"setup code [0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}", text)
        assert os.path.exists(os.path.join(checkout, "data", "megamsg.db"))
    finally:
        os.killpg(make.pid, stop_signal)
        try:
            make.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            raise
    wait_for(lambda: not processes_using(checkout), 15, what="every process (web, worker, redis) to exit")
