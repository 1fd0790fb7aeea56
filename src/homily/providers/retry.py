"""Retrying one upstream call: exponential backoff with full jitter, honouring `Retry-After`, bounded two
ways."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from homily.errors import EmptyCompletionError, HomilyError, ProviderTimeoutError, ProviderUnavailableError
from homily.providers.errors import UpstreamServerError
from homily.providers.types import StreamDelta
from homily.providers.upstream import retry_after_of

log = logging.getLogger("homily.providers.retry")

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


def is_transient(error: HomilyError) -> bool:
    """Worth repeating against the same upstream: 429, 5xx, refused connections, timeouts."""
    return isinstance(error, ProviderUnavailableError | ProviderTimeoutError | UpstreamServerError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry one upstream before giving up (and falling back).

    Invariant: at most `max_attempts` calls, and no sleep that would end past `total_budget` seconds after the
    first attempt began; a `Retry-After` longer than what is left of the budget ends the retries at once
    instead of waiting. Only transient errors are retried, and only before any byte reached the client
    (callers guarantee the latter by retrying only whole calls or the opening of a stream).
    """

    max_attempts: int = 3
    base_delay: float = 0.25
    max_delay: float = 8.0
    total_budget: float = 20.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter delay before retry number `attempt` (1-based): uniform in [0, min(max, base *
        2^(n-1))]."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return rng.uniform(0.0, ceiling)

    def delay_for(self, attempt: int, error: HomilyError, rng: random.Random) -> float:
        delay = self.backoff(attempt, rng)
        retry_after = retry_after_of(error)
        return max(delay, retry_after) if retry_after is not None else delay


class Retrier:
    """Runs calls under a `RetryPolicy`. `sleep`, `clock` and `rng` are injectable so tests need not wait."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Await `operation()` until it succeeds, a non-transient error occurs, or the policy is exhausted."""
        started = self._clock()
        attempt = 1
        while True:
            try:
                return await operation()
            except HomilyError as error:
                delay = self._next_delay(error, attempt, started)
                if delay is None:
                    raise
                log.info(
                    "retrying upstream call",
                    extra={"attempt": attempt, "delay": round(delay, 3), "error_name": error.name},
                )
                await self._sleep(delay)
                attempt += 1

    async def open_stream(
        self, opener: Callable[[], AsyncIterator[StreamDelta]]
    ) -> tuple[StreamDelta, AsyncIterator[StreamDelta]]:
        """Open a stream and wait for its first delta, retrying the opening only; returns (first delta, the
        rest)."""

        async def attempt() -> tuple[StreamDelta, AsyncIterator[StreamDelta]]:
            iterator = opener()
            try:
                first = await anext(iterator)
            except StopAsyncIteration:
                raise EmptyCompletionError("The upstream ended the stream without any output.") from None
            except BaseException:
                await _close(iterator)
                raise
            return first, iterator

        return await self.call(attempt)

    def _next_delay(self, error: HomilyError, attempt: int, started: float) -> float | None:
        if not is_transient(error) or attempt >= self.policy.max_attempts:
            return None
        delay = self.policy.delay_for(attempt, error, self._rng)
        if self._clock() - started + delay > self.policy.total_budget:
            return None
        return delay


async def _close(iterator: AsyncIterator[StreamDelta]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()
