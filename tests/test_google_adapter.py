"""Gemini adapter: roles, system instruction, schemas, tool config, ids, finish reasons, usage, thinking."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from homily.errors import (
    EmptyCompletionError,
    HomilyError,
    InvalidRequestError,
    ProviderError,
)
from homily.fakes.google_upstream import GoogleUpstream
from homily.fakes.script import FakeToolCall, Reply
from homily.protocol.chat import ChatMessage, Tool
from homily.providers.errors import UpstreamServerError
from homily.providers.google import GoogleAdapter
from homily.providers.google_format import SKIP_SIGNATURE, call_id, gemini_schema, generate_body
from homily.providers.http import new_session
from homily.providers.types import Completion, ProviderAdapter, ProviderRequest, StreamDelta, UpstreamModel
from tests.support.upstreams import MODELS, TIMEOUTS, drain, run, with_adapter

MODEL = MODELS["google"]
LOOKUP = Tool.model_validate(
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "verse": {"type": ["string", "null"], "description": "A reference"},
                    "versions": {"type": "array", "items": {"type": "string", "additionalProperties": False}},
                },
                "required": ["verse"],
            },
        },
    }
)
NO_ARGS = Tool.model_validate(
    {"type": "function", "function": {"name": "today", "parameters": {"type": "object", "properties": {}}}}
)


def ask(text: str = "Hi", **fields: Any) -> ProviderRequest:
    return ProviderRequest(model=MODEL, messages=[ChatMessage(role="user", content=text)], **fields)


@pytest.fixture(scope="module")
def fake() -> Iterator[GoogleUpstream]:
    with GoogleUpstream() as server:
        yield server


def complete(fake: GoogleUpstream, request: ProviderRequest) -> Completion:
    async def use(adapter: ProviderAdapter) -> Completion:
        return await adapter.complete(request)

    return run(with_adapter("google", fake.url, use))


def stream(fake: GoogleUpstream, request: ProviderRequest) -> tuple[list[StreamDelta], HomilyError | None]:
    async def use(adapter: ProviderAdapter) -> tuple[list[StreamDelta], HomilyError | None]:
        return await drain(adapter.stream(request))

    return run(with_adapter("google", fake.url, use))


def test_paths_key_and_roles(fake: GoogleUpstream) -> None:
    messages = [
        ChatMessage(role="system", content="Be kind."),
        ChatMessage(role="user", content="Hello"),
        ChatMessage(role="assistant", content="Hi!"),
        ChatMessage(role="user", content="Bless me"),
    ]
    complete(fake, ProviderRequest(model=MODEL, messages=messages, max_tokens=50, temperature=1.5))
    recorded = fake.requests[-1]
    assert recorded.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert recorded.headers["x-goog-api-key"] == "test-key"
    body = recorded.body
    assert body["systemInstruction"] == {"parts": [{"text": "Be kind."}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["generationConfig"] == {"maxOutputTokens": 50, "temperature": 1.5}
    stream(fake, ask())
    assert fake.requests[-1].path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert fake.requests[-1].query == {"alt": "sse"}


def test_generation_options() -> None:
    options = {
        "top_p": 0.8,
        "seed": 7,
        "stop": ["a", "b", "c", "d", "e", "f"],
        "presence_penalty": 0.5,
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
    }
    config = generate_body(ask(options=options))["generationConfig"]
    assert config == {
        "topP": 0.8,
        "seed": 7,
        "stopSequences": ["a", "b", "c", "d", "e"],
        "presencePenalty": 0.5,
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
    }


def test_schemas_are_cut_to_the_openapi_subset_and_empty_objects_omitted(fake: GoogleUpstream) -> None:
    body = generate_body(ask(tools=[LOOKUP, NO_ARGS]))
    declarations = body["tools"][0]["functionDeclarations"]
    assert declarations[0]["parameters"] == {
        "type": "object",
        "properties": {
            "verse": {"type": "string", "nullable": True, "description": "A reference"},
            "versions": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["verse"],
    }
    assert declarations[1] == {"name": "today"}
    fake.push(Reply(text="ok"))
    assert complete(fake, ask(tools=[LOOKUP, NO_ARGS])).content == "ok"  # the fake rejects empty object schemas
    assert gemini_schema({"anyOf": [{"type": "integer", "exclusiveMinimum": 0}]}) == {"anyOf": [{"type": "integer"}]}


def test_function_call_ids_are_stable_and_distinct() -> None:
    assert call_id("resp-1", 0, "lookup") == call_id("resp-1", 0, "lookup")
    assert len({call_id("resp-1", 0, "lookup"), call_id("resp-1", 1, "lookup"), call_id("resp-2", 0, "lookup")}) == 3


def test_unknown_tool_call_id_is_a_client_error() -> None:
    messages = [ChatMessage(role="user", content="x"), ChatMessage(role="tool", content="r", tool_call_id="nope")]
    with pytest.raises(InvalidRequestError) as caught:
        generate_body(ProviderRequest(model=MODEL, messages=messages))
    assert caught.value.param == "messages[1].tool_call_id"


def test_gemini_3_replayed_calls_carry_the_skip_signature() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "today", "arguments": "{}"}}
    messages = [
        ChatMessage(role="user", content="What day is it?"),
        ChatMessage.model_validate({"role": "assistant", "tool_calls": [call, {**call, "id": "c2"}]}),
        ChatMessage(role="tool", content="Sunday", tool_call_id="c1"),
        ChatMessage(role="tool", content="Sunday", tool_call_id="c2"),
    ]
    gemini3 = UpstreamModel("gloo-google-gemini-3-pro-preview", "gemini-3-pro-preview", 65536, True)
    parts = generate_body(ProviderRequest(model=gemini3, messages=messages))["contents"][1]["parts"]
    assert [p.get("thoughtSignature") for p in parts] == [SKIP_SIGNATURE, None]
    parts = generate_body(ProviderRequest(model=MODEL, messages=messages))["contents"][1]["parts"]
    assert all("thoughtSignature" not in p for p in parts)


@pytest.mark.parametrize("native", ["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"])
def test_safety_family_maps_to_content_filter(fake: GoogleUpstream, native: str) -> None:
    fake.push(Reply(text="", native_finish=native), Reply(text="", native_finish=native))
    assert complete(fake, ask()).finish_reason == "content_filter"
    deltas, error = stream(fake, ask())
    assert error is None
    assert deltas[-1].finish_reason == "content_filter"


@pytest.mark.parametrize("native", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL"])
def test_broken_function_calls_are_errors_not_stops(fake: GoogleUpstream, native: str) -> None:
    fake.push(Reply(text=None, native_finish=native), Reply(text=None, native_finish=native))
    with pytest.raises(ProviderError) as caught:
        complete(fake, ask(tools=[LOOKUP]))
    assert (caught.value.status, caught.value.code) == (502, 2003)
    deltas, error = stream(fake, ask(tools=[LOOKUP]))
    assert deltas == []
    assert isinstance(error, ProviderError)


def test_usage_with_thinking_and_cache(fake: GoogleUpstream) -> None:
    reply = Reply(
        text="Peace.",
        thinking="Considering...",
        prompt_tokens=500,
        cached_tokens=200,
        completion_tokens=90,
        reasoning_tokens=80,
    )
    fake.push(reply, reply)
    completion = complete(fake, ask())
    assert completion.content == "Peace."
    deltas, _ = stream(fake, ask())
    assert "".join(d.content or "" for d in deltas) == "Peace."
    for usage in (completion.usage, deltas[-1].usage):
        assert usage is not None
        assert (usage.prompt_tokens, usage.completion_tokens) == (500, 90)
        assert (usage.cached_tokens, usage.reasoning_tokens) == (200, 80)


def test_all_budget_spent_thinking_is_an_empty_completion(fake: GoogleUpstream) -> None:
    reply = Reply(text=None, thinking="Hmm", finish="length", completion_tokens=64, reasoning_tokens=64)
    fake.push(reply, reply)
    with pytest.raises(EmptyCompletionError, match="thinking"):
        complete(fake, ask(max_tokens=64))
    deltas, error = stream(fake, ask(max_tokens=64))
    assert deltas == []
    assert isinstance(error, EmptyCompletionError)


def test_parallel_calls_in_one_chunk_get_consecutive_indices(fake: GoogleUpstream) -> None:
    calls = (FakeToolCall("lookup", '{"verse": "John 3:16"}'), FakeToolCall("today", "{}"))
    fake.push(Reply(text=None, tool_calls=calls))
    deltas, error = stream(fake, ask(tools=[LOOKUP, NO_ARGS]))
    assert error is None
    fragments = [call for d in deltas for call in d.tool_calls or []]
    assert [(f.index, f.name, f.arguments) for f in fragments] == [
        (0, "lookup", '{"verse":"John 3:16"}'),
        (1, "today", "{}"),
    ]
    assert deltas[-1].finish_reason == "tool_calls"


def test_upstream_errors(fake: GoogleUpstream) -> None:
    fake.push(Reply(status=503, error_message="The model is overloaded."))
    with pytest.raises(UpstreamServerError, match="overloaded"):
        complete(fake, ask())
    fake.push(Reply(status=404, error_message="models/x is not found"))
    with pytest.raises(ProviderError, match="not found"):
        complete(fake, ask())


def test_invalid_argument_is_the_clients_error(fake: GoogleUpstream) -> None:
    fake.push(Reply(status=400, error_message="* GenerateContentRequest.contents: contents is not specified"))
    rejected = r"The upstream \(Google\) rejected the request: .*contents"
    with pytest.raises(InvalidRequestError, match=rejected) as caught:
        complete(fake, ask())
    assert (caught.value.status, caught.value.code) == (400, 1001)
    fake.push(Reply(status=400, error_message="Request contains an invalid argument."))
    deltas, error = stream(fake, ask())
    assert deltas == []
    assert isinstance(error, InvalidRequestError)


def test_an_invalid_api_key_is_homilys_problem_not_the_clients(fake: GoogleUpstream) -> None:
    """Gemini answers a bad key with 400 INVALID_ARGUMENT and ErrorInfo reason API_KEY_INVALID."""

    async def use(adapter: ProviderAdapter) -> Completion:
        return await adapter.complete(ask())

    async def with_wrong_key() -> Completion:
        session = new_session(TIMEOUTS, max_connections=2)
        try:
            return await use(GoogleAdapter(session, fake.url, "not-the-key", TIMEOUTS))
        finally:
            await session.close()

    with pytest.raises(ProviderError, match="API key not valid") as caught:
        run(with_wrong_key())
    assert caught.value.fault == "provider"
    assert "credentials" in caught.value.message
