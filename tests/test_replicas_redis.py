"""Two live Homily replicas on one data dir and one real Redis: they share each credential's rate-limit budget,
a credential revoked or an allow-list changed through one is applied by the other at once (their timed
refresh is set to a minute, so only the Redis announcement can explain it), and so is an upstream's circuit
opening or closing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from homily.fakes.openai_script import Behaviour
from homily.fakes.openai_upstream import FakeOpenAIUpstream
from tests.support.http import assert_envelope, auth_headers, post_completion
from tests.support.live import LiveHomily, make_settings, serve_homily, start_homily
from tests.support.services import free_port
from tests.test_rate_limit import away_from_a_window_edge

BODY = {"messages": [{"role": "user", "content": "Hi"}], "model": "gloo-openai-gpt-5-nano"}
PROMPT = 1.0


def two_replicas(
    fake_openai: FakeOpenAIUpstream, redis_url: str, tmp_path: Path, **settings: Any
) -> Iterator[tuple[LiveHomily, LiveHomily]]:
    """Two live replicas of one data dir on one Redis, calling the fake upstream, with `settings` on top."""
    shared = make_settings(
        tmp_path,
        openai_api_key="sk-upstream-test",
        openai_base_url=fake_openai.base_url,
        redis_url=redis_url,
        **settings,
    )
    first = start_homily(shared)
    second = serve_homily(shared, first.credential)
    yield first, second
    second.stop()
    first.stop()


@pytest.fixture
def replicas(
    fake_openai: FakeOpenAIUpstream, redis_url: str, tmp_path: Path
) -> Iterator[tuple[LiveHomily, LiveHomily]]:
    yield from two_replicas(fake_openai, redis_url, tmp_path, rate_limit_per_minute=3, revocation_refresh_seconds=60.0)


def within(seconds: float, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not true within {seconds} s"
        time.sleep(0.01)


def test_the_second_replica_refuses_once_the_first_used_the_budget(replicas: tuple[LiveHomily, LiveHomily]) -> None:
    first, second = replicas
    token = first.token()
    away_from_a_window_edge()
    used = [post_completion(first, token, BODY) for _ in range(3)]
    assert [r.status_code for r in used] == [200, 200, 200]
    assert [r.headers["x-ratelimit-remaining"] for r in used] == ["2", "1", "0"]
    refused = post_completion(second, token, BODY)
    error = assert_envelope(refused, 429, 1005)
    assert error["name"] == "RATE_LIMITED"
    assert refused.headers["x-ratelimit-limit"] == "3"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-ratelimit-reset"] == used[0].headers["x-ratelimit-reset"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_a_credential_deleted_through_one_replica_is_refused_by_the_other_at_once(
    replicas: tuple[LiveHomily, LiveHomily],
) -> None:
    first, second = replicas
    token = second.token()
    assert httpx.get(second.base_url + "/ai/v2/models", headers=auth_headers(token)).status_code == 200
    deleted = httpx.delete(
        first.base_url + f"/admin/v1/credentials/{first.credential.client_id}", headers=first.admin_headers()
    )
    assert deleted.status_code == 200, deleted.text
    within(PROMPT, lambda: httpx.get(second.base_url + "/ai/v2/models", headers=auth_headers(token)).status_code == 401)


def test_an_allow_list_set_through_one_replica_applies_on_the_other_at_once(
    replicas: tuple[LiveHomily, LiveHomily],
) -> None:
    first, second = replicas
    token = first.token()
    changed = httpx.patch(
        first.base_url + f"/admin/v1/organisations/{first.credential.org_id}",
        json={"allowed_models": ["gloo-openai-gpt-5-mini"]},
        headers=first.admin_headers(),
    )
    assert changed.status_code == 200, changed.text
    within(PROMPT, lambda: post_completion(second, token, BODY).status_code == 403)


def test_a_server_whose_redis_is_unreachable_starts_answers_and_still_limits(
    fake_openai: FakeOpenAIUpstream, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path,
        openai_api_key="sk-upstream-test",
        openai_base_url=fake_openai.base_url,
        rate_limit_per_minute=3,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
    )
    homily = start_homily(settings)
    try:
        token = homily.token()
        away_from_a_window_edge()
        statuses = [post_completion(homily, token, BODY).status_code for _ in range(4)]
        metrics = httpx.get(homily.base_url + "/metrics").text
    finally:
        homily.stop()
    assert statuses == [200, 200, 200, 429]  # counted in process meanwhile
    errors = dict(line.rsplit(" ", 1) for line in metrics.splitlines() if line.startswith("homily_redis_errors"))
    assert float(errors['homily_redis_errors_total{operation="rate_limit"}']) >= 1
    assert float(errors['homily_redis_errors_total{operation="subscribe"}']) >= 1


@pytest.fixture
def circuit_replicas(
    fake_openai: FakeOpenAIUpstream, redis_url: str, tmp_path: Path
) -> Iterator[tuple[LiveHomily, LiveHomily]]:
    yield from two_replicas(
        fake_openai, redis_url, tmp_path, upstream_max_attempts=1, circuit_failure_threshold=2, circuit_reset_seconds=60
    )


def openai_available(homily: LiveHomily) -> bool:
    models = httpx.get(homily.base_url + "/platform/v2/models").json()["data"]
    return any(model["available"] for model in models if model["family"] == "OpenAI")


def test_a_circuit_opened_by_one_replica_keeps_the_other_away_from_the_upstream(
    circuit_replicas: tuple[LiveHomily, LiveHomily], upstream: FakeOpenAIUpstream
) -> None:
    first, second = circuit_replicas
    token = first.token()
    assert openai_available(second)
    upstream.enqueue(Behaviour(status=500), Behaviour(status=500))
    for _ in range(2):
        assert_envelope(post_completion(first, token, BODY), 502, 2003)
    within(PROMPT, lambda: not openai_available(second))
    before = upstream.stats().requests
    error = assert_envelope(post_completion(second, token, BODY), 503, 2002)
    assert "retry" in error["message"]
    assert upstream.stats().requests == before, "the second replica never paid for the failures itself"
