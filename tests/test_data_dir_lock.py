"""One `make run` per data directory: a second launcher is refused, a killed one's lock is taken over."""

import os
import signal
import subprocess
import sys

import psutil
import pytest
import requests

from megamsg.runtime.data_lock import DataDirInUse, acquire
from megamsg.session_state import read_state
from tests.conftest import wait_for
from tests.processes import REPO, child_env
from tests.test_faults import free_port, redis_servers_on

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="flock and /proc, as on the servers")

LAUNCH = [sys.executable, "-m", "megamsg.runtime.launch"]


class Launchers:
    """`python -m megamsg.runtime.launch` processes on one data directory; every process they start is stopped."""

    extra_env: dict[str, str] = {}  # settings a subclass adds to every launcher it starts

    def __init__(self, tmp_path) -> None:
        self.tmp_path = tmp_path
        self.data_dir = str(tmp_path / "data")
        self.started: list[subprocess.Popen] = []
        self.seen: dict[int, psutil.Process] = {}  # every descendant noticed, to stop even orphans

    def start(self, port: int, name: str) -> subprocess.Popen:
        env = {key: value for key, value in os.environ.items() if not key.startswith("MEGAMSG_")}
        env.pop("REDIS_URL", None)
        env.update(
            PORT=str(port),
            MEGAMSG_DATA_DIR=self.data_dir,
            MEGAMSG_WHATSAPP_DRIVER="simulator",
            MEGAMSG_DOTENV=os.devnull,
            **self.extra_env,
        )
        with open(self.log_path(name), "wb") as log:
            process = subprocess.Popen(
                LAUNCH, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append(process)
        return process

    def log_path(self, name: str) -> str:
        return str(self.tmp_path / f"{name}.log")

    def log(self, name: str) -> str:
        with open(self.log_path(name), errors="replace") as handle:
            return handle.read()

    def note_stack(self, process: subprocess.Popen) -> list[psutil.Process]:
        """The launcher's descendants now (remembered for the final clean-up)."""
        try:
            stack = psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        self.seen.update((child.pid, child) for child in stack)
        return stack

    def serving(self, port: int, process: subprocess.Popen, name: str) -> bool:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited with {process.returncode}:\n{self.log(name)[-4000:]}")
        self.note_stack(process)
        return healthz(port) is not None

    def stop_all(self) -> None:
        for process in self.started:
            self.note_stack(process)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
        for process in self.started:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        leftovers = [p for p in [*self.seen.values(), *redis_servers_on(self.data_dir)] if alive(p)]
        for process in leftovers:
            process.kill()
        psutil.wait_procs(leftovers, timeout=15)


@pytest.fixture
def launchers(tmp_path):
    group = Launchers(tmp_path)
    yield group
    group.stop_all()


def healthz(port: int) -> dict | None:
    try:
        answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except requests.RequestException:
        return None
    return answer.json() if answer.status_code == 200 else None


def alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_a_second_launcher_on_a_data_dir_in_use_is_refused_and_the_first_keeps_serving(launchers):
    port = free_port()
    first = launchers.start(port, "first")
    wait_for(lambda: launchers.serving(port, first, "first"), 90, interval=0.25, what="the first stack")

    other_port = free_port()
    second = launchers.start(other_port, "second")
    # Before the lock, the second stack started on the same SQLite file and embedded Redis.
    wait_for(
        lambda: second.poll() is not None or healthz(other_port), 90, interval=0.25, what="the second to end"
    )
    assert second.poll() is not None, f"a second stack serves the same data:\n{launchers.log('second')}"
    assert second.returncode != 0
    refusal = launchers.log("second")
    assert f"{launchers.data_dir} is in use" in refusal
    assert f"pid {first.pid}" in refusal and f"kill {first.pid}" in refusal
    assert "MEGAMSG_DATA_DIR=" in refusal
    assert "Traceback" not in refusal
    with open(os.path.join(launchers.data_dir, "run.lock")) as handle:
        assert handle.read().strip() == str(first.pid)

    assert healthz(port) == {"ok": True, "redis": "ok", "database": "ok"}
    assert first.poll() is None

    # kill -9 of the whole first stack, as an OOM killer would: the OS lock goes with it.
    stack = launchers.note_stack(first)
    for process in [psutil.Process(first.pid), *stack]:
        process.kill()
    first.wait(timeout=30)
    psutil.wait_procs(stack, timeout=30)
    third = launchers.start(port, "third")
    wait_for(lambda: launchers.serving(port, third, "third"), 90, interval=0.25, what="the restarted stack")
    assert "stale lock" in launchers.log("third") and f"pid {first.pid}" in launchers.log("third")


@pytest.mark.slow
def test_after_kill_9_of_the_launcher_alone_its_stack_stops_and_a_new_one_starts(launchers):
    port = free_port()
    first = launchers.start(port, "first")
    wait_for(lambda: launchers.serving(port, first, "first"), 90, interval=0.25, what="the first stack")
    stack = launchers.note_stack(first)
    started_by_it = [p for p in stack if not p.name().startswith("redis-server")]
    assert started_by_it

    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    # Web and worker stop by themselves (gracefully) rather than serving a data dir nobody holds.
    wait_for(
        lambda: not any(alive(p) for p in started_by_it),
        90,
        interval=0.25,
        what="the orphaned stack to stop",
    )

    second = launchers.start(port, "second")
    wait_for(lambda: launchers.serving(port, second, "second"), 90, interval=0.25, what="the new stack")
    assert "stale lock" in launchers.log("second") and f"pid {first.pid}" in launchers.log("second")


# --- the lock itself, held by real processes ---------------------------------------------------

HOLDER = (
    "import sys\n"
    "from megamsg.runtime.data_lock import acquire\n"
    "lock = acquire(sys.argv[1])\n"  # kept referenced: a collected lock file is closed, and unlocked
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"  # hold it until the test closes our stdin (no release: a crash, as far as the lock knows)
)


@pytest.fixture
def children():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def hold_in_child(children: list, data_dir: str) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, data_dir],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    children.append(holder)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_lock_held_by_a_live_process_is_refused_naming_it_and_free_once_it_exits(
    tmp_path, children, caplog
):
    data_dir = str(tmp_path / "data")
    holder = hold_in_child(children, data_dir)

    with pytest.raises(DataDirInUse) as refused:
        acquire(data_dir)
    message = str(refused.value)
    assert f"in use by another `make run` (pid {holder.pid}: {sys.executable} -c" in message
    assert f"kill {holder.pid}" in message and "MEGAMSG_DATA_DIR=" in message

    holder.stdin.close()
    holder.wait(timeout=30)
    lock = acquire(data_dir)  # the kernel dropped the lock with the process
    assert f"stale lock {data_dir}/run.lock of pid {holder.pid} (gone)" in caplog.text
    lock.release()


