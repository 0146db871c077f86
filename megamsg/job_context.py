"""Configuration and connections for code running inside RQ jobs (no Flask app there)."""

from typing import Any

import redis
import sqlite_utils

from megamsg.config import load_config
from megamsg.redis_conn import get_redis
from megamsg.store.db import connect

_config: dict[str, Any] | None = None


def set_job_config(config: dict[str, Any]) -> None:
    """Use this configuration for jobs run in this process (workers set it at start)."""
    global _config
    _config = dict(config)


def job_config() -> dict[str, Any]:
    """The configuration jobs in this process use (from the environment by default)."""
    global _config
    if _config is None:
        _config = load_config()
    return _config


def job_db() -> sqlite_utils.Database:
    """A new SQLite connection for one job; the caller closes it (db.conn.close())."""
    return connect(job_config()["DATABASE"])


def job_redis() -> redis.Redis:
    """The shared Redis client."""
    return get_redis(job_config())
