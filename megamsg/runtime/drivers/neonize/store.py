"""Where an instance's neonize session lives (SQLite file or Postgres), and wiping it."""

import logging
import os
import re
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def session_store_for(config: dict[str, Any], instance_id: str) -> str:
    """SESSION_STORE (postgres://…{instance_id}…) or <DATA_DIR>/sessions/<instance_id>.sqlite."""
    if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*", instance_id):
        raise ValueError(f"Instance id {instance_id!r} cannot name a session file.")
    if config.get("SESSION_STORE"):
        # neonize resumes the first device in a store: each instance needs a store of its own.
        return str(config["SESSION_STORE"]).replace("{instance_id}", instance_id)
    directory = Path(config.get("DATA_DIR") or "data") / "sessions"
    directory.mkdir(parents=True, exist_ok=True)
    return str(directory / f"{instance_id}.sqlite")


def wipe_session_store(store: str) -> None:
    """Delete the local SQLite session (whatsmeow already dropped the device on logout)."""
    if store.startswith("postgres"):
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.remove(store + suffix)
        except FileNotFoundError:
            pass
        except OSError:
            log.exception("Could not delete the session file %s", store + suffix)
