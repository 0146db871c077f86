"""One-time secrets (a new API token) carried from the POST that made them to the GET page that shows them once.

The stash is in Redis for a few minutes under an unguessable id kept in the user's session, never
in a URL. Redis holds the secret only XORed with a pad of the same length kept in the session
(a one-time pad), so neither Redis nor its append-only file on disk ever has the clear secret.
"""

import json
import secrets
from typing import Any

from flask import session

from megamsg import keys
from megamsg.redis_conn import get_redis

TTL_SECONDS = 300
_SESSION_KEY = "one_time"
_MAX_PENDING = 5  # per session: a few tabs at once, and the cookie stays small


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def stash(config: dict[str, Any], instance_id: str, kind: str, secret: str) -> None:
    """Keep secret for the next GET of this instance's page in this session."""
    clear = secret.encode()
    pad = secrets.token_bytes(len(clear))
    stash_id = secrets.token_urlsafe(24)
    value = json.dumps({"instance_id": instance_id, "kind": kind, "sealed": _xor(clear, pad).hex()})
    get_redis(config).set(keys.one_time(stash_id), value, ex=TTL_SECONDS)
    pending = dict(session.get(_SESSION_KEY) or {})
    pending.pop(instance_id, None)
    pending[instance_id] = [stash_id, pad.hex()]
    session[_SESSION_KEY] = dict(list(pending.items())[-_MAX_PENDING:])


def take(config: dict[str, Any], instance_id: str) -> tuple[str, str] | None:
    """(kind, secret) stashed for this instance in this session, once; None if none or already taken."""
    pending = dict(session.get(_SESSION_KEY) or {})
    entry = pending.pop(instance_id, None)
    if entry is None:
        return None
    session[_SESSION_KEY] = pending
    stash_id, pad = entry
    pipe = get_redis(config).pipeline()  # MULTI: read and delete at once, so it is shown once
    pipe.get(keys.one_time(stash_id))
    pipe.delete(keys.one_time(stash_id))
    raw, _ = pipe.execute()
    if raw is None:
        return None
    value = json.loads(raw)
    if value["instance_id"] != instance_id:
        return None
    return value["kind"], _xor(bytes.fromhex(value["sealed"]), bytes.fromhex(pad)).decode()
