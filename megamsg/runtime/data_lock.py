"""One `make run` per data directory: an OS lock on `<data dir>/run.lock`, which names its owner's pid."""

# The lock is flock(2) on a file kept open for the launcher's lifetime (and inherited by web and
# worker, so a stack whose launcher was killed keeps it until it has stopped): the kernel drops it when the
# last holder exits, kill -9 included, so staleness never depends on the pid. The pid written in
# the file only serves the messages. Gunicorn and `python worker.py` never take it: several of
# each legitimately share a data directory (Procfile deploys, workers on several machines).

import fcntl
import logging
import os
import time
from pathlib import Path
from typing import TextIO

import psutil

log = logging.getLogger(__name__)

LOCK_NAME = "run.lock"
PID_WAIT_SECONDS = 1.0  # how long a refused launcher waits for the owner to finish writing its pid


class DataDirInUse(Exception):
    """Another stack holds the data directory (the message says which process and what to do)."""


class DataDirLock:
    """The held lock: an open file whose flock lasts until it is closed or its holders exit."""

    def __init__(self, path: Path, handle: TextIO) -> None:
        """Wrap the locked, open lock file."""
        self.path = path
        self.handle = handle

    def fileno(self) -> int:
        """The descriptor to pass to children that must keep the lock while they run."""
        return self.handle.fileno()

    def release(self) -> None:
        """Empty the file (a clean stop leaves nothing that looks stale) and drop the lock."""
        if self.handle.closed:
            return
        # The file stays: unlinking a lock file lets two processes lock two different files.
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.flush()
        self.handle.close()


def acquire(data_dir: str) -> DataDirLock:
    """Lock data_dir for this process or raise DataDirInUse; take over (and log) a stale lock."""
    path = Path(data_dir) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - kept open for the process lifetime; "a+" keeps the owner's pid
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = _wait_for_pid(handle)
        handle.close()
        raise DataDirInUse(_in_use_message(Path(data_dir), path, owner)) from None
    previous = _read_pid(handle)
    if previous is not None:
        log.warning(
            "Data directory %s: took over the stale lock %s of pid %s (%s)",
            data_dir,
            path,
            previous,
            _why_stale(previous),
        )
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return DataDirLock(path, handle)


def _read_pid(handle: TextIO) -> int | None:
    """The pid the lock file names, if any."""
    handle.seek(0)
    try:
        return int(handle.read().strip() or 0) or None
    except ValueError:
        return None


def _wait_for_pid(handle: TextIO) -> int | None:
    """The owner's pid, allowing it a moment to write it (it locks first, then writes)."""
    deadline = time.monotonic() + PID_WAIT_SECONDS
    while (pid := _read_pid(handle)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid


def _why_stale(pid: int) -> str:
    """Why a pid recorded in a lock nobody holds is not the owner any more."""
    if pid == os.getpid():
        return "a previous run; the pid is now this process"
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return "exited, an unreaped zombie"
        return f"the pid is now an unrelated process: {process.name()}"
    except psutil.NoSuchProcess:
        return "gone"
    except psutil.AccessDenied:
        return "the pid is now another user's process"


def _describe(pid: int) -> str | None:
    """`pid N: its command line` for a live process, else None."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        command = " ".join(process.cmdline()) or process.name()
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:
        return f"pid {pid}"
    return f"pid {pid}: {command}"


def _holders(path: Path) -> list[int]:
    """Pids of the processes that have the lock file open (those this user may inspect)."""
    found = []
    target = os.path.realpath(path)
    for process in psutil.process_iter():
        try:
            if any(os.path.realpath(f.path) == target for f in process.open_files()):
                found.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    found = [pid for pid in found if pid != os.getpid()]
    # Name the top ones only: processes a holder started may inherit the lock from it.
    return [pid for pid in found if _parent(pid) not in found]


def _parent(pid: int) -> int | None:
    """The parent pid of a live process, if it is still there."""
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None


def _in_use_message(data_dir: Path, path: Path, owner: int | None) -> str:
    """What to tell someone whose `make run` found the data directory taken."""
    holders = _holders(path)
    # The recorded pid is the owner only while it holds the file (a pid can be reused).
    described = _describe(owner) if owner and (owner in holders or not holders) else None
    if described:
        who = f"another `make run` ({described})"
        stop = f"Stop that one first (Ctrl-C in its terminal, or `kill {owner}`)"
    else:
        # The launcher died but the processes it started (web, worker) hold the lock while they stop.
        names = ", ".join(_describe(pid) or f"pid {pid}" for pid in holders) or "its processes"
        who = f"a stack whose launcher (pid {owner or 'unknown'}) has exited; {names} still hold it"
        stop = "Wait for it to stop, or stop it" + (
            f" (`kill {' '.join(map(str, holders))}`)" if holders else ""
        )
    return (
        f"MegaMsg: the data directory {data_dir.resolve()} is in use by {who}; "
        "two stacks on one data directory would share its database and Redis.\n"
        f"{stop}, or give this one its own data and port:\n"
        "  MEGAMSG_DATA_DIR=/path/to/other-data PORT=8001 make run\n"
        f"(lock file: {path})"
    )
