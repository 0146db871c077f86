"""A Redis lease: exactly one holder per instance, anywhere, while it keeps renewing."""

import os
import socket
import uuid

import redis

from megamsg import keys
from megamsg.redis_conn import as_text

# Exit code of a runner whose session's client could not be closed before its lease could expire.
EXIT_LEASE_LOST = 4

_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_RELEASE_PREFIX = """
local holder = redis.call('get', KEYS[1])
if holder and string.sub(holder, 1, string.len(ARGV[1])) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def token_prefix(pid: int) -> str:
    """How the tokens of every lease taken by process pid on this host begin."""
    return f"{socket.gethostname()}:{pid}:"


class Lease:
    """Acquire, renew and release one instance's lease (token-checked, so never someone else's)."""

    def __init__(self, client: redis.Redis, instance_id: str, seconds: float):
        self.client = client
        self.key = keys.lease(instance_id)
        self.ms = int(seconds * 1000)
        self.token = f"{token_prefix(os.getpid())}{uuid.uuid4().hex[:8]}"

    def acquire(self) -> bool:
        """Take the lease if nobody holds it."""
        return bool(self.client.set(self.key, self.token, nx=True, px=self.ms))

    def renew(self) -> bool:
        """Extend our lease; False means we lost it."""
        return bool(self.client.eval(_RENEW, 1, self.key, self.token, self.ms))

    def release(self) -> None:
        """Give the lease up if it is still ours."""
        self.client.eval(_RELEASE, 1, self.key, self.token)


def lease_holder(client: redis.Redis, instance_id: str) -> str | None:
    """Who holds the instance's lease (host:pid:nonce), or None."""
    value = client.get(keys.lease(instance_id))
    return as_text(value) if value else None


def free_leases_of(client: redis.Redis, pid: int, instance_ids: set[str]) -> int:
    """Release the leases a dead (not yet reaped) process on this host held; return how many."""
    prefix = token_prefix(pid)
    return sum(int(client.eval(_RELEASE_PREFIX, 1, keys.lease(i), prefix)) for i in sorted(instance_ids))
