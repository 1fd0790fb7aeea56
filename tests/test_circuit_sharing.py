"""Circuit-breaker transitions shared between replicas: the breaker's side with a manual clock, the message format,
and two buses on a real Redis."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import redis as redis_sync

from homily.metrics import Metrics
from homily.providers.circuit import CircuitBreaker, CircuitBreakers, CircuitState
from homily.providers.circuit_sharing import CHANNEL, CircuitBus, CircuitNews, decode, encode
from homily.redis_backend import ERRORS_METRIC, FailureReporter, open_redis
from tests.support.clock import Clock
from tests.support.services import free_port


def state(breaker: CircuitBreaker) -> CircuitState:
    """The state now (a call, so that the type checker does not carry a narrowed state across clock moves)."""
    return breaker.state


def told_breaker(clock: Clock, told: list[tuple[str, CircuitState]]) -> CircuitBreaker:
    return CircuitBreaker(
        "openai", failure_threshold=2, reset_timeout=30.0, clock=clock, on_change=lambda *news: told.append(news)
    )


def test_a_breaker_tells_its_own_openings_and_closings_only() -> None:
    clock, told = Clock(), list[tuple[str, CircuitState]]()
    breaker = told_breaker(clock, told)
    breaker.record_failure()
    breaker.record_success()  # closed all along: nothing to tell
    breaker.record_failure()
    assert told == []
    breaker.record_failure()
    assert told == [("openai", CircuitState.OPEN)]
    clock.now += 30.0
    assert breaker.allow_request()
    breaker.record_failure()  # the probe failed: open again
    assert told == [("openai", CircuitState.OPEN)] * 2
    clock.now += 30.0
    assert breaker.allow_request()
    breaker.record_success()
    assert told[-1] == ("openai", CircuitState.CLOSED)
    assert state(breaker) is CircuitState.CLOSED


def test_news_from_elsewhere_moves_the_breaker_without_being_told_again() -> None:
    clock, told = Clock(), list[tuple[str, CircuitState]]()
    breaker = told_breaker(clock, told)
    breaker.opened_elsewhere(seconds_ago=10.0)
    assert not breaker.allow_request()
    clock.now += 19.9
    assert state(breaker) is CircuitState.OPEN
    clock.now += 0.1  # the other replica opened 30 s ago: probe now, as it would
    assert state(breaker) is CircuitState.HALF_OPEN
    breaker.closed_elsewhere()
    assert state(breaker) is CircuitState.CLOSED
    assert breaker.allow_request()
    assert told == []


def test_an_old_or_future_opening_is_bounded_and_never_moves_an_opening_back() -> None:
    clock = Clock()
    clock.now = 1000.0
    breaker = CircuitBreaker("openai", reset_timeout=30.0, clock=clock)
    breaker.opened_elsewhere(seconds_ago=-50.0)  # another replica's clock runs ahead: taken as "just now"
    clock.now += 29.0
    assert state(breaker) is CircuitState.OPEN
    breaker.opened_elsewhere(seconds_ago=500.0)  # older than the current opening: ignored
    assert state(breaker) is CircuitState.OPEN
    clock.now += 1.0
    assert state(breaker) is CircuitState.HALF_OPEN


def test_messages_round_trip_and_malformed_ones_are_ignored() -> None:
    news = CircuitNews("origin-1", "anthropic", opened=True, at=1234.5)
    assert decode(encode(news)) == news
    closed = CircuitNews("origin-1", "google", opened=False, at=7.0)
    assert decode(encode(closed)) == closed
    for data in (
        b"not json",
        b"[1]",
        b'{"origin": "o", "upstream": "openai", "state": "half_open", "at": 1}',
        b'{"origin": "o", "upstream": 5, "state": "open", "at": 1}',
        b'{"origin": "o", "upstream": "openai", "state": "open", "at": "soon"}',
    ):
        assert decode(data) is None


def _errors(metrics: Metrics) -> float:
    found = re.search(ERRORS_METRIC + r'\{operation="circuit"\} (\S+)', metrics.render())
    return float(found.group(1)) if found else 0.0


@asynccontextmanager
async def replica(
    url: str, metrics: Metrics | None = None, clock: Clock | None = None
) -> AsyncIterator[CircuitBreakers]:
    """One replica's breakers, connected to the others through a `CircuitBus` on `url` while the block runs."""
    metrics = metrics or Metrics()
    reporter = FailureReporter(metrics, "circuit", "learning from this replica's calls")
    client = open_redis(url)
    bus = CircuitBus(client, {"openai", "anthropic"}, reporter, reporter)
    breakers = CircuitBreakers(
        failure_threshold=2, reset_timeout=30.0, on_change=bus.announce, clock=clock or time.monotonic
    )
    await bus.start(breakers)
    try:
        yield breakers
    finally:
        await bus.close()
        await client.aclose()


async def _eventually(condition: Callable[[], bool], seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not true within {seconds} s"
        await asyncio.sleep(0.01)


def test_one_replica_opening_or_closing_a_circuit_applies_to_the_other(redis_url: str) -> None:
    async def scenario() -> None:
        async with replica(redis_url) as first, replica(redis_url) as second:
            for _ in range(2):
                first.get("openai").record_failure()
            await _eventually(lambda: not second.is_available("openai"))
            assert second.get("openai").state is CircuitState.OPEN
            assert second.is_available("anthropic")
            first.get("openai").record_success()  # the first replica's probe succeeded: closed everywhere
            await _eventually(lambda: second.get("openai").state is CircuitState.CLOSED)

    asyncio.run(scenario())


def test_a_replica_ignores_its_own_news_and_upstreams_it_does_not_have(redis_url: str) -> None:
    async def scenario() -> None:
        clock = Clock()
        async with replica(redis_url, clock=clock) as breakers:
            breakers.get("openai").record_failure()
            breakers.get("openai").record_failure()  # opens at 0 on this replica's clock, and announces it
            clock.now = 20.0
            await asyncio.sleep(0.1)  # the announcement comes back over Redis meanwhile
            sender = redis_sync.Redis.from_url(redis_url)
            stray = CircuitNews("another-replica", "mistral-we-never-configured", opened=True, at=time.time())
            sender.publish(CHANNEL, encode(stray))
            sender.publish(CHANNEL, encode(CircuitNews("another-replica", "anthropic", opened=True, at=time.time())))
            sender.close()
            await _eventually(lambda: not breakers.is_available("anthropic"))
            assert breakers.is_available("mistral-we-never-configured")
            clock.now = 30.0  # had its own echo counted as news, the opening would have moved to about 20
            assert breakers.get("openai").state is CircuitState.HALF_OPEN

    asyncio.run(scenario())


def test_without_a_reachable_redis_breakers_still_work_and_failures_are_counted() -> None:
    async def scenario() -> None:
        metrics = Metrics()
        async with replica(f"redis://127.0.0.1:{free_port()}/0", metrics) as breakers:
            breakers.get("openai").record_failure()
            breakers.get("openai").record_failure()
            assert not breakers.is_available("openai")
            await _eventually(lambda: _errors(metrics) >= 2)  # the subscription and the announcement

    asyncio.run(scenario())
