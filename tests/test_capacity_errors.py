"""Requests no configured model can hold (API.md sections 2, 5 and 7): the output limit counts as much as is sent
upstream (clamped per model), a request too large for every available model is the caller's 400 naming the field
and the largest context window, and a 503 names only settings that are not set (or says the upstream is failing)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from homily.fakes.openai_upstream import FakeOpenAIUpstream
from tests.support.http import assert_envelope, post_completion
from tests.support.live import LiveHomily

# ~4 characters per token: the router's estimate. 2.2 M characters ≈ 550 k tokens (more than any OpenAI or Open
# Source model holds, less than a Gemini model's 1 M); 1.4 M ≈ 350 k tokens (fits gpt-5's 400 k alone).
HUGE = "word " * 440_000
LARGE = "word " * 280_000
OPENAI_CONTEXT = "400000"


@pytest.fixture(scope="module")
def token(homily: LiveHomily) -> str:
    return homily.token()


def _body(text: str = "What does Psalm 23 say about fear?", **fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **fields}


def _post(homily: LiveHomily, token: str, body: dict[str, Any]) -> httpx.Response:
    """Screening and estimating a prompt of millions of characters takes seconds on this machine."""
    return post_completion(homily, token, body, timeout=120)


def _sent_output_limit(upstream: FakeOpenAIUpstream) -> int:
    sent = upstream.requests[-1].json()
    return int(sent.get("max_completion_tokens") or sent["max_tokens"])


@pytest.mark.parametrize(
    "fields",
    [
        {"model_family": "openai", "max_tokens": 500_000},
        {"auto_routing": True, "max_tokens": 500_000},
        {"model": "gloo-openai-gpt-5-mini", "max_tokens": 100_000_000},
    ],
)
def test_a_max_tokens_above_every_models_output_limit_is_clamped_not_refused(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream, fields: dict[str, Any]
) -> None:
    response = _post(homily, token, _body(**fields))
    assert response.status_code == 200, response.text
    model = response.json()["model"]
    models = {m["id"]: m for m in homily_models(homily)}
    assert _sent_output_limit(upstream) == models[model]["max_output_tokens"]


def homily_models(homily: LiveHomily) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = httpx.get(homily.base_url + "/platform/v2/models").json()["data"]
    return data


@pytest.mark.parametrize("fields", [{"auto_routing": True}, {"model_family": "openai"}])
def test_a_prompt_no_available_model_can_hold_is_400_naming_messages_and_the_largest_context(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream, fields: dict[str, Any]
) -> None:
    error = assert_envelope(_post(homily, token, _body(HUGE, **fields)), 400, 1001)
    assert error["param"] == "messages"
    assert error["name"] == "INVALID_REQUEST"
    assert error["retryable"] is False
    assert OPENAI_CONTEXT in error["message"]
    # OpenAI and Open Source are configured here: their settings are not what is missing.
    assert "OPENAI_API_KEY" not in error["message"]
    assert "HOMILY_OPEN_SOURCE_BASE_URL" not in error["message"]
    assert "Configure an upstream" not in error["message"]
    assert upstream.stats().requests == 0


def test_auto_routing_hints_at_the_setting_that_would_enable_a_larger_model(homily: LiveHomily, token: str) -> None:
    error = assert_envelope(_post(homily, token, _body(HUGE, auto_routing=True)), 400, 1001)
    assert "GEMINI_API_KEY" in error["message"]  # Gemini's 1 M context would hold it
    assert "ANTHROPIC_API_KEY" not in error["message"]  # Claude's 200 k would not


def test_a_max_tokens_that_leaves_no_room_for_the_prompt_is_400_naming_max_tokens(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream
) -> None:
    body = _body(LARGE, model_family="openai", max_tokens=100_000)
    error = assert_envelope(_post(homily, token, body), 400, 1001)
    assert error["param"] == "max_tokens"
    assert OPENAI_CONTEXT in error["message"]
    assert "OPENAI_API_KEY" not in error["message"]
    assert "at most 50000 output tokens" in error["message"]  # 400 000 - 1 400 000 characters / 4
    assert upstream.stats().requests == 0


def test_direct_selection_blames_max_tokens_or_messages(homily: LiveHomily, token: str) -> None:
    too_much_output = _body(LARGE, model="gloo-openai-gpt-5-mini", max_tokens=100_000)
    error = assert_envelope(_post(homily, token, too_much_output), 400, 1001)
    assert error["param"] == "max_tokens"
    assert OPENAI_CONTEXT in error["message"]
    too_long = assert_envelope(_post(homily, token, _body(HUGE, model="gloo-openai-gpt-5-mini")), 400, 1001)
    assert too_long["param"] == "messages"
    assert OPENAI_CONTEXT in too_long["message"]


def test_an_unconfigured_family_names_only_its_own_setting(homily: LiveHomily, token: str) -> None:
    error = assert_envelope(_post(homily, token, _body(model_family="anthropic")), 503, 2002)
    assert "ANTHROPIC_API_KEY" in error["message"]
    assert "OPENAI_API_KEY" not in error["message"]
