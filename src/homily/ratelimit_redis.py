"""Rate limits shared by every replica: the fixed one-minute windows of `homily.ratelimit`, counted in Redis."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from homily.ratelimit import RateDecision, WindowRateLimiter, check_limit, decide, window_of
from homily.redis_backend import FailureReporter, redis_errors

if TYPE_CHECKING:
    from redis.asyncio import Redis

KEY_PREFIX = "homily:rl:"
EXPIRY_GRACE_SECONDS = 5
"""A window's counter outlives the window by this much, so replicas whose clocks differ slightly share it."""
RETRY_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0
"""After a failure Redis is left alone (requests are counted in process) for RETRY_SECONDS, doubling while it keeps
failing up to RETRY_MAX_SECONDS; then one request tries it while the others keep counting in process."""

# INCR and, on the window's first request, EXPIRE: atomic on the server (EVALSHA of the cached script).
COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""


class CountBatcher:
    """Runs `COUNT_SCRIPT` for many concurrent requests in one round trip.

    The first request starts a sender task; requests that arrive before it runs, or while its pipeline is in
    flight, go in the next pipeline. One request alone costs one round trip (plus a task switch); under load,
    one pipeline of n commands costs far less CPU than n separate commands (twice the counts per second at 32
    in flight here, `bench/ratelimit.py`), and CPU is what a gateway at high concurrency runs short of.

    A failed pipeline fails each of its requests with the error, and with them the requests queued meanwhile
    (each falls back on its own); a script missing from Redis (restarted, flushed) is loaded and the counts it
    refused are sent again (they were not counted).
    """

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._sha = hashlib.sha1(COUNT_SCRIPT.encode(), usedforsecurity=False).hexdigest()
        self._queue: list[tuple[str, int, asyncio.Future[int]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def count(self, key: str, ttl: int) -> int:
        """Increment `key` (setting it to expire in `ttl` seconds when new); its new value."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append((key, ttl, future))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_queued(), name="rate-limit-counts")
        return await future

    async def _send_queued(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    counts = await self._send(batch)
                except Exception as error:  # every waiter gets it and falls back on its own
                    # so do those queued meanwhile: after a timeout, a second attempt would only wait as long again
                    batch, self._queue = batch + self._queue, []
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, _, future), count in zip(batch, counts, strict=True):
                    if not future.done():
                        future.set_result(count)
        finally:
            self._sender = None

    async def _send(self, batch: list[tuple[str, int, asyncio.Future[int]]]) -> list[int]:
        from redis.exceptions import NoScriptError

        results = await self._pipeline(batch)
        missing = [index for index, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:
            await self._client.script_load(COUNT_SCRIPT)
            for index, result in zip(missing, await self._pipeline([batch[i] for i in missing]), strict=True):
                results[index] = result
        for result in results:
            if isinstance(result, Exception):
                raise result
        return [int(result) for result in results]

    async def _pipeline(self, batch: list[tuple[str, int, asyncio.Future[int]]]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for key, ttl, _ in batch:
            pipe.evalsha(self._sha, 1, key, ttl)
        results: list[Any] = await pipe.execute(raise_on_error=False)
        return results


def window_key(window: int, key: str) -> str:
    return f"{KEY_PREFIX}{window}:{key}"


class RedisRateLimiter:
    """`limit` requests per key per minute across all replicas using the same Redis.

    Invariants: the decision and headers for the n-th request of a window are those `WindowRateLimiter` gives
    (both use `decide`); a window is `now // 60` on the replica's clock, so replicas must keep their clocks
    synchronised (NTP) for windows to line up; keys are `homily:rl:<window>:<key>` and expire a few seconds after
    their window ends, so Redis holds at most two windows of counters. Refused requests are counted too, which
    changes nothing within the window (the count is already over the limit). Each count is atomic on the server
    (one script) and concurrent counts share round trips (`CountBatcher`).

    Fails open: when Redis is down, slow or unreachable, the request is counted by an in-process limiter instead
    (each replica then enforces the limit on its own) and the failure is reported (`FailureReporter`). Redis is
    then left alone for a while (`RETRY_SECONDS`, backing off), after which a single request probes it while the
    others go on counting in process, so an unreachable Redis delays only the requests in flight when it failed
    and one probe per retry, never every request by a socket timeout.
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
        self._counts = CountBatcher(client)
        self._fallback = WindowRateLimiter(limit)
        self._reporter = reporter
        self._errors = redis_errors()
        self._clock = clock
        self._failures = 0  # consecutive failed attempts; requests failing together in one incident count once
        self._retry_at = float("-inf")
        self._probing = False

    async def acquire(self, key: str, now: float) -> RateDecision:
        probe = False
        if self._failures:
            if self._probing or self._clock() < self._retry_at:
                return self._fallback.hit(key, now)
            self._probing = probe = True
        window, reset_at = window_of(now)
        ttl = max(1, math.ceil(reset_at - now)) + EXPIRY_GRACE_SECONDS
        try:
            count = await self._counts.count(window_key(window, key), ttl)
        except self._errors as error:
            self._reporter.failed(error)
            if probe or not self._failures:
                self._failures += 1
                backoff = RETRY_SECONDS * 2 ** min(self._failures - 1, 10)
                self._retry_at = self._clock() + min(RETRY_MAX_SECONDS, backoff)
            return self._fallback.hit(key, now)
        finally:
            if probe:
                self._probing = False
        self._failures = 0
        return decide(self._limit, count, reset_at)
