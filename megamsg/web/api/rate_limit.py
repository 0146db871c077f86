"""Per-instance request rate limit (fixed one-minute windows in Redis)."""

import time
from typing import Any

from megamsg import keys
from megamsg.errors import ApiError
from megamsg.redis_conn import get_redis


def check_rate(config: dict[str, Any], instance_id: str, subject: str = "this instance") -> None:
    """Count one request; raise 429 with Retry-After past the configured limit."""
    limit = int(config["RATE_LIMIT_PER_MINUTE"])
    if limit <= 0:
        return
    now = time.time()
    window = int(now // 60)
    key = keys.rate_window(instance_id, window)
    pipe = get_redis(config).pipeline()
    pipe.incr(key)
    pipe.expire(key, 120)
    count, _ = pipe.execute()
    if count > limit:
        retry_after = max(1, int((window + 1) * 60 - now))
        raise ApiError(
            429,
            f"Rate limit exceeded: {limit} requests per minute for {subject}. Retry in {retry_after} s.",
            {"Retry-After": str(retry_after)},
        )
