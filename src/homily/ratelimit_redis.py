"""Rate limits shared by every replica: the fixed one-minute windows of `homily.ratelimit`, counted in Redis."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from homily.ratelimit import RateDecision, WindowRateLimiter, check_limit, decide, window_of
from homily.redis_backend import FailureReporter, redis_errors

if TYPE_CHECKING:
    from redis.asyncio import Redis

KEY_PREFIX = "homily:rl:"
EXPIRY_GRACE_SECONDS = 5
"""A window's counter outlives the window by this much, so replicas whose clocks differ slightly share it."""
RETRY_SECONDS = 1.0
"""After a failure Redis is left alone this long (requests are counted in process), so a dead Redis costs one
timeout per second rather than one per request."""

# INCR and, on the window's first request, EXPIRE: atomic and one round trip (EVALSHA of the cached script).
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""


def window_key(window: int, key: str) -> str:
    return f"{KEY_PREFIX}{window}:{key}"


class RedisRateLimiter:
    """`limit` requests per key per minute across all replicas using the same Redis.

    Invariants: the decision and headers for the n-th request of a window are those `WindowRateLimiter` gives
    (both use `decide`); a window is `now // 60` on the replica's clock, so replicas must keep their clocks
    synchronised (NTP) for windows to line up; keys are `homily:rl:<window>:<key>` and expire a few seconds after
    their window ends, so Redis holds at most two windows of counters. Refused requests are counted too, which
    changes nothing within the window (the count is already over the limit).

    Fails open: when Redis is down, slow or unreachable, the request is counted by an in-process limiter instead
    (each replica then enforces the limit on its own), the failure is reported (`FailureReporter`), and Redis is
    not tried again for `RETRY_SECONDS`.
    """

    def __init__(
        self,
        client: Redis,
        limit: int,
        reporter: FailureReporter,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = check_limit(limit)
        self._count = client.register_script(_COUNT_SCRIPT)
        self._fallback = WindowRateLimiter(limit)
        self._reporter = reporter
        self._errors = redis_errors()
        self._clock = clock
        self._retry_at = float("-inf")

    async def acquire(self, key: str, now: float) -> RateDecision:
        if self._clock() < self._retry_at:
            return self._fallback.hit(key, now)
        window, reset_at = window_of(now)
        ttl = max(1, math.ceil(reset_at - now)) + EXPIRY_GRACE_SECONDS
        try:
            count = int(await self._count(keys=[window_key(window, key)], args=[ttl]))
        except self._errors as error:
            self._retry_at = self._clock() + RETRY_SECONDS
            self._reporter.failed(error)
            return self._fallback.hit(key, now)
        return decide(self._limit, count, reset_at)
