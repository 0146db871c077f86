"""Issue 11 item 9: the data directory is private (0700 directories, 0600 files), fixed at start if it was not."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from megamsg.data_permissions import tighten
from tests.conftest import wait_for
from tests.processes import REPO, ProcessGroup, child_env
from tests.test_faults import free_port

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads each process's umask from /proc")

LOOSE = {
    # path under the data directory → loose mode, as earlier versions left them
    "": 0o755,
    "redis": 0o755,
    "redis/appendonly.aof": 0o644,
    "redis/dump.rdb": 0o644,
    "sessions": 0o755,
    "sessions/abc.sqlite": 0o644,
    "media": 0o755,
    "media/abc": 0o750,
    "media/abc/def.jpg": 0o664,
    "megamsg.db": 0o644,
}


def loosen(data_dir: Path) -> None:
    for relative, mode in sorted(LOOSE.items()):
        path = data_dir / relative
        if mode & 0o111:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    for relative, mode in LOOSE.items():
        os.chmod(data_dir / relative, mode)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def private(data_dir: Path) -> bool:
    return all(
        mode_of(data_dir / relative) == (0o700 if mode & 0o111 else 0o600) for relative, mode in LOOSE.items()
    )


def umask_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        return int(next(line for line in handle if line.startswith("Umask:")).split()[1], 8)


def test_tighten_removes_group_and_other_bits_and_leaves_symlinks_alone(tmp_path):
    data_dir = tmp_path / "data"
    loosen(data_dir)
    outside = tmp_path / "outside.txt"
    outside.touch()
    os.chmod(outside, 0o644)
    (data_dir / "link").symlink_to(outside)
    (data_dir / "already.txt").touch()
    os.chmod(data_dir / "already.txt", 0o600)

    assert tighten(str(data_dir)) == len(LOOSE)
    assert private(data_dir)
    assert mode_of(outside) == 0o644  # a symlink's target is not ours to change
    assert tighten(str(data_dir)) == 0


def start_web(config: dict, group: ProcessGroup) -> int:
    port = free_port()
    env = child_env(config, MEGAMSG_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "app:app"],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    group.processes.append(process)
    # The gunicorn worker, which serves the requests.
    return wait_for(
        lambda: psutil.Process(process.pid).children(), 60, interval=0.1, what="a gunicorn worker"
    )[0].pid


def start_worker(config: dict, group: ProcessGroup) -> int:
    process = subprocess.Popen(
        [sys.executable, "worker.py"],
        cwd=REPO,
        env=child_env(config),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    group.processes.append(process)
    return process.pid


@pytest.mark.parametrize("start", [start_web, start_worker], ids=["web", "worker"])
def test_a_loose_data_directory_is_made_private_at_start(app, start):
    data_dir = Path(app.config["DATA_DIR"])
    loosen(data_dir)
    assert not private(data_dir)
    group = ProcessGroup(dict(app.config))
    try:
        pid = start(dict(app.config), group)
        wait_for(lambda: private(data_dir), 60, interval=0.1, what="the data directory to be private")
        # What the process (and, for the worker, its session runners) creates from now on is private too.
        assert umask_of(pid) == 0o077
    finally:
        group.stop_all()
