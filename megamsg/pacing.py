"""Per-instance pacing: departure turns reserved atomically in Redis, and the runner's wait for its turn.

Every sender (any web worker, the scheduler) reserves a turn with one Lua script, so turns of an
instance are handed out one interval apart whatever the number of processes. The runner, the only
process sending for its instance, then waits for the turn and for the interval since its own last
send: that second check keeps the guarantee even when jobs reach the queue out of turn order.
All times are Redis's clock (TIME), so web, scheduler and runner on different machines agree.
"""

import random
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.commands.core import Script

from megamsg import keys

MAX_INTERVAL_MS = 60_000
MAX_JITTER_MS = 60_000
WAIT_STEP_SECONDS = 0.5  # a waiting runner looks this often whether the send was cancelled

# KEYS: next free departure, the instance's RQ queue. ARGV: interval, jitter (drawn by the caller),
# longest acceptable wait (-1: any). Returns {turn, wait, depth}; turn is -1 when refused.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local depth = redis.call('LLEN', KEYS[2])
local turn = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now + depth * interval)
local wait = turn - now
local limit = tonumber(ARGV[3])
if limit >= 0 and wait > limit then
  return {-1, wait, depth}
end
local after = turn + interval + tonumber(ARGV[2])
redis.call('SET', KEYS[1], after, 'PX', after - now + 60000)
return {turn, wait, depth}
"""
# EVALSHA after the first call (redis-py loads the script again if the server lost it).
_RESERVE_SCRIPT = Script(None, _RESERVE.encode())  # type: ignore[arg-type]  # bytes: no client encoder needed


@dataclass(frozen=True)
class Pacing:
    """An instance's effective pacing."""

    min_interval_ms: int
    jitter_ms: int


@dataclass(frozen=True)
class Turn:
    """A reserved departure (at_ms, Redis clock) or a refusal (at_ms == -1), with the wait and queue depth."""

    at_ms: int
    wait_ms: int
    depth: int

    @property
    def refused(self) -> bool:
        """True when the turn came later than the caller could wait (nothing was reserved)."""
        return self.at_ms < 0


def pacing_of(config: dict[str, Any], instance: dict) -> Pacing:
    """The instance's settings, the configured defaults where it has none."""
    interval = instance.get("min_interval_ms")
    jitter = instance.get("jitter_ms")
    return Pacing(
        int(config["MIN_INTERVAL_MS"] if interval is None else interval),
        int(config["JITTER_MS"] if jitter is None else jitter),
    )


def reserve_turn(
    client: redis.Redis, instance_id: str, queue_key: str, pacing: Pacing, max_wait_ms: int | None
) -> Turn:
    """Reserve the instance's next departure, unless it would come after max_wait_ms."""
    jitter = random.randint(0, pacing.jitter_ms) if pacing.jitter_ms > 0 else 0  # noqa: S311 - not a secret
    limit = -1 if max_wait_ms is None else max(0, max_wait_ms)
    at, wait, depth = _RESERVE_SCRIPT(
        keys=[keys.pace_next(instance_id), queue_key],
        args=[pacing.min_interval_ms, jitter, limit],
        client=client,
    )
    return Turn(int(at), max(0, int(wait)), int(depth))


def redis_now_ms(client: redis.Redis) -> int:
    """Redis's clock in milliseconds since the epoch."""
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def wait_for_turn(
    client: redis.Redis, instance_id: str, message_id: str, at_ms: int, interval_ms: int
) -> None:
    """Sleep until the reserved turn and one interval after the last send; return early if cancelled."""
    while True:
        last = client.get(keys.pace_last(instance_id))
        target = max(at_ms, int(last) + interval_ms if last is not None else 0)
        now = redis_now_ms(client)
        if now >= target or client.get(keys.send_claim(message_id)) is not None:
            return
        time.sleep(min((target - now) / 1000, WAIT_STEP_SECONDS))


def mark_departure(client: redis.Redis, instance_id: str) -> None:
    """Note that a send has just finished: the next one waits an interval from now."""
    client.set(keys.pace_last(instance_id), redis_now_ms(client), px=MAX_INTERVAL_MS + 60_000)
