"""Rate limits shared through a real Redis (`homily.ratelimit_redis`): one budget for all replicas, the same
decisions and headers as the in-process limiter, and failing open to it when Redis is down."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import redis as redis_sync

from homily.errors import RateLimitedError
from homily.metrics import Metrics
from homily.ratelimit import RateDecision, WindowRateLimiter, enforce
from homily.ratelimit_redis import EXPIRY_GRACE_SECONDS, RETRY_SECONDS, RedisRateLimiter, window_key
from homily.redis_backend import COMMAND_TIMEOUT_SECONDS, ERRORS_METRIC, FailureReporter, open_redis, redacted
from tests.support.services import free_port, running_redis

T = TypeVar("T")
ERRORS = (("operation", "rate_limit"),)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def with_limiters(
    url: str, limit: int, count: int, body: Callable[[list[RedisRateLimiter], Metrics], Awaitable[T]]
) -> T:
    """Run `body` with `count` limiters, each on its own client and pool, as separate replicas would be."""

    async def run() -> T:
        metrics = Metrics()
        clients = [open_redis(url) for _ in range(count)]
        try:
            limiters = [
                RedisRateLimiter(client, limit, FailureReporter(metrics, "rate_limit", "in process"))
                for client in clients
            ]
            return await body(limiters, metrics)
        finally:
            for client in clients:
                await client.aclose()

    return asyncio.run(run())


def test_two_replicas_share_one_budget(redis_url: str) -> None:
    async def body(limiters: list[RedisRateLimiter], metrics: Metrics) -> list[RateDecision]:
        first, second = limiters
        return [
            await first.acquire("cred", 60.0),
            await second.acquire("cred", 61.0),
            await first.acquire("cred", 62.0),
            await second.acquire("cred", 63.0),
            await first.acquire("cred", 64.0),
            await second.acquire("other", 64.0),
        ]

    decisions = with_limiters(redis_url, 3, 2, body)
    assert [d.allowed for d in decisions] == [True, True, True, False, False, True]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0, 2]
    assert {d.reset_at for d in decisions} == {120}


def test_decisions_and_headers_equal_the_in_process_limiter(redis_url: str) -> None:
    """Same sequence of (key, time) through both: identical decisions, 429s and headers, across two windows."""
    sequence = [("a", 60.5), ("a", 70.0), ("b", 71.0), ("a", 80.0), ("a", 119.9), ("b", 119.9), ("a", 120.0),
                ("a", 150.0), ("a", 179.0), ("a", 240.0)]

    async def outcomes(limiter: WindowRateLimiter | RedisRateLimiter) -> list[dict[str, str]]:
        results = []
        for key, now in sequence:
            try:
                results.append(await enforce(limiter, key, now))
            except RateLimitedError as refused:
                results.append({"status": str(refused.status), **refused.headers})
        return results

    async def body(limiters: list[RedisRateLimiter], metrics: Metrics) -> list[dict[str, str]]:
        return await outcomes(limiters[0])

    shared = with_limiters(redis_url, 2, 1, body)
    local = asyncio.run(outcomes(WindowRateLimiter(2)))
    assert shared == local
    assert [r.get("status") for r in shared].count("429") == 3
    assert shared[3] == {"status": "429", "X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0",
                         "X-RateLimit-Reset": "120", "Retry-After": "40"}
    assert shared[6]["X-RateLimit-Remaining"] == "1"  # a new window at 120


def test_keys_are_namespaced_per_window_and_expire(redis_url: str) -> None:
    async def body(limiters: list[RedisRateLimiter], metrics: Metrics) -> None:
        await limiters[0].acquire("cred", 60.0 * 1000 + 45.0)
        await limiters[0].acquire("cred", 60.0 * 1000 + 46.0)

    with_limiters(redis_url, 5, 1, body)
    client = redis_sync.Redis.from_url(redis_url)
    try:
        assert client.keys("*") == [window_key(1000, "cred").encode()]
        assert window_key(1000, "cred") == "homily:rl:1000:cred"
        assert client.get(window_key(1000, "cred")) == b"2"
        ttl = client.ttl(window_key(1000, "cred"))
        assert 15 + EXPIRY_GRACE_SECONDS - 2 <= ttl <= 15 + EXPIRY_GRACE_SECONDS  # set at the first request
    finally:
        client.close()


def test_fails_open_to_in_process_counting_when_redis_is_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()

    async def run() -> tuple[list[RateDecision], list[float]]:
        metrics = Metrics()
        client = open_redis(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
        limiter = RedisRateLimiter(
            client, 2, FailureReporter(metrics, "rate_limit", "in process", clock=clock), clock=clock
        )
        decisions, errors = [], []
        try:
            for now in (60.0, 61.0, 62.0):
                decisions.append(await limiter.acquire("cred", now))
                errors.append(metrics.counter(ERRORS_METRIC, ERRORS))
            clock.now += RETRY_SECONDS + 0.1
            decisions.append(await limiter.acquire("cred", 63.0))
            errors.append(metrics.counter(ERRORS_METRIC, ERRORS))
            assert 'homily_redis_errors_total{operation="rate_limit"} 2' in metrics.render()
        finally:
            await client.aclose()
        return decisions, errors

    with caplog.at_level(logging.WARNING, logger="homily.redis"):
        decisions, errors = asyncio.run(run())
    # Counted in process meanwhile: the limit still holds on this replica, and no request failed.
    assert [d.allowed for d in decisions] == [True, True, False, False]
    assert [d.remaining for d in decisions] == [1, 0, 0, 0]
    # Redis is tried once, left alone for RETRY_SECONDS, then tried (and counted) again.
    assert errors == [1.0, 1.0, 1.0, 2.0]
    warnings = [r for r in caplog.records if r.name == "homily.redis"]
    assert len(warnings) == 1  # once per interval, not per failure
    assert warnings[0].levelno == logging.WARNING
    assert "rate_limit" in warnings[0].getMessage()


def test_a_redis_stopped_mid_way_fails_open() -> None:
    clock = Clock()

    async def hit(limiter: RedisRateLimiter, now: float) -> RateDecision:
        return await limiter.acquire("cred", now)

    with running_redis() as server:
        url = server.url()
        metrics = Metrics()

        async def before() -> tuple[RateDecision, RateDecision]:
            client = open_redis(url)
            try:
                limiter = RedisRateLimiter(client, 5, FailureReporter(metrics, "rate_limit", "x"), clock=clock)
                return await hit(limiter, 60.0), await hit(limiter, 61.0)
            finally:
                await client.aclose()

        assert [d.remaining for d in asyncio.run(before())] == [4, 3]

    async def after() -> RateDecision:
        client = open_redis(url)
        try:
            limiter = RedisRateLimiter(client, 5, FailureReporter(metrics, "rate_limit", "x"), clock=clock)
            return await hit(limiter, 62.0)
        finally:
            await client.aclose()

    fallback = asyncio.run(after())
    assert fallback.allowed
    assert fallback.remaining == 4  # counted afresh in process: Redis and its count are gone
    assert metrics.counter(ERRORS_METRIC, ERRORS) == 1.0


def test_concurrent_checks_share_round_trips_and_count_exactly(redis_url: str) -> None:
    async def body(limiters: list[RedisRateLimiter], metrics: Metrics) -> list[RateDecision]:
        first, second = limiters
        return list(
            await asyncio.gather(*(limiter.acquire("cred", 60.0) for _ in range(30) for limiter in (first, second)))
        )

    decisions = with_limiters(redis_url, 25, 2, body)
    assert sum(d.allowed for d in decisions) == 25
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(25))


def test_a_script_missing_from_redis_is_loaded_again(redis_url: str) -> None:
    async def body(limiters: list[RedisRateLimiter], metrics: Metrics) -> list[int]:
        (limiter,) = limiters
        first = await limiter.acquire("cred", 60.0)
        admin = redis_sync.Redis.from_url(redis_url)
        try:
            admin.script_flush()
        finally:
            admin.close()
        second = await asyncio.gather(limiter.acquire("cred", 61.0), limiter.acquire("cred", 61.0))
        return [first.remaining, *sorted(d.remaining for d in second), int(metrics.counter(ERRORS_METRIC, ERRORS))]

    assert with_limiters(redis_url, 5, 1, body) == [4, 2, 3, 0]


def test_logged_redis_urls_carry_no_credentials() -> None:
    assert redacted("redis://user:s3cret@cache.internal:6380/2") == "redis://cache.internal:6380/2"
    assert redacted("redis://:s3cret@cache/0") == "redis://cache/0"
    assert redacted("unix:///run/redis.sock?db=1") == "unix:///run/redis.sock?db=1"


def test_a_redis_that_never_answers_costs_one_timeout_then_is_left_alone() -> None:
    """A server that accepts connections but never replies (a hung or blackholed Redis): the requests waiting on
    it fall back together once the socket timeout expires, and the next ones do not wait at all."""
    clock = Clock()
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel completes connections; nothing answers
        port = silent.getsockname()[1]

        async def run() -> tuple[list[RateDecision], list[float]]:
            metrics = Metrics()
            client = open_redis(f"redis://127.0.0.1:{port}/0")
            limiter = RedisRateLimiter(client, 3, FailureReporter(metrics, "rate_limit", "x"), clock=clock)
            try:
                waited = list(await asyncio.gather(*(limiter.acquire("cred", 60.0) for _ in range(4))))
                errors = [metrics.counter(ERRORS_METRIC, ERRORS)]
                waited.append(await limiter.acquire("cred", 61.0))
                errors.append(metrics.counter(ERRORS_METRIC, ERRORS))
                clock.now += RETRY_SECONDS + 0.1
                probe = asyncio.create_task(limiter.acquire("cred", 62.0))
                await asyncio.sleep(0.01)
                waited.append(await limiter.acquire("cred", 62.0))
                assert not probe.done()
                waited.append(await probe)
                errors.append(metrics.counter(ERRORS_METRIC, ERRORS))
            finally:
                await client.aclose()
            return waited, errors

        decisions, errors = asyncio.run(run())
    assert [d.allowed for d in decisions] == [True, True, True, False, False, False, False]
    # The four waiting failed together; the fifth went straight to the fallback; once the retry time came, one
    # request probed Redis (and failed after the timeout) while another, meanwhile, did not wait for it.
    assert errors == [4.0, 4.0, 5.0]


def test_a_redis_that_stalls_then_recovers_is_used_again(redis_url: str) -> None:
    """`CLIENT PAUSE` holds every command past the socket timeout; once it ends, a probe finds Redis again."""
    clock = Clock()

    async def body(limiters: list[RedisRateLimiter], metrics: Metrics) -> list[int]:
        (limiter,) = limiters
        remaining = [(await limiter.acquire("cred", 60.0)).remaining]
        admin = redis_sync.Redis.from_url(redis_url)
        try:
            admin.client_pause(int((COMMAND_TIMEOUT_SECONDS + 0.3) * 1000))
            remaining.append((await limiter.acquire("cred", 61.0)).remaining)  # times out: counted in process
            remaining.append((await limiter.acquire("cred", 62.0)).remaining)  # left alone: in process
            assert admin.ping()  # blocks until the pause is over
        finally:
            admin.close()
        clock.now += RETRY_SECONDS + 0.1
        remaining.append((await limiter.acquire("cred", 63.0)).remaining)  # the probe: Redis again
        remaining.append((await limiter.acquire("cred", 64.0)).remaining)
        remaining.append(int(metrics.counter(ERRORS_METRIC, ERRORS)))
        return remaining

    async def run() -> list[int]:
        metrics = Metrics()
        client = open_redis(redis_url)
        try:
            limiter = RedisRateLimiter(client, 10, FailureReporter(metrics, "rate_limit", "x"), clock=clock)
            return await body([limiter], metrics)
        finally:
            await client.aclose()

    # Redis counted 1 before the stall; the fallback counted 2 meanwhile; then Redis again from 1: 2 and 3.
    assert asyncio.run(run()) == [9, 9, 8, 8, 7, 1]
