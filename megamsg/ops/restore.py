"""Restore a backup archive into an empty data directory: verified first, then moved into place whole."""

import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import Any

import redis
import sqlite_utils

from megamsg import redis_conn
from megamsg.ops import redis_snapshot
from megamsg.ops.manifest import (
    DATABASE,
    FORMAT,
    MANIFEST,
    REDIS_KEYS,
    ArchiveError,
    copy_hashing,
    safe_member,
)
from megamsg.store.schema import LATEST, schema_version

DAMAGED = "The archive {path} is damaged or truncated ({why}). Use another copy."


def restore_backup(
    archive: str, data_dir: str, redis_url: str | None, skip_redis: bool = False
) -> dict[str, Any]:
    """Restore archive into data_dir (absent or empty); Redis keys into redis_url, or the embedded one."""
    target = Path(data_dir).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ArchiveError(
            f"The data directory {target} is not empty; restore only into an empty or new directory "
            "(then point MEGAMSG_DATA_DIR at it). Nothing was restored."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.restoring-", dir=target.parent))
    try:
        manifest = _extract(Path(archive), staging)
        _check_database(staging, manifest)
        _relocate_media(staging, target)
        if not skip_redis:
            _restore_redis(staging, redis_url)
        (staging / REDIS_KEYS).unlink()
        if target.exists():
            target.rmdir()
        os.rename(staging, target)
    except ArchiveError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ArchiveError(f"{exc} Nothing was restored.") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _extract(archive: Path, staging: Path) -> dict[str, Any]:
    """Extract every member into staging, checking it against the manifest; return the manifest."""
    if not archive.is_file():
        raise ArchiveError(f"No archive at {archive}.")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST:
                raise ArchiveError(f"{archive} is not a MegaMsg backup (it does not start with {MANIFEST}).")
            manifest = _read_manifest(tar, first, archive)
            seen: set[str] = set()
            while (member := tar.next()) is not None:
                _extract_member(tar, member, manifest, staging, seen)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ArchiveError(DAMAGED.format(path=archive, why=str(exc) or type(exc).__name__)) from exc
    missing = sorted(set(manifest["files"]) - seen)
    if missing:
        raise ArchiveError(
            DAMAGED.format(path=archive, why=f"{len(missing)} file(s) missing, e.g. {missing[0]}")
        )
    return manifest


def _read_manifest(tar: tarfile.TarFile, member: tarfile.TarInfo, archive: Path) -> dict[str, Any]:
    handle = tar.extractfile(member)
    try:
        manifest = json.loads(handle.read()) if handle else None
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ArchiveError(DAMAGED.format(path=archive, why="unreadable manifest"))
    if manifest.get("format") != FORMAT:
        raise ArchiveError(
            f"{archive} has archive format {manifest.get('format')!r}; this MegaMsg reads format {FORMAT}. "
            "Restore it with the MegaMsg version that wrote it."
        )
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version > LATEST:
        raise ArchiveError(
            f"{archive} holds a database at schema version {version} (MegaMsg "
            f"{manifest.get('megamsg_version')}), newer than this MegaMsg knows ({LATEST}). "
            "Restore it with that version or a later one."
        )
    return manifest


def _extract_member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, manifest: dict[str, Any], staging: Path, seen: set[str]
) -> None:
    expected = manifest["files"].get(member.name)
    if not member.isfile() or not safe_member(member.name) or expected is None or member.name in seen:
        raise ArchiveError(f"The archive holds {member.name!r}, which its manifest does not list.")
    source = tar.extractfile(member)
    assert source is not None  # a regular file always has contents
    digest, size = copy_hashing(source, staging / member.name)
    if (digest, size) != (expected["sha256"], expected["size"]):
        raise ArchiveError(
            f"The archive's {member.name} does not match its checksum; the archive is damaged. "
            "Use another copy."
        )
    seen.add(member.name)


def _check_database(staging: Path, manifest: dict[str, Any]) -> None:
    """The restored database is sound, at the manifest's schema version, with the manifest's row counts."""
    db = sqlite_utils.Database(sqlite3.connect(staging / DATABASE))
    try:
        verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise ArchiveError(f"The archive's database fails SQLite's integrity check ({verdict}).")
        if schema_version(db) != manifest["schema_version"]:
            raise ArchiveError("The archive's database is not at the schema version its manifest names.")
        counts = {table: db.table(table).count for table in sorted(db.table_names())}
        if counts != manifest["counts"]["tables"]:
            raise ArchiveError("The archive's database does not hold the rows its manifest counts.")
    finally:
        db.conn.close()


def _relocate_media(staging: Path, target: Path) -> None:
    """Point the messages' media paths (absolute, under the old data directory) into the new one."""
    db = sqlite3.connect(staging / DATABASE)
    try:
        if not db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'"
        ).fetchone():
            return  # a schema from before the message log
        with db:  # the stdlib connection's context manager: one transaction
            rows = db.execute("SELECT id, instance_id FROM messages WHERE media_path IS NOT NULL").fetchall()
            db.executemany(
                "UPDATE messages SET media_path = ? WHERE id = ?",
                [
                    (str(target / "media" / instance_id / message_id), message_id)
                    for message_id, instance_id in rows
                ],
            )
    finally:
        db.close()


def _restore_redis(staging: Path, redis_url: str | None) -> None:
    """Write the snapshot's keys into an external Redis (holding none of ours) or the staging dir's embedded one."""
    entries = redis_snapshot.decode((staging / REDIS_KEYS).read_bytes())
    if redis_url:
        client = redis.Redis.from_url(redis_url)
        try:
            if redis_snapshot.existing_keys(client):
                raise ArchiveError(
                    "The Redis at REDIS_URL already holds MegaMsg keys; restore into an empty one, "
                    "or pass --skip-redis to restore everything but Redis."
                )
            redis_snapshot.restore(client, entries)
        finally:
            client.close()
        return
    url = redis_conn.embedded_url(str(staging))
    client = redis.Redis.from_url(url)
    try:
        redis_snapshot.restore(client, entries)
    finally:
        client.close()
        # SHUTDOWN SAVE: the keys are in the data directory's Redis files before it moves into place.
        redis_conn.stop_embedded(str(staging), force=True)
