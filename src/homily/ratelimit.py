"""Per-credential request limits (API.md section 7: 429 with Retry-After and X-RateLimit-* headers).

The in-process limiter counts requests in fixed one-minute windows. A replica set shares limits through Redis (a
later backend behind the same `RateLimiter` protocol); on one process this one is exact.
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
    def hit(self, key: str, now: float | None = None) -> RateDecision: ...


class WindowRateLimiter:
    """`limit` requests per key per minute. Counters of past windows are dropped as windows roll over."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a rate limit must allow at least one request per minute")
        self._limit = limit
        self._window = -1
        self._counts: dict[str, int] = {}

    def hit(self, key: str, now: float | None = None) -> RateDecision:
        current = time.time() if now is None else now
        window = int(current // WINDOW_SECONDS)
        if window != self._window:
            self._window = window
            self._counts = {}
        count = self._counts.get(key, 0) + 1
        reset_at = (window + 1) * WINDOW_SECONDS
        if count > self._limit:
            return RateDecision(allowed=False, limit=self._limit, remaining=0, reset_at=reset_at)
        self._counts[key] = count
        return RateDecision(allowed=True, limit=self._limit, remaining=self._limit - count, reset_at=reset_at)


def enforce(limiter: RateLimiter | None, key: str, now: float | None = None) -> dict[str, str]:
    """Count one request; the rate headers to send, or `RateLimitedError` (429) carrying them and Retry-After."""
    if limiter is None:
        return {}
    current = time.time() if now is None else now
    decision = limiter.hit(key, current)
    if decision.allowed:
        return decision.headers()
    retry_after = max(1, math.ceil(decision.reset_at - current))
    raise RateLimitedError(
        f"Rate limit of {decision.limit} requests per minute reached for this credential; retry in {retry_after} s.",
        headers={**decision.headers(), "Retry-After": str(retry_after)},
    )
