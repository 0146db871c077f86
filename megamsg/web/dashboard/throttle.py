"""Failed-login counters and locks in Redis, one per account and one per client address."""

import math
from dataclasses import dataclass
from typing import Any

from megamsg import keys
from megamsg.redis_conn import get_redis

ACCOUNT = "account"
ADDRESS = "address"

# One failure: the first opens a window of `lock` seconds; the one that reaches the limit
# restarts it, so a lock always lasts `lock` seconds. A counter left without an expiry (INCR
# just after the window ended) gets one, instead of locking forever.
_RECORD = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or n == tonumber(ARGV[2]) or redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return n
"""
# The count and the milliseconds it has left, read at one instant.
_STATUS = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = redis.call('PTTL', KEYS[1])
if n > 0 and left < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1]) * 1000
end
return {n, left}
"""


@dataclass(frozen=True)
class Lock:
    """Attempts for this account or from this address are refused for `seconds` more."""

    kind: str
    seconds: int


def limit(config: dict[str, Any], kind: str) -> int:
    """Failures allowed per window: LOGIN_MAX_FAILURES per account, LOGIN_ADDRESS_MAX_FAILURES per address."""
    return int(config["LOGIN_MAX_FAILURES"] if kind == ACCOUNT else config["LOGIN_ADDRESS_MAX_FAILURES"])


def _status(config: dict[str, Any], scope: str, kind: str, subject: str) -> tuple[int, int]:
    """(failures, seconds left in the window or lock) of one account or address."""
    script = get_redis(config).register_script(_STATUS)
    count, left_ms = script(
        keys=[keys.login_failures(scope, kind, subject)], args=[int(config["LOGIN_LOCK_SECONDS"])]
    )
    return int(count), math.ceil(max(int(left_ms), 0) / 1000)


def lock_on(config: dict[str, Any], scope: str, kind: str, subject: str) -> Lock | None:
    """The lock on this account or address, if it has reached its limit."""
    count, seconds = _status(config, scope, kind, subject)
    if count >= limit(config, kind) and seconds > 0:
        return Lock(kind, seconds)
    return None


def record_failure(config: dict[str, Any], scope: str, subjects: dict[str, str]) -> None:
    """Count one failure for each subject ({ACCOUNT: email, ADDRESS: address})."""
    script = get_redis(config).register_script(_RECORD)
    for kind, subject in subjects.items():
        if subject:
            script(
                keys=[keys.login_failures(scope, kind, subject)],
                args=[int(config["LOGIN_LOCK_SECONDS"]), limit(config, kind)],
            )


def forget(config: dict[str, Any], scope: str, kind: str, subject: str) -> tuple[int, int]:
    """Clear an account's or address's failures; return (failures, seconds it was still locked for)."""
    count, seconds = _status(config, scope, kind, subject)
    get_redis(config).delete(keys.login_failures(scope, kind, subject))
    return count, seconds if count >= limit(config, kind) else 0


def wait_text(seconds: int) -> str:
    """'40 seconds', '1 minute', '15 minutes': minutes rounded up from one minute on."""
    if seconds < 60:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'' if minutes == 1 else 's'}"
