"""Retries, fallback and circuit breakers as a client of a live Homily sees them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from homily.fakes.openai_script import Behaviour
from homily.fakes.openai_upstream import FakeOpenAIUpstream
from tests.support.http import assert_envelope, post_completion
from tests.support.live import LiveHomily, make_settings, start_homily

MODEL = "gloo-openai-gpt-5-mini"
BODY = {"messages": [{"role": "user", "content": "Who wrote Romans?"}], "model": MODEL}


@pytest.fixture
def resilient(fake_openai: FakeOpenAIUpstream, tmp_path: Path) -> Iterator[LiveHomily]:
    live = start_homily(
        make_settings(
            tmp_path / "data",
            openai_api_key="sk-upstream-test",
            openai_base_url=fake_openai.base_url,
            upstream_max_attempts=3,
            circuit_failure_threshold=2,
            circuit_reset_seconds=60,
        )
    )
    yield live
    live.stop()


def test_transient_failures_are_retried_before_answering(resilient: LiveHomily, upstream: FakeOpenAIUpstream) -> None:
    upstream.enqueue(Behaviour(status=503), Behaviour(status=429, retry_after="0"))
    response = post_completion(resilient, resilient.token(), BODY)
    assert response.status_code == 200, response.text
    assert upstream.stats().requests == 3


def test_open_circuit_marks_models_unavailable(resilient: LiveHomily, upstream: FakeOpenAIUpstream) -> None:
    token = resilient.token()
    for _ in range(2):
        upstream.enqueue(*[Behaviour(status=500)] * 3)
        assert_envelope(post_completion(resilient, token, BODY), 502, 2003)
    models = httpx.get(resilient.base_url + "/platform/v2/models").json()["data"]
    assert not any(m["available"] for m in models if m["family"] == "OpenAI")
    before = upstream.stats().requests
    error = assert_envelope(post_completion(resilient, token, BODY), 503, 2002)
    assert "retry" in error["message"]
    assert upstream.stats().requests == before  # an open circuit sends nothing upstream


def test_rejected_requests_never_open_the_circuit(resilient: LiveHomily, upstream: FakeOpenAIUpstream) -> None:
    """A client's bad requests (upstream 400) are the client's: they must not take the upstream offline for
    everyone. The SDK, with its default retries, sends each of them once."""
    client = openai.OpenAI(base_url=resilient.api_base, api_key=resilient.token())
    rejected = Behaviour(status=400, error_message="Invalid schema for response_format 'verse'.")
    for _ in range(3):  # over the threshold of 2
        upstream.enqueue(rejected)
        with pytest.raises(openai.BadRequestError, match="Invalid schema for response_format"):
            client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Who wrote Romans?"}])
    assert upstream.stats().requests == 3
    models = httpx.get(resilient.base_url + "/platform/v2/models").json()["data"]
    assert [m["available"] for m in models if m["id"] == MODEL] == [True]
    response = post_completion(resilient, resilient.token(), BODY)
    assert response.status_code == 200, response.text
    assert upstream.stats().requests == 4


@pytest.mark.parametrize("routing", [{"model_family": "openai"}, {"auto_routing": True}])
def test_open_circuit_in_routed_modes_says_failing_not_configure(
    resilient: LiveHomily, upstream: FakeOpenAIUpstream, routing: dict[str, object]
) -> None:
    token = resilient.token()
    for _ in range(2):
        upstream.enqueue(*[Behaviour(status=500)] * 3)
        assert_envelope(post_completion(resilient, token, BODY), 502, 2003)
    body = {"messages": BODY["messages"], **routing}
    error = assert_envelope(post_completion(resilient, token, body), 503, 2002)
    assert error["retryable"] is True
    assert "failing" in error["message"]
    assert "retry" in error["message"].lower()
    assert "OPENAI_API_KEY" not in error["message"]  # it is set: setting it is not the fix
