"""The official `openai` SDK streams a tool-calling conversation through Homily to every provider family.

Homily runs for real (uvicorn on loopback) with the OpenAI, Anthropic and Gemini settings pointed at their fakes;
each family gets the same two-turn conversation: a streamed parallel tool call, then the tool results fed back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import openai
import orjson
import pytest

from homily.fakes.anthropic_upstream import AnthropicUpstream
from homily.fakes.google_upstream import GoogleUpstream
from homily.fakes.script import FakeToolCall, Reply
from tests.support.live import LiveHomily, make_settings, start_homily
from tests.support.upstreams import API_KEY, ConformanceFake, OpenAIFakeDriver, last_body, neutral

AUTO: Any = openai.NOT_GIVEN
FAMILIES = {"openai": "OpenAI", "anthropic": "Anthropic", "google": "Google"}
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "lookup_verse",
            "description": "The text of a Bible verse",
            "parameters": {"type": "object", "properties": {"ref": {"type": "string"}}, "required": ["ref"]},
        },
    }
]
CALLS = (FakeToolCall("lookup_verse", '{"ref": "Romans 8:28"}'), FakeToolCall("lookup_verse", '{"ref": "John 3:16"}'))
QUESTION: list[Any] = [{"role": "user", "content": "Quote Romans 8:28 and John 3:16, then link them."}]


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, ConformanceFake]]:
    with ExitStack() as stack:
        fakes: dict[str, ConformanceFake] = {
            "openai": OpenAIFakeDriver(),
            "anthropic": AnthropicUpstream(api_key=API_KEY),
            "google": GoogleUpstream(api_key=API_KEY),
        }
        for fake in fakes.values():
            stack.enter_context(fake)
        yield fakes


@pytest.fixture(scope="module")
def gateway(upstreams: dict[str, ConformanceFake], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHomily]:
    settings = make_settings(
        tmp_path_factory.mktemp("homily-families"),
        openai_api_key=API_KEY,
        openai_base_url=upstreams["openai"].url + "/v1",
        anthropic_api_key=API_KEY,
        anthropic_base_url=upstreams["anthropic"].url,
        gemini_api_key=API_KEY,
        gemini_base_url=upstreams["google"].url,
    )
    live = start_homily(settings)
    yield live
    live.stop()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_sdk_streams_a_tool_calling_conversation(
    gateway: LiveHomily, upstreams: dict[str, ConformanceFake], family: str
) -> None:
    fake = upstreams[family]
    fake.push(Reply(text=None, tool_calls=CALLS, chunk_chars=4), Reply(text="Both speak of God's love.", chunk_chars=5))
    client = openai.OpenAI(base_url=gateway.api_base, api_key=gateway.token(), max_retries=0)
    extra = {"model_family": family}

    with client.chat.completions.with_streaming_response.create(
        model=AUTO, messages=QUESTION, tools=TOOLS, stream=True, extra_body=extra
    ) as response:
        assert response.headers["x-model-family"] == FAMILIES[family]
        chunks = list(response.parse())
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += delta.id or ""
            call["name"] += (delta.function.name or "") if delta.function else ""
            call["arguments"] += (delta.function.arguments or "") if delta.function else ""
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["tool_calls"]
    assert [orjson.loads(calls[i]["arguments"]) for i in sorted(calls)] == [
        {"ref": "Romans 8:28"},
        {"ref": "John 3:16"},
    ]
    assert all(call["id"] and call["name"] == "lookup_verse" for call in calls.values())

    history: list[Any] = [
        *QUESTION,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in (calls[i] for i in sorted(calls))
            ],
        },
        *({"role": "tool", "tool_call_id": calls[i]["id"], "content": f"verse {i}"} for i in sorted(calls)),
    ]
    stream = client.chat.completions.create(model=AUTO, messages=history, tools=TOOLS, stream=True, extra_body=extra)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Both speak of God's love."
    results = [item for _, items in neutral(family, last_body(fake)).turns for item in items if item[0] == "result"]
    assert results == [("result", "lookup_verse", "verse 0"), ("result", "lookup_verse", "verse 1")]


REJECTIONS = {
    "openai": "Invalid schema for response_format 'verse': 'required' is required to be supplied.",
    "anthropic": "messages.0.content.0.type: Input tag 'picture' does not match any of the expected tags",
    "google": "* GenerateContentRequest.generation_config.response_schema.properties: should be non-empty",
}


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_request_the_family_rejects_is_the_clients_400(
    gateway: LiveHomily, upstreams: dict[str, ConformanceFake], family: str, *, streamed: bool
) -> None:
    """Each family's 400 reaches the SDK as a 400 naming the upstream: sent once (the SDK retries only 5xx and
    429, Homily retries only transient faults) and never passed on to another model."""
    upstreams[family].push(Reply(status=400, error_message=REJECTIONS[family]))
    client = openai.OpenAI(base_url=gateway.api_base, api_key=gateway.token())  # the SDK's default retries
    before = sum(len(fake.requests) for fake in upstreams.values())
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=AUTO, messages=QUESTION, stream=streamed, extra_body={"model_family": family}
        )
    assert isinstance(caught.value.body, dict)
    expected = f"The upstream ({FAMILIES[family]}) rejected the request: {REJECTIONS[family]}"
    assert (caught.value.body["message"], caught.value.body["code"]) == (expected, 1001)
    assert sum(len(fake.requests) for fake in upstreams.values()) == before + 1
