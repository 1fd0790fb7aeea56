"""Anthropic Messages adapter: request mapping details, stop reasons, usage, thinking, in-band errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from homily.errors import (
    EmptyCompletionError,
    HomilyError,
    InvalidRequestError,
    ProviderError,
    ProviderUnavailableError,
)
from homily.fakes.anthropic_upstream import AnthropicUpstream
from homily.fakes.script import FakeToolCall, Reply
from homily.protocol.chat import ChatMessage, NamedToolChoice, Tool
from homily.providers.anthropic import AnthropicAdapter
from homily.providers.anthropic_format import messages_body
from homily.providers.errors import UpstreamRejectedError, UpstreamServerError
from homily.providers.types import Completion, ProviderAdapter, ProviderRequest, StreamDelta
from tests.support.upstreams import MODELS, TIMEOUTS, drain, run, with_adapter

MODEL = MODELS["anthropic"]
TOOL = Tool.model_validate(
    {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}
)


def ask(text: str = "Hi", **fields: Any) -> ProviderRequest:
    return ProviderRequest(model=MODEL, messages=[ChatMessage(role="user", content=text)], **fields)


@pytest.fixture(scope="module")
def fake() -> Iterator[AnthropicUpstream]:
    with AnthropicUpstream() as server:
        yield server


def complete(fake: AnthropicUpstream, request: ProviderRequest) -> Completion:
    async def use(adapter: ProviderAdapter) -> Completion:
        return await adapter.complete(request)

    return run(with_adapter("anthropic", fake.url, use))


def stream(fake: AnthropicUpstream, request: ProviderRequest) -> list[StreamDelta]:
    async def use(adapter: ProviderAdapter) -> list[StreamDelta]:
        return [delta async for delta in adapter.stream(request)]

    return run(with_adapter("anthropic", fake.url, use))


def sent(fake: AnthropicUpstream) -> dict[str, Any]:
    body = fake.requests[-1].body
    assert isinstance(body, dict)
    return body


def test_headers_and_always_max_tokens(fake: AnthropicUpstream) -> None:
    complete(fake, ask())
    recorded = fake.requests[-1]
    assert recorded.path == "/v1/messages"
    assert recorded.headers["x-api-key"] == "test-key"
    assert recorded.headers["anthropic-version"] == "2023-06-01"
    assert sent(fake)["max_tokens"] == MODEL.max_output_tokens
    complete(fake, ask(max_tokens=10**9))
    assert sent(fake)["max_tokens"] == MODEL.max_output_tokens
    complete(fake, ask(max_tokens=77))
    assert sent(fake)["max_tokens"] == 77


def test_temperature_is_clamped_and_top_p_yields_to_it(fake: AnthropicUpstream) -> None:
    complete(fake, ask(temperature=1.7, options={"top_p": 0.9}))
    body = sent(fake)
    assert body["temperature"] == 1.0
    assert "top_p" not in body
    complete(fake, ask(temperature=0.3))
    assert sent(fake)["temperature"] == 0.3
    complete(fake, ask(options={"top_p": 0.5, "stop": "Amen", "user": "u-1", "seed": 4}))
    body = sent(fake)
    assert body["top_p"] == 0.5
    assert body["stop_sequences"] == ["Amen"]
    assert body["metadata"] == {"user_id": "u-1"}
    assert "seed" not in body


def test_tool_choice_and_parallel_flag() -> None:
    body = messages_body(ask(tools=[TOOL], tool_choice="required", parallel_tool_calls=False), stream=False)
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    named = NamedToolChoice.model_validate({"type": "function", "function": {"name": "lookup"}})
    body = messages_body(ask(tools=[TOOL], tool_choice=named), stream=True)
    assert body["tool_choice"] == {"type": "tool", "name": "lookup"}
    assert body["stream"] is True
    assert body["tools"] == [{"name": "lookup", "input_schema": {"type": "object", "properties": {}}}]
    assert "tool_choice" not in messages_body(ask(tools=[TOOL]), stream=False)


def test_consecutive_roles_merge_and_empty_text_is_dropped() -> None:
    messages = [
        ChatMessage(role="user", content="one"),
        ChatMessage(role="user", content=[{"type": "text", "text": "two"}, {"type": "text", "text": "  "}]),  # type: ignore[list-item]
        ChatMessage(role="assistant", content=""),
        ChatMessage(role="assistant", content="three"),
    ]
    body = messages_body(ProviderRequest(model=MODEL, messages=messages), stream=False)
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "three"}]},
    ]


def test_bad_history_is_a_client_error() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{not json"}}
    messages = [
        ChatMessage(role="user", content="x"),
        ChatMessage.model_validate({"role": "assistant", "tool_calls": [call]}),
    ]
    with pytest.raises(InvalidRequestError) as caught:
        messages_body(ProviderRequest(model=MODEL, messages=messages), stream=False)
    assert caught.value.param == "messages[1].tool_calls[0].function.arguments"
    with pytest.raises(InvalidRequestError):
        messages_body(ProviderRequest(model=MODEL, messages=[ChatMessage(role="system", content="s")]), stream=False)


@pytest.mark.parametrize(
    ("native", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("model_context_window_exceeded", "length"),
    ],
)
def test_stop_reasons(fake: AnthropicUpstream, native: str, expected: str) -> None:
    fake.push(Reply(text="partial", native_finish=native), Reply(text="partial", native_finish=native))
    assert complete(fake, ask()).finish_reason == expected
    assert stream(fake, ask())[-1].finish_reason == expected


def test_usage_counts_cache_reads_and_writes(fake: AnthropicUpstream) -> None:
    reply = Reply(text="ok", prompt_tokens=1000, cached_tokens=600, cache_creation_tokens=300, completion_tokens=20)
    fake.push(reply, reply)
    for usage in (complete(fake, ask()).usage, stream(fake, ask())[-1].usage):
        assert usage is not None
        assert (usage.prompt_tokens, usage.cached_tokens, usage.cache_creation_tokens) == (1000, 600, 300)
        assert usage.completion_tokens == 20
        assert usage.to_openai()["prompt_tokens_details"] == {"audio_tokens": 0, "cached_tokens": 600}


def test_thinking_is_not_content(fake: AnthropicUpstream) -> None:
    reply = Reply(text="Forty-two.", thinking="Let me reason about this carefully.")
    fake.push(reply, reply)
    assert complete(fake, ask()).content == "Forty-two."
    deltas = stream(fake, ask())
    assert "".join(d.content or "" for d in deltas) == "Forty-two."


def test_all_budget_spent_thinking_is_an_empty_completion(fake: AnthropicUpstream) -> None:
    reply = Reply(text=None, thinking="Hmm " * 50, finish="length")
    fake.push(reply, reply)
    with pytest.raises(EmptyCompletionError) as caught:
        complete(fake, ask())
    assert (caught.value.status, caught.value.code) == (503, 2006)
    with pytest.raises(EmptyCompletionError):
        stream(fake, ask())


def test_ping_events_and_many_fragments(fake: AnthropicUpstream) -> None:
    fake.push(replace(Reply(text="In the beginning was the Word."), chunk_chars=1))
    deltas = stream(fake, ask())
    assert "".join(d.content or "" for d in deltas) == "In the beginning was the Word."
    assert len(deltas) == len("In the beginning was the Word.") + 1


def test_in_band_error_before_output_raises_before_the_first_delta(fake: AnthropicUpstream) -> None:
    fake.push(Reply(stream_error_after_events=2))

    async def use(adapter: ProviderAdapter) -> tuple[list[StreamDelta], HomilyError | None]:
        return await drain(adapter.stream(ask()))

    deltas, error = run(with_adapter("anthropic", fake.url, use))
    assert deltas == []
    assert isinstance(error, UpstreamServerError)
    assert "overloaded_error" in error.message


def test_in_band_error_after_output_raises_mid_stream(fake: AnthropicUpstream) -> None:
    fake.push(Reply(text="Grace and peace to you.", stream_error_after_events=5))

    async def use(adapter: ProviderAdapter) -> tuple[list[StreamDelta], HomilyError | None]:
        return await drain(adapter.stream(ask()))

    deltas, error = run(with_adapter("anthropic", fake.url, use))
    assert "".join(d.content or "" for d in deltas) == "Grace and pe"
    assert isinstance(error, UpstreamServerError)


def test_tool_calls_without_text_have_null_content(fake: AnthropicUpstream) -> None:
    fake.push(Reply(text=None, tool_calls=(FakeToolCall("lookup", "{}"),)))
    completion = complete(fake, ask(tools=[TOOL]))
    assert completion.content is None
    assert [(c.name, c.arguments) for c in completion.tool_calls] == [("lookup", "{}")]
    assert completion.tool_calls[0].id.startswith("toolu_")


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (401, ProviderError),
        (403, ProviderError),
        (400, UpstreamRejectedError),
        (413, UpstreamRejectedError),
        (529, UpstreamServerError),
        (429, ProviderUnavailableError),
    ],
)
def test_upstream_statuses(fake: AnthropicUpstream, status: int, error_type: type[HomilyError]) -> None:
    fake.push(Reply(status=status, error_message="nope"))
    with pytest.raises(error_type) as caught:
        complete(fake, ask())
    assert "nope" in caught.value.message
    assert type(caught.value) is error_type


def test_a_low_credit_balance_is_homilys_problem_not_the_clients(fake: AnthropicUpstream) -> None:
    """Anthropic reports an exhausted account as a 400 invalid_request_error; only the operator can fix that."""
    message = "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing."
    fake.push(Reply(status=400, error_message=message))
    with pytest.raises(ProviderError, match="credit balance is too low"):
        complete(fake, ask())


def test_finished_streams_return_their_connection_to_the_pool(fake: AnthropicUpstream) -> None:
    """Even when the body's end arrives after message_stop, the next request reuses the same connection."""
    created: list[int] = []

    async def on_create(*_: object) -> None:
        created.append(1)

    async def use() -> None:
        trace = aiohttp.TraceConfig()
        trace.on_connection_create_end.append(on_create)
        async with aiohttp.ClientSession(trace_configs=[trace]) as session:
            adapter = AnthropicAdapter(session, fake.url, "test-key", TIMEOUTS)
            for _ in range(3):
                fake.push(Reply(text="Amen.", delay_between_events=0.01))
                deltas = [delta async for delta in adapter.stream(ask())]
                assert deltas[-1].finish_reason == "stop"

    run(use())
    assert len(created) == 1


def test_fixed_temperature_models_get_none() -> None:
    fixed = dataclasses.replace(MODEL, fixed_temperature=True)
    body = messages_body(
        ProviderRequest(
            model=fixed, messages=[ChatMessage(role="user", content="x")], temperature=0.2, options={"top_p": 0.9}
        ),
        stream=False,
    )
    assert "temperature" not in body
    assert body["top_p"] == 0.9
