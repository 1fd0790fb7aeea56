"""API.md section 7: 429 RATE_LIMITED with Retry-After and X-RateLimit-* headers, per credential."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from homily.fakes.openai_upstream import FakeOpenAIUpstream
from homily.ratelimit import WindowRateLimiter
from tests.support.http import assert_envelope, post_completion
from tests.support.live import LiveHomily, make_settings, start_homily

BODY = {"messages": [{"role": "user", "content": "Hi"}], "model": "gloo-openai-gpt-5-nano"}


@pytest.fixture(scope="module")
def limited(fake_openai: FakeOpenAIUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHomily]:
    settings = make_settings(
        Path(tmp_path_factory.mktemp("limited")),
        openai_api_key="sk-upstream-test",
        openai_base_url=fake_openai.base_url,
        rate_limit_per_minute=3,
    )
    live = start_homily(settings)
    yield live
    live.stop()


def away_from_a_window_edge() -> None:
    """Start a short sequence of requests well inside one rate-limit minute, so no window ends during it."""
    into = time.time() % 60
    if into > 55:
        time.sleep(60.5 - into)


def test_fourth_request_in_a_minute_is_429_with_headers(limited: LiveHomily) -> None:
    token = limited.token()
    away_from_a_window_edge()
    responses = [post_completion(limited, token, BODY) for _ in range(4)]
    assert [r.status_code for r in responses[:3]] == [200, 200, 200]
    assert [r.headers["x-ratelimit-remaining"] for r in responses[:3]] == ["2", "1", "0"]
    blocked = responses[3]
    error = assert_envelope(blocked, 429, 1005)
    assert error["retryable"] is True
    assert error["name"] == "RATE_LIMITED"
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert blocked.headers["x-ratelimit-limit"] == "3"
    assert blocked.headers["x-ratelimit-remaining"] == "0"
    assert int(blocked.headers["x-ratelimit-reset"]) % 60 == 0
    other = httpx.get(limited.base_url + "/healthz")
    assert other.status_code == 200


def test_windows_reset_and_keys_are_independent() -> None:
    limiter = WindowRateLimiter(2)
    assert limiter.hit("a", now=60.0).allowed
    assert limiter.hit("a", now=61.0).allowed
    assert not limiter.hit("a", now=62.0).allowed
    assert limiter.hit("b", now=62.0).allowed
    fresh = limiter.hit("a", now=120.0)
    assert fresh.allowed
    assert (fresh.remaining, fresh.reset_at) == (1, 180)
