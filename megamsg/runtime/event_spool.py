"""An append-only file per instance that keeps, in order, the events Redis would not take.

`<data dir>/spool/<instance>.jsonl` (0600, in a 0700 directory): a header line naming the file's
generation, then one JSON record per event (media bytes base64-encoded), each fsync'd before
`append` returns. `<instance>.pos` says how far the file was replayed ("<generation> <offset>",
replaced atomically); a position of another generation is stale and means "from the start".
When everything is replayed the file is removed: the next outage starts a new generation.
Every operation holds an OS lock (`<instance>.lock`), so processes sharing the data directory
(an old runner still stopping, its successor) never interleave half-written records.
"""

import base64
import binascii
import fcntl
import json
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class SpooledEvent:
    """One record read back: the event, its media and where the next record starts."""

    event: dict[str, Any]
    media: bytes | None
    end: int


class EventSpool:
    """The spool file of one instance."""

    def __init__(self, directory: Path, instance_id: str) -> None:
        """Spool under directory (created 0700 on first use)."""
        self.directory = directory
        self.path = directory / f"{instance_id}.jsonl"
        self.position_path = directory / f"{instance_id}.pos"
        self.lock_path = directory / f"{instance_id}.lock"

    def pending(self) -> bool:
        """Whether a spool file exists (it is removed once fully replayed)."""
        return self.path.exists()

    def append(self, event: dict[str, Any], media: bytes | None = None) -> None:
        """Add an event at the end, durably (fsync'd) before returning."""
        record = {"event": event, "media": base64.b64encode(media).decode() if media is not None else None}
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        with self._locked():
            created = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                size = os.fstat(fd).st_size
                if size == 0:
                    line = json.dumps({"generation": secrets.token_hex(8)}).encode() + b"\n" + line
                elif not self._ends_with_newline(size):
                    line = b"\n" + line  # a record torn by a crash stays a line of its own, skipped
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_directory(self.directory)

    def next_event(self) -> SpooledEvent | None:
        """The first record not yet replayed, or None when there is none."""
        with self._locked():
            if not self.path.exists():
                return None
            with open(self.path, "rb") as handle:
                generation, start = _header(handle)
                offset = self._position(generation, start)
                handle.seek(offset)
                while True:
                    line = handle.readline()
                    if not line.endswith(b"\n"):
                        return None  # the end, or a record torn by a crash (nothing to replay)
                    offset += len(line)
                    record = _parse(line)
                    if record is not None:
                        return SpooledEvent(record[0], record[1], offset)
                    log.error("skipping an unreadable record in %s", self.path)
                    self._write_position(generation, offset)

    def done(self, record: SpooledEvent) -> None:
        """Note that record was published; remove the file once nothing is left in it."""
        with self._locked():
            with open(self.path, "rb") as handle:
                generation, _start = _header(handle)
                size = os.fstat(handle.fileno()).st_size
            if record.end >= size:
                # Removed before the position: a crash in between leaves a stale position only.
                self.path.unlink()
                self.position_path.unlink(missing_ok=True)
                _fsync_directory(self.directory)
            else:
                self._write_position(generation, record.end)

    def _ends_with_newline(self, size: int) -> bool:
        with open(self.path, "rb") as handle:
            handle.seek(size - 1)
            return handle.read(1) == b"\n"

    def _position(self, generation: str, start: int) -> int:
        try:
            stored_generation, offset = self.position_path.read_text().split()
        except (FileNotFoundError, ValueError):
            return start
        return int(offset) if stored_generation == generation else start

    def _write_position(self, generation: str, offset: int) -> None:
        tmp = self.position_path.with_suffix(".pos.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, f"{generation} {offset}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.position_path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock


def _header(handle: Any) -> tuple[str, int]:
    """(generation, offset of the first record); a file without a readable header has generation ''."""
    line = handle.readline()
    try:
        return str(json.loads(line)["generation"]), len(line)
    except (ValueError, KeyError, TypeError):
        return "", 0


def _parse(line: bytes) -> tuple[dict[str, Any], bytes | None] | None:
    try:
        record = json.loads(line)
        media = base64.b64decode(record["media"]) if record.get("media") is not None else None
        event = record["event"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    return (event, media) if isinstance(event, dict) else None


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
