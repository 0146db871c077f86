"""Failed-login throttling kept in Redis (per account and per client address)."""

from typing import Any

from megamsg import keys
from megamsg.redis_conn import get_redis


def _keys(scope: str, subjects: list[str]) -> list[str]:
    return [keys.login_failures(scope, subject) for subject in subjects if subject]


def locked_for(config: dict[str, Any], scope: str, subjects: list[str]) -> int:
    """Seconds until another attempt is allowed (0 = allowed now)."""
    client = get_redis(config)
    wait = 0
    for key in _keys(scope, subjects):
        count = int(client.get(key) or 0)
        if count >= config["LOGIN_MAX_FAILURES"]:
            wait = max(wait, max(client.ttl(key), 1))
    return wait


def record_failure(config: dict[str, Any], scope: str, subjects: list[str]) -> None:
    """Count one failure for each subject; the window starts at the first failure."""
    client = get_redis(config)
    for key in _keys(scope, subjects):
        # SET NX EX then INCR (not EXPIRE NX, which the embedded Redis 6.2 lacks).
        pipe = client.pipeline()
        pipe.set(key, 0, ex=int(config["LOGIN_LOCK_SECONDS"]), nx=True)
        pipe.incr(key)
        pipe.execute()


def clear(config: dict[str, Any], scope: str, subjects: list[str]) -> None:
    """Forget failures after a success."""
    names = _keys(scope, subjects)
    if names:
        get_redis(config).delete(*names)
