"""The instances that should be served, kept in Redis too, for worker hosts that have only Redis.

A hash: instance id → the tag of the database it belongs to. The side that owns SQLite writes it
as instances are created and deleted, and its supervisor repairs its own entries from SQLite on
every tick; a supervisor without the database reads it. Entries of another deployment sharing
the Redis (another SECRET_KEY, so another tag) are never touched by this one's repair.
"""

import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

import redis

from megamsg import keys
from megamsg.redis_conn import as_text, get_redis

log = logging.getLogger(__name__)


def owner_tag(config: dict[str, Any]) -> str:
    """This deployment's tag: derived from its SECRET_KEY, which web and worker share."""
    return hmac.new(config["SECRET_KEY"].encode(), b"megamsg instance registry", hashlib.sha256).hexdigest()[
        :16
    ]


def register(config: dict[str, Any], instance_id: str) -> None:
    """Record a new instance (already in SQLite) as one to serve; best effort, the supervisor repairs."""
    try:
        get_redis(config).hset(keys.INSTANCES, instance_id, owner_tag(config))
    except redis.RedisError as exc:
        log.warning("could not record instance %s in Redis (%s); the worker adds it", instance_id, exc)


def unregister(config: dict[str, Any], instance_id: str) -> None:
    """An instance is being deleted (before it leaves SQLite): no worker host serves it any more."""
    get_redis(config).hdel(keys.INSTANCES, instance_id)


def desired(config: dict[str, Any]) -> set[str]:
    """Every instance any deployment on this Redis wants served."""
    return {as_text(instance_id) for instance_id in get_redis(config).hkeys(keys.INSTANCES)}


def repair(config: dict[str, Any], read_ids: Callable[[], set[str]]) -> set[str]:
    """Make this deployment's entries equal to read_ids() (SQLite's instances); return those ids.

    Redis is read first: the web writes SQLite before registering and unregisters before deleting
    from SQLite, so an instance created or deleted meanwhile is never removed or re-added wrongly.
    """
    client = get_redis(config)
    tag = owner_tag(config)
    recorded = {as_text(key): as_text(value) for key, value in client.hgetall(keys.INSTANCES).items()}
    instance_ids = read_ids()
    missing = sorted(i for i in instance_ids if recorded.get(i) != tag)
    # One being deleted right now (its marker is set first) is not brought back.
    added = [i for i, gone in zip(missing, _deleted(client, missing), strict=True) if not gone]
    removed = [i for i, owner in recorded.items() if owner == tag and i not in instance_ids]
    if added or removed:
        with client.pipeline() as pipe:  # MULTI/EXEC: both at once
            if added:
                pipe.hset(keys.INSTANCES, mapping=dict.fromkeys(added, tag))
            if removed:
                pipe.hdel(keys.INSTANCES, *removed)
            pipe.execute()
    return instance_ids


def _deleted(client: Any, instance_ids: list[str]) -> list[bool]:
    if not instance_ids:
        return []
    with client.pipeline(transaction=False) as pipe:
        for instance_id in instance_ids:
            pipe.exists(keys.deleted(instance_id))
        return [bool(found) for found in pipe.execute()]
