"""The archive's manifest: what a backup holds and the checksums a restore verifies."""

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import IO, Any

import megamsg

FORMAT = 1  # the archive layout; a restore refuses formats it does not know
MANIFEST = "manifest.json"
DATABASE = "megamsg.db"
REDIS_KEYS = "redis-keys.jsonl"
SECRET_KEY = "secret_key"
SETTINGS = "settings.json"
CHUNK = 1024 * 1024


class ArchiveError(Exception):
    """An archive cannot be written or restored (the message says why and what to do)."""


def version() -> str:
    """This MegaMsg's version, as recorded in manifests."""
    return megamsg.__version__


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def copy_hashing(source: IO[bytes], target: Path) -> tuple[str, int]:
    """Copy a stream into a new 0600 file; return its SHA-256 (hex) and size."""
    digest, size = hashlib.sha256(), 0
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(target, "xb", opener=_private) as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _private(path: str, flags: int) -> int:
    import os

    return os.open(path, flags, 0o600)


def safe_member(name: str) -> bool:
    """Whether an archive member name stays inside the directory it is restored into."""
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def dumps(manifest: dict[str, Any]) -> bytes:
    """The manifest as stored in the archive."""
    return json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
