"""The optional Redis of a replica set (`HOMILY_REDIS_URL`): its client, and how its failures are reported.

Redis is a shared cache here, never the source of truth, and everything that uses it keeps working without it,
degraded to per-process behaviour (shared rate limits become per-replica limits; access changes reach the other
replicas at their next registry refresh instead of at once). So a Redis failure never reaches a client: it is
counted in `homily_redis_errors_total{operation=...}` and logged as one WARNING per operation at most every
`WARN_INTERVAL_SECONDS`, so an outage cannot flood the logs. Short socket timeouts bound what a dead Redis costs.

`redis.asyncio` is imported only when Redis is configured (it takes ~0.1 s to import).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from homily.metrics import Metrics

if TYPE_CHECKING:
    from redis.asyncio import Redis

CONNECT_TIMEOUT_SECONDS = 1.0
COMMAND_TIMEOUT_SECONDS = 0.5
"""A healthy Redis answers in well under a millisecond; these only bound what an unreachable one costs (a refused
connection fails at once). They are wall-clock times on the event loop, so they must also outlast the loop's own
lag when the process is busy (measured: a connect timed out at 0.25 s under test load), or a healthy Redis
would be taken for a dead one. Users of Redis keep these timeouts off the common path (a failed rate-limit
count makes the limiter probe Redis with one request at a time; pub/sub runs in the background)."""
WARN_INTERVAL_SECONDS = 30.0
ERRORS_METRIC = "homily_redis_errors_total"

log = logging.getLogger("homily.redis")


def open_redis(url: str, *, timeout: float = COMMAND_TIMEOUT_SECONDS) -> Redis:
    """A client with its own connection pool (connections open on first use, so this never fails on a down Redis).

    No retries inside redis-py: a failed command fails at once and its caller falls back. `timeout` bounds
    commands and, at least `CONNECT_TIMEOUT_SECONDS`, connecting."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis.from_url(
        url,
        socket_connect_timeout=max(timeout, CONNECT_TIMEOUT_SECONDS),
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def redacted(url: str) -> str:
    """The URL without its user name and password, for logs."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.hostname or ""
    return parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")).geturl()


def redis_errors() -> tuple[type[Exception], ...]:
    """What a Redis call raises when the server is down, slow or unreachable (socket errors include timeouts)."""
    from redis.exceptions import RedisError

    return (RedisError, OSError)


class FailureReporter:
    """Counts every failure of one use of Redis (`operation`) and logs a WARNING, with what the gateway does
    instead (`fallback`), at most once per `interval` seconds."""

    def __init__(
        self,
        metrics: Metrics,
        operation: str,
        fallback: str,
        *,
        interval: float = WARN_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        metrics.describe(ERRORS_METRIC, "Failed Redis operations by operation (the gateway falls back and answers)")
        self._metrics = metrics
        self._labels = (("operation", operation),)
        metrics.inc(ERRORS_METRIC, self._labels, 0.0)  # exposed from the start, so a dashboard sees 0, not nothing
        self._operation = operation
        self._fallback = fallback
        self._interval = interval
        self._clock = clock
        self._next_warning = float("-inf")

    def failed(self, error: BaseException) -> None:
        self._metrics.inc(ERRORS_METRIC, self._labels)
        now = self._clock()
        if now < self._next_warning:
            return
        self._next_warning = now + self._interval
        log.warning(
            "Redis %s failed (%s: %s); %s. Further failures are counted in %s and logged at most every %g s.",
            self._operation,
            type(error).__name__,
            error,
            self._fallback,
            ERRORS_METRIC,
            self._interval,
        )
