"""The live state each session runner publishes to Redis, and how others read it."""

import time
from typing import Any

from megamsg.redis_conn import get_redis

STATUSES = ("starting", "qr", "connected", "disconnected", "logged_out")
HEARTBEAT_STALE_SECONDS = 30


def state_key(instance_id: str) -> str:
    """Redis hash with the runner's published state."""
    return f"megamsg:state:{instance_id}"


def read_state(config: dict[str, Any], instance_id: str) -> dict[str, Any]:
    """The instance's state; status 'not started' when no live runner publishes it."""
    raw = get_redis(config).hgetall(state_key(instance_id))
    state = {key.decode(): value.decode() for key, value in raw.items()}
    heartbeat = float(state.get("heartbeat") or 0)
    state["alive"] = bool(state) and (time.time() - heartbeat) < HEARTBEAT_STALE_SECONDS
    if not state["alive"]:
        state["status"] = "not started"
    qr_expires = float(state.get("qr_expires_at") or 0)
    state["qr_seconds_left"] = max(0.0, qr_expires - time.time()) if qr_expires else 0.0
    return state


def mark_deleted(config: dict[str, Any], instance_id: str) -> None:
    """Tell the instance's runner to forget its WhatsApp session as it stops; drop its state."""
    client = get_redis(config)
    client.set(f"megamsg:deleted:{instance_id}", "1", ex=24 * 3600)
    client.delete(state_key(instance_id))
