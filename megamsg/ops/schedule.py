"""Scheduled backups with retention, run by the worker supervisor (off unless MEGAMSG_BACKUP_DIR is set)."""

import logging
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from megamsg.ops.backup import create_backup

log = logging.getLogger(__name__)
PREFIX = "megamsg-backup-"
SUFFIX = ".tar.gz"
RETRY_SECONDS = 600  # after a failed backup


class BackupSchedule:
    """Starts a backup in a thread when one is due (the supervisor's loop is never held up)."""

    def __init__(self, config: dict[str, Any]) -> None:
        """Read MEGAMSG_BACKUP_DIR, _EVERY_HOURS and _KEEP."""
        self.config = config
        self.directory = Path(config["BACKUP_DIR"]) if config.get("BACKUP_DIR") else None
        self.every = max(1.0, float(config["BACKUP_EVERY_HOURS"]) * 3600)
        self.keep = max(1, int(config["BACKUP_KEEP"]))
        self.thread: threading.Thread | None = None
        self.next_due: float | None = None  # wall clock; from the newest archive, so restarts keep the rhythm

    def tick(self) -> None:
        """Start a backup if one is due and none is running."""
        if self.directory is None or (self.thread is not None and self.thread.is_alive()):
            return
        if self.next_due is None:
            newest = max((p.stat().st_mtime for p in archives(self.directory)), default=0.0)
            self.next_due = newest + self.every
        if time.time() < self.next_due:
            return
        self.thread = threading.Thread(target=self.run_once, name="scheduled-backup", daemon=True)
        self.thread.start()

    def run_once(self) -> Path | None:
        """Write one archive, then delete the oldest beyond MEGAMSG_BACKUP_KEEP; return the new one."""
        assert self.directory is not None
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _remove_leftovers(self.directory, self.every)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.directory / f"{PREFIX}{stamp}{SUFFIX}"
        try:
            manifest = create_backup(self.config, str(path))
        except Exception:  # noqa: BLE001 - a failed backup is logged and retried, never fatal
            log.exception("scheduled backup to %s failed; retrying in %d s", self.directory, RETRY_SECONDS)
            self.next_due = time.time() + RETRY_SECONDS
            return None
        self.next_due = time.time() + self.every
        removed = prune(self.directory, self.keep)
        log.info(
            "backup written: %s (%d files; %d older removed, keeping %d)",
            path,
            len(manifest["files"]),
            len(removed),
            self.keep,
        )
        return path


def _remove_leftovers(directory: Path, age: float) -> None:
    """Staging directories and partial archives of backups cut short (a crash, a full disk)."""
    for path in [*directory.glob(".megamsg-backup-*"), *directory.glob(f".{PREFIX}*.partial")]:
        try:
            if time.time() - path.stat().st_mtime < age:
                continue  # perhaps another backup's, still being written
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            continue


def archives(directory: Path) -> list[Path]:
    """The scheduled archives in directory, oldest first (names sort by time)."""
    return sorted(p for p in directory.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` archives; return the deleted ones."""
    old = archives(directory)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
    return old
