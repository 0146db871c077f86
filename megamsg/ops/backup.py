"""Write one backup archive (tar.gz, mode 0600) of a running MegaMsg: database, Redis, sessions, media, key."""

import io
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlite_utils

from megamsg import redis_conn
from megamsg.clock import now_iso
from megamsg.config import DEFAULTS
from megamsg.ops import redis_snapshot
from megamsg.ops.manifest import (
    DATABASE,
    FORMAT,
    MANIFEST,
    REDIS_KEYS,
    SECRET_KEY,
    SETTINGS,
    ArchiveError,
    dumps,
    sha256_file,
    version,
)
from megamsg.store.schema import schema_version


def create_backup(config: dict[str, Any], target: str) -> dict[str, Any]:
    """Write the archive to target (replacing it atomically); return its manifest."""
    data_dir = Path(config["DATA_DIR"])
    database = Path(config["DATABASE"])
    if not database.exists():
        raise ArchiveError(f"No database at {database}: nothing to back up (is MEGAMSG_DATA_DIR right?).")
    archive = Path(target).resolve()
    if archive.is_dir():
        raise ArchiveError(
            f"{archive} is a directory; give the archive's file name, e.g. {archive}/megamsg.tar.gz"
        )
    archive.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".megamsg-backup-", dir=archive.parent))
    try:
        manifest = _collect(config, data_dir, database, staging)
        _write_archive(staging, manifest, archive)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _collect(config: dict[str, Any], data_dir: Path, database: Path, staging: Path) -> dict[str, Any]:
    """Copy everything into staging (SQLite through its online backup API); return the manifest."""
    _sqlite_copy(database, staging / DATABASE)
    copy = sqlite_utils.Database(sqlite3.connect(staging / DATABASE))
    try:
        counts = {table: copy.table(table).count for table in sorted(copy.table_names())}
        schema = schema_version(copy)
    finally:
        copy.conn.close()
    sessions = _session_stores(config, data_dir, staging)
    media = _media(data_dir, staging)
    redis_info = _redis(config, staging)
    secret = data_dir / "secret_key"
    if secret.exists():
        shutil.copyfile(secret, staging / SECRET_KEY)
        secret_note = "included (secret_key)"
    else:
        secret_note = (
            "not included: set in the environment (MEGAMSG_SECRET_KEY); keep that value with the backup"
        )
    (staging / SETTINGS).write_bytes(dumps(_settings(config)))
    files = {}
    for path in sorted(p for p in staging.rglob("*") if p.is_file()):
        digest, size = sha256_file(path)
        files[path.relative_to(staging).as_posix()] = {"sha256": digest, "size": size}
    return {
        "format": FORMAT,
        "megamsg_version": version(),
        "schema_version": schema,
        "created_at": now_iso(),
        "counts": {"tables": counts, "session_stores": sessions, "media_files": media},
        "redis": redis_info,
        "secret_key": secret_note,
        "files": files,
    }


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (one backup step: writers in WAL mode go on)."""
    # mode=rw: never create an empty database where one was just deleted.
    src = sqlite3.connect(f"file:{quote(str(source))}?mode=rw", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        os.chmod(target, 0o600)
        src.backup(dst)
        # The copy stands alone: no -wal file to carry along.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def _session_stores(config: dict[str, Any], data_dir: Path, staging: Path) -> int:
    """The neonize session stores under sessions/ (a postgres SESSION_STORE is not ours to copy)."""
    found = 0
    for path in sorted((data_dir / "sessions").glob("*.sqlite")):
        target = staging / "sessions" / path.name
        target.parent.mkdir(mode=0o700, exist_ok=True)
        try:
            _sqlite_copy(path, target)
        except sqlite3.OperationalError:
            if path.exists():
                raise
            continue  # the instance was deleted meanwhile
        found += 1
    return found


def _media(data_dir: Path, staging: Path) -> int:
    """Stored incoming media files (written atomically, so a file is whole or absent)."""
    found = 0
    for path in sorted((data_dir / "media").glob("*/*")):
        if path.suffix == ".part" or not path.is_file():
            continue
        target = staging / "media" / path.parent.name / path.name
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            shutil.copyfile(path, target)
        except FileNotFoundError:
            continue  # removed by retention meanwhile
        found += 1
    return found


def _redis(config: dict[str, Any], staging: Path) -> dict[str, Any]:
    """Snapshot MegaMsg's Redis keys into staging; describe what is and is not included."""
    entries = redis_snapshot.snapshot(redis_conn.get_redis(config, timeout=60))
    with open(staging / REDIS_KEYS, "wb") as out:
        for line in redis_snapshot.encode(entries):
            out.write(line)
    return {
        "source": "external (REDIS_URL)" if config["REDIS_URL"] else "embedded",
        "keys": len(entries),
        "included": f"{redis_snapshot.PATTERN} (simulated phones, throttles, parked media, one-time secrets)",
        "excluded": "rq:* (in-flight jobs), runner leases and published session states, every other key",
    }


def _settings(config: dict[str, Any]) -> dict[str, Any]:
    """The effective configuration, for reference (never restored; no secrets)."""
    settings = {key: config.get(key) for key in DEFAULTS if key != "SECRET_KEY"}
    settings["REDIS_URL"] = redis_conn.describe(config)
    return settings


def _write_archive(staging: Path, manifest: dict[str, Any], archive: Path) -> None:
    """tar.gz with the manifest first, written to a 0600 temp file and moved into place."""
    fd, partial = tempfile.mkstemp(prefix=f".{archive.name}.", suffix=".partial", dir=archive.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                data = dumps(manifest)
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
                tar.addfile(info, io.BytesIO(data))
                for name in manifest["files"]:
                    tar.add(staging / name, arcname=name, filter=_plain)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(partial, 0o600)
        os.replace(partial, archive)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Members owned by nobody in particular, readable by their owner only."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    return info