def test_a_stale_lock_whose_pid_now_names_an_unrelated_process_is_taken_over(tmp_path, children, caplog):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    children.append(bystander)
    (data_dir / "run.lock").write_text(f"{bystander.pid}\n")  # as pids get reused after a crash

    lock = acquire(str(data_dir))

    assert (data_dir / "run.lock").read_text() == f"{os.getpid()}\n"
    assert f"of pid {bystander.pid} (the pid is now an unrelated process: python" in caplog.text
    assert bystander.poll() is None  # left alone
    lock.release()


def test_a_clean_release_leaves_nothing_stale(tmp_path, caplog):
    data_dir = str(tmp_path / "data")
    acquire(data_dir).release()
    assert (tmp_path / "data" / "run.lock").read_text() == ""
    acquire(data_dir).release()
    assert "stale" not in caplog.text


def test_worker_and_gunicorn_started_directly_ignore_the_lock(app, make_instance, supervisors, children):
    """Procfile deploys run several of each on one data directory: only the launcher takes the lock."""
    lock = acquire(app.config["DATA_DIR"])  # as a running `make run` would hold it
    try:
        instance, _ = make_instance()
        supervisors.start()
        wait_for(lambda: read_state(app.config, instance["id"])["alive"], 30, what="the runner to start")
        port = free_port()
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "app:app"],
            cwd=REPO,
            env=child_env(dict(app.config), MEGAMSG_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        children.append(web)
        wait_for(lambda: web.poll() is None and healthz(port), 60, interval=0.25, what="gunicorn to serve")
        web.terminate()
    finally:
        lock.release()
