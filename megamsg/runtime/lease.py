"""A Redis lease: exactly one holder per instance, anywhere, while it keeps renewing."""

import os
import socket
import uuid

import redis

_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


def lease_key(instance_id: str) -> str:
    """Redis key of an instance's runner lease."""
    return f"megamsg:lease:{instance_id}"


class Lease:
    """Acquire, renew and release one instance's lease (token-checked, so never someone else's)."""

    def __init__(self, client: redis.Redis, instance_id: str, seconds: float):
        self.client = client
        self.key = lease_key(instance_id)
        self.ms = int(seconds * 1000)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

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
    value = client.get(lease_key(instance_id))
    return value.decode() if value else None
