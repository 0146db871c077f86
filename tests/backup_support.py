"""Helpers of the backup tests: table checksums, archive surgery."""

import hashlib
import io
import json
import sqlite3
import tarfile
from pathlib import Path

# Rewritten on restore on purpose: absolute paths under the old data directory.
RELOCATED = {("messages", "media_path")}


def table_digest(path: str, table: str, where: str = "") -> tuple[int, str]:
    """Row count and SHA-256 over every row (by rowid, columns by name) of a table."""
    raw = sqlite3.connect(path)
    digest, count = hashlib.sha256(), 0
    cursor = raw.execute(f"SELECT * FROM [{table}] {where} ORDER BY rowid")
    names = [column[0] for column in cursor.description]
    for row in cursor:
        values = {k: v for k, v in zip(names, row, strict=True) if (table, k) not in RELOCATED}
        digest.update(json.dumps(values, sort_keys=True, default=str).encode())
        count += 1
    raw.close()
    return count, digest.hexdigest()


def rewrite(archive: Path, target: Path, change) -> None:
    """Copy a tar.gz archive member by member, letting change(name, data, manifest) alter each."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(target, "w:gz") as out:
        manifest = json.loads(source.extractfile("manifest.json").read())
        members = [(m, source.extractfile(m).read()) for m in source.getmembers()]
        for member, data in members:
            data = change(member.name, data, manifest)
            if data is None:
                continue
            if member.name == "manifest.json":
                data = json.dumps(manifest).encode()
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
