"""Incoming media is kept for INCOMING_MEDIA_RETENTION_DAYS, then deleted."""

import time
from pathlib import Path
from typing import Any


def purge_expired_media(config: dict[str, Any], now: float | None = None) -> int:
    """Delete stored incoming media older than the retention period; return how many files."""
    days = float(config["INCOMING_MEDIA_RETENTION_DAYS"])
    if days <= 0:
        return 0  # 0 means keep forever
    cutoff = (now or time.time()) - days * 86400
    removed = 0
    for path in (Path(config["DATA_DIR"]) / "media").glob("*/*"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
