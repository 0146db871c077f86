"""A consistent snapshot of MegaMsg's Redis keys (DUMP in one Lua script) and its restore (RESTORE in MULTI)."""

# Why DUMP of our keys rather than BGSAVE and a copy of the rdb file:
# - consistent: a Lua script runs atomically, so every key is read at one instant;
# - the same for the embedded and an external Redis (no access to the server's files needed),
#   and only MegaMsg's keys: a shared external Redis's other tenants stay out of the archive;
# - the embedded server runs with appendonly=yes, and Redis ignores a restored dump.rdb when
#   appendonly is on, so a copied rdb would not even load.
# What is left out on purpose: RQ's keys (rq:*, in-flight jobs: after a restore SQLite is the
# truth and the sweeper settles messages and webhook events those jobs left unfinished), runner
# leases and published session states (they belong to processes that do not exist after a restore).

import base64
import json
from collections.abc import Iterator
from typing import Any

import redis

PATTERN = "megamsg:*"
EXCLUDED_PREFIXES = ("megamsg:lease:", "megamsg:state:")

_SNAPSHOT = """
local out = {}
for _, key in ipairs(redis.call('KEYS', ARGV[1])) do
  local skip = false
  for i = 2, #ARGV do
    if string.sub(key, 1, #ARGV[i]) == ARGV[i] then skip = true end
  end
  if not skip then
    local payload = redis.call('DUMP', key)
    if payload then
      table.insert(out, key)
      table.insert(out, redis.call('PTTL', key))
      table.insert(out, payload)
    end
  end
end
return out
"""


def snapshot(client: redis.Redis) -> list[dict[str, Any]]:
    """Every MegaMsg key (minus the excluded ones) with its TTL and DUMP payload, read atomically."""
    flat = client.eval(_SNAPSHOT, 0, PATTERN, *EXCLUDED_PREFIXES)
    return [
        {"key": _bytes(flat[i]), "pttl": int(flat[i + 1]), "dump": _bytes(flat[i + 2])}
        for i in range(0, len(flat), 3)
    ]


def encode(entries: list[dict[str, Any]]) -> Iterator[bytes]:
    """The snapshot as JSON lines (binary fields in base64)."""
    for entry in entries:
        line = {
            "key": base64.b64encode(entry["key"]).decode(),
            "pttl": entry["pttl"],
            "dump": base64.b64encode(entry["dump"]).decode(),
        }
        yield json.dumps(line).encode() + b"\n"


def decode(data: bytes) -> list[dict[str, Any]]:
    """Entries from encode()'s JSON lines."""
    entries = []
    for line in data.splitlines():
        item = json.loads(line)
        entries.append(
            {
                "key": base64.b64decode(item["key"]),
                "pttl": int(item["pttl"]),
                "dump": base64.b64decode(item["dump"]),
            }
        )
    return entries


def existing_keys(client: redis.Redis) -> int:
    """How many MegaMsg keys a Redis already holds (a restore writes only into one with none)."""
    return sum(1 for _ in client.scan_iter(PATTERN, count=1000))


def restore(client: redis.Redis, entries: list[dict[str, Any]]) -> None:
    """RESTORE every entry in one MULTI/EXEC: all keys or none."""
    pipe = client.pipeline(transaction=True)
    for entry in entries:
        # A key past its TTL at backup time is not in the snapshot; PTTL -1 means no expiry (0 here).
        pipe.restore(entry["key"], max(0, entry["pttl"]), entry["dump"])
    pipe.execute()


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value
