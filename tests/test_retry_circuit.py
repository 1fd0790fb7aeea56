"""Retry policy and circuit breakers, driven by a manual clock (no test waits for real time)."""

from __future__ import annotations

import asyncio
import random

import orjson
import pytest

from homily.errors import (
    EmptyCompletionError,
    HomilyError,
    InvalidRequestError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from homily.providers.circuit import CircuitBreaker, CircuitBreakers, CircuitState
from homily.providers.errors import UpstreamServerError
from homily.providers.retry import Retrier, RetryPolicy
from homily.providers.timeouts import UpstreamTimeouts
from homily.providers.upstream import google_retry_delay, parse_retry_after
from tests.support.clock import Clock

# ----- retry policy -----


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [policy.backoff(attempt, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8


def test_retries_transient_errors_until_success_and_honours_retry_after() -> None:
    clock = Clock()
    retrier = Retrier(RetryPolicy(max_attempts=4, base_delay=0.1), sleep=clock.sleep, clock=clock)
    failures: list[HomilyError] = [
        ProviderUnavailableError("429", headers={"Retry-After": "3"}),
        UpstreamServerError("500"),
        ProviderTimeoutError("slow"),
    ]

    async def flaky() -> str:
        if failures:
            raise failures.pop(0)
        return "answer"

    assert asyncio.run(retrier.call(flaky)) == "answer"
    assert len(clock.sleeps) == 3
    assert clock.sleeps[0] >= 3.0
    assert max(clock.sleeps[1:]) <= 0.4


@pytest.mark.parametrize(
    "error",
    [ProviderError("bad answer"), InvalidRequestError("bad input"), EmptyCompletionError("nothing")],
    ids=["provider_error", "client_error", "empty"],
)
def test_non_transient_errors_are_not_retried(error: HomilyError) -> None:
    clock = Clock()
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        raise error

    with pytest.raises(type(error)):
        asyncio.run(Retrier(sleep=clock.sleep, clock=clock).call(failing))
    assert calls == 1
    assert clock.sleeps == []


def test_attempts_and_total_time_are_bounded() -> None:
    clock = Clock()
    calls = 0

    async def down() -> None:
        nonlocal calls
        calls += 1
        raise ProviderUnavailableError("down")

    with pytest.raises(ProviderUnavailableError):
        asyncio.run(Retrier(RetryPolicy(max_attempts=5), sleep=clock.sleep, clock=clock).call(down))
    assert calls == 5
    calls = 0

    async def throttled() -> None:
        nonlocal calls
        calls += 1
        raise ProviderUnavailableError("429", headers={"Retry-After": "120"})

    with pytest.raises(ProviderUnavailableError):
        asyncio.run(Retrier(RetryPolicy(total_budget=20), sleep=clock.sleep, clock=clock).call(throttled))
    assert calls == 1, "a Retry-After beyond the budget gives up at once instead of waiting"


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0


# ----- circuit breaker -----


def state_of(breaker: CircuitBreaker) -> CircuitState:
    return breaker.state


def test_circuit_opens_half_opens_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker("anthropic", failure_threshold=3, reset_timeout=30, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    breaker.record_success()
    for _ in range(2):
        breaker.record_failure()
    assert state_of(breaker) is CircuitState.CLOSED, "only consecutive failures count"
    breaker.record_failure()
    assert state_of(breaker) is CircuitState.OPEN
    assert not breaker.is_available()
    assert not breaker.allow_request()
    clock.now += 30
    assert state_of(breaker) is CircuitState.HALF_OPEN
    assert breaker.is_available()
    assert breaker.allow_request()
    assert not breaker.allow_request(), "one probe at a time"
    breaker.record_failure()
    assert state_of(breaker) is CircuitState.OPEN
    clock.now += 30
    assert breaker.allow_request()
    breaker.record_success()
    assert state_of(breaker) is CircuitState.CLOSED
    assert breaker.allow_request()


def test_breakers_per_upstream_feed_availability() -> None:
    clock = Clock()
    breakers = CircuitBreakers(failure_threshold=2, reset_timeout=10, clock=clock)
    assert breakers.is_available("anthropic")
    assert breakers.get("anthropic") is breakers.get("anthropic")
    breakers.get("anthropic").record_failure()
    breakers.get("anthropic").record_failure()
    assert not breakers.is_available("anthropic")
    assert breakers.is_available("google")
    clock.now += 10
    assert breakers.is_available("anthropic")


def test_cancelled_probe_frees_its_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker("google", failure_threshold=1, reset_timeout=5, clock=clock)
    breaker.record_failure()
    clock.now += 5
    assert breaker.allow_request()
    breaker.release_probe()
    assert breaker.allow_request()


def test_timeouts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        UpstreamTimeouts(connect=0)


def test_google_retry_info_becomes_retry_after() -> None:
    detail = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}
    assert google_retry_delay(orjson.dumps({"error": {"code": 429, "details": [{"@type": "x"}, detail]}})) == "2"
    assert google_retry_delay(b'{"error": {"message": "quota"}}') is None
    assert google_retry_delay(b"not json") is None
