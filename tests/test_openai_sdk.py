"""The official `openai` SDK (sync and async, streaming and not) against a live Homily."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

from homily.fakes.openai_script import Behaviour, FakeToolCall
from homily.fakes.openai_upstream import FakeOpenAIUpstream
from tests.support.live import LiveHomily

AUTO: Any = openai.NOT_GIVEN
"""The documented way to auto-route with the SDK: no model, `extra_body={"auto_routing": True}`."""

MESSAGES: list[openai.types.chat.ChatCompletionMessageParam] = [
    {
        "role": "user",
        "content": "Compare Augustine's and Aquinas's views on grace, step by step, and explain why they differ.",
    }
]


@pytest.fixture(scope="module")
def client(homily: LiveHomily) -> openai.OpenAI:
    return openai.OpenAI(base_url=homily.api_base, api_key=homily.token(), max_retries=0)


def test_auto_routing_with_not_given_model(client: openai.OpenAI, upstream: FakeOpenAIUpstream) -> None:
    completion = client.chat.completions.create(
        model=AUTO,
        messages=MESSAGES,
        extra_body={"auto_routing": True, "tradition": "catholic"},
    )
    extra = completion.model_extra or {}
    assert extra["routing_mechanism"] == "auto_routing"
    assert extra["routing_tier"] == "tier_3"
    assert 0.0 <= extra["routing_confidence"] <= 1.0
    assert extra["model_family"] in {"OpenAI", "Open Source"}
    assert extra["tradition"] == "catholic"
    assert completion.choices[0].message.content
    assert completion.model.startswith("gloo-")


def test_direct_model_id(client: openai.OpenAI, upstream: FakeOpenAIUpstream) -> None:
    completion = client.chat.completions.create(model="gloo-openai-gpt-5-nano", messages=MESSAGES)
    assert completion.model == "gloo-openai-gpt-5-nano"
    assert (completion.model_extra or {})["routing_mechanism"] == "direct_model_selection"
    assert "routing_tier" not in (completion.model_extra or {})


def test_streaming_reads_headers_and_chunks(client: openai.OpenAI, upstream: FakeOpenAIUpstream) -> None:
    with client.chat.completions.with_streaming_response.create(
        model=AUTO,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"model_family": "open source"},
    ) as response:
        assert response.headers["x-routing-mechanism"] == "model_family"
        assert response.headers["x-model-family"] == "Open Source"
        assert response.headers["x-routing-tier"] == "tier_3"
        assert float(response.headers["x-routing-confidence"]) > 0
        chunks = list(response.parse())
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0


def test_streamed_tool_calls_through_the_sdk(client: openai.OpenAI, upstream: FakeOpenAIUpstream) -> None:
    upstream.enqueue(Behaviour(tool_calls=(FakeToolCall(name="lookup_verse", arguments='{"ref": "Romans 8:28"}'),)))
    stream = client.chat.completions.create(
        model="gloo-openai-gpt-5-mini",
        messages=MESSAGES,
        tools=[{"type": "function", "function": {"name": "lookup_verse", "parameters": {"type": "object"}}}],
        stream=True,
    )
    arguments = "".join(
        call.function.arguments or ""
        for chunk in stream
        for call in (chunk.choices[0].delta.tool_calls or [] if chunk.choices else [])
        if call.function
    )
    assert arguments == '{"ref": "Romans 8:28"}'


def test_sdk_exceptions_carry_the_envelope(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=AUTO, messages=MESSAGES)
    assert "Exactly one routing mechanism" in caught.value.message
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["code"] == 1001
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=client.base_url, api_key="not-a-token", max_retries=0).models.list()


def test_models_list_through_the_sdk(client: openai.OpenAI) -> None:
    ids = {model.id for model in client.models.list()}
    assert "gloo-anthropic-claude-sonnet-4.5" in ids
    assert len(ids) == 15


def test_async_client_streaming_and_not(homily: LiveHomily, upstream: FakeOpenAIUpstream) -> None:
    async def run() -> None:
        async with openai.AsyncOpenAI(base_url=homily.api_base, api_key=homily.token(), max_retries=0) as client:
            completion = await client.chat.completions.create(
                model=AUTO,
                messages=[{"role": "user", "content": "Thanks!"}],
                extra_body={"auto_routing": True},
            )
            assert (completion.model_extra or {})["routing_tier"] == "tier_1"
            stream = await client.chat.completions.create(
                model="gloo-deepseek-chat-v3.1", messages=MESSAGES, stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            assert text

    asyncio.run(run())
