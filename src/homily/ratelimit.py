"""Per-credential request limits (API.md section 7: 429 with Retry-After and X-RateLimit-* headers).

Requests are counted in fixed one-minute windows (`window_of`). On one process the in-process
`WindowRateLimiter` is exact; a replica set shares one budget per credential through Redis
(`homily.ratelimit_redis.RedisRateLimiter`, chosen by `HOMILY_REDIS_URL`). Both decide with `decide`, so they
answer with the same decision and headers for the same count.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

from homily.errors import RateLimitedError

WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int
    """Unix seconds when the current window ends."""

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }


class RateLimiter(Protocol):
    """Counts one request of `key` at `now` (unix seconds) and decides it. Async because a shared limiter asks
    another server; it never raises for its own failures (a shared one falls back to counting in process)."""

    async def acquire(self, key: str, now: float) -> RateDecision: ...


def window_of(now: float) -> tuple[int, int]:
    """The window number of `now` and the unix second at which that window ends."""
    window = int(now // WINDOW_SECONDS)
    return window, (window + 1) * WINDOW_SECONDS


def decide(limit: int, count: int, reset_at: int) -> RateDecision:
    """The decision for the `count`-th request of a window (1 for the first)."""
    return RateDecision(allowed=count <= limit, limit=limit, remaining=max(0, limit - count), reset_at=reset_at)


def check_limit(limit: int) -> int:
    if limit < 1:
        raise ValueError("a rate limit must allow at least one request per minute")
    return limit


class WindowRateLimiter:
    """`limit` requests per key per minute. Counters of past windows are dropped as windows roll over."""

    def __init__(self, limit: int) -> None:
        self._limit = check_limit(limit)
        self._window = -1
        self._counts: dict[str, int] = {}

    @property
    def limit(self) -> int:
        return self._limit

    def hit(self, key: str, now: float | None = None) -> RateDecision:
        window, reset_at = window_of(time.time() if now is None else now)
        if window != self._window:
            self._window = window
            self._counts = {}
        count = self._counts.get(key, 0) + 1
        if count <= self._limit:
            self._counts[key] = count
        return decide(self._limit, count, reset_at)

    async def acquire(self, key: str, now: float) -> RateDecision:
        return self.hit(key, now)


async def enforce(limiter: RateLimiter | None, key: str, now: float | None = None) -> dict[str, str]:
    """Count one request; the rate headers to send, or `RateLimitedError` (429) carrying them and Retry-After."""
    if limiter is None:
        return {}
    current = time.time() if now is None else now
    decision = await limiter.acquire(key, current)
    if decision.allowed:
        return decision.headers()
    retry_after = max(1, math.ceil(decision.reset_at - current))
    raise RateLimitedError(
        f"Rate limit of {decision.limit} requests per minute reached for this credential; retry in {retry_after} s.",
        headers={**decision.headers(), "Retry-After": str(retry_after)},
    )
