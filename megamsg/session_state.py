"""The live state each session runner publishes to Redis, and how others read it."""

import time
from typing import Any

from megamsg import keys
from megamsg.instance_registry import unregister
from megamsg.redis_conn import as_text, get_redis

STATUSES = ("starting", "qr", "connected", "disconnected", "logged_out")
HEARTBEAT_STALE_SECONDS = 30


def read_state(config: dict[str, Any], instance_id: str) -> dict[str, Any]:
    """The instance's state; status 'not started' when no live runner publishes it."""
    raw = get_redis(config).hgetall(keys.state(instance_id))
    state: dict[str, Any] = {as_text(key): as_text(value) for key, value in raw.items()}
    heartbeat = float(state.get("heartbeat") or 0)
    state["alive"] = bool(state) and (time.time() - heartbeat) < HEARTBEAT_STALE_SECONDS
    if not state["alive"]:
        state["status"] = "not started"
    qr_expires = float(state.get("qr_expires_at") or 0)
    state["qr_seconds_left"] = max(0.0, qr_expires - time.time()) if qr_expires else 0.0
    return state


def public_status(state: dict[str, Any]) -> str:
    """Contract status; a runner that is not (yet) alive reads as 'starting'."""
    return str(state["status"]) if state["alive"] else "starting"


def mark_deleted(config: dict[str, Any], instance_id: str) -> None:
    """Tell the instance's runner to forget its WhatsApp session as it stops; drop its state.

    Called before the instance leaves SQLite; it also leaves the instances worker hosts serve.
    """
    client = get_redis(config)
    client.set(keys.deleted(instance_id), "1", ex=24 * 3600)
    client.delete(keys.state(instance_id))
    unregister(config, instance_id)
