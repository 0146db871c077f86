"""Whether a process that registered itself in Redis (an RQ worker or scheduler) is gone."""

import socket
from datetime import UTC, datetime

import psutil

# A pid that started this long after its owner registered belongs to another process now.
PID_REUSE_SLACK_SECONDS = 5.0


def dead_on_this_host(hostname: str | None, pid: int | None, registered_at: datetime | None) -> bool:
    """True only when the process ran on this host and is gone (exited, a zombie, or its pid reused)."""
    if hostname != socket.gethostname() or not pid or pid <= 0:
        return False  # on another host, or unknown: only its TTL can tell
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        started = datetime.fromtimestamp(process.create_time(), UTC)
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False
    if registered_at is None:
        return False
    return (started - registered_at).total_seconds() > PID_REUSE_SLACK_SECONDS
