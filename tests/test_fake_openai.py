"""The fake OpenAI upstream speaks the real wire format (checked with the official SDK) and its script works."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import orjson
import pytest

from homily.fakes.openai_script import split_text
from homily.fakes.openai_upstream import Behaviour, FakeOpenAIUpstream, FakeToolCall

KEY = "sk-fake-test-key-0001"
MESSAGES: list[Any] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is the capital of France?"},
]
WEATHER = FakeToolCall("get_weather", '{"city": "Paris", "unit": "celsius"}', "call_weather")
CLOCK = FakeToolCall("get_time", '{"timezone": "Europe/Paris"}', "call_clock")


@pytest.fixture
def fake() -> Iterator[FakeOpenAIUpstream]:
    with FakeOpenAIUpstream(api_key=KEY) as server:
        yield server


@pytest.fixture
def client(fake: FakeOpenAIUpstream) -> Iterator[openai.OpenAI]:
    """The official SDK pointed at the fake, closed after the test (no socket left to the garbage collector)."""
    with openai.OpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0) as opened:
        yield opened


def post_raw(
    fake: FakeOpenAIUpstream, body: Any, key: str | None = KEY, path: str = "/v1/chat/completions"
) -> tuple[int, dict[str, str], bytes]:
    """POST a body and read the whole response; a transport failure is returned as status -1."""

    async def run() -> tuple[int, dict[str, str], bytes]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        async with (
            aiohttp.ClientSession() as session,
            session.post(fake.url + path, data=data, headers=headers) as response,
        ):
            return response.status, dict(response.headers), await response.read()

    return asyncio.run(run())


def read_events(fake: FakeOpenAIUpstream, body: dict[str, Any]) -> tuple[list[bytes], str | None]:
    """Stream a request and return the raw SSE events received plus the client error that ended it, if any."""

    async def run() -> tuple[list[bytes], str | None]:
        received = b""
        error: str | None = None
        headers = {"Authorization": f"Bearer {KEY}"}
        async with aiohttp.ClientSession() as session:
            try:
                async with session.post(fake.base_url + "/chat/completions", json=body, headers=headers) as resp:
                    async for data in resp.content.iter_any():
                        received += data
            except aiohttp.ClientError as failure:
                error = type(failure).__name__
        return [part + b"\n\n" for part in received.split(b"\n\n")[:-1]] + [received.rpartition(b"\n\n")[2]], error

    events, error = asyncio.run(run())
    return [e for e in events if e], error


def chunk_payloads(events: list[bytes]) -> list[dict[str, Any]]:
    return [orjson.loads(e[len(b"data: ") :]) for e in events if e.startswith(b"data: {")]


def test_non_streaming_completion_is_an_openai_chat_completion(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-5-mini", messages=MESSAGES)
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-5-mini"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == "You said: What is the capital of France?"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 8
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 8
    [recorded] = fake.requests
    assert (recorded.method, recorded.path) == ("POST", "/v1/chat/completions")
    assert recorded.headers["authorization"] == f"Bearer {KEY}"
    assert recorded.json()["messages"] == MESSAGES


def test_repeated_default_requests_are_answered_identically(fake: FakeOpenAIUpstream) -> None:
    body = {"model": "gpt-5-mini", "messages": MESSAGES}
    first = post_raw(fake, body)
    second = post_raw(fake, body)
    assert first[0] == second[0] == 200
    assert first[2] == second[2]
    fake.set_default(Behaviour(content="Paris."))
    third = orjson.loads(post_raw(fake, body)[2])
    assert third["choices"][0]["message"]["content"] == "Paris."
    assert fake.stats().requests == 3


def test_streaming_sends_role_first_then_content_then_finish_and_usage(fake: FakeOpenAIUpstream) -> None:
    events, error = read_events(
        fake,
        {"model": "gpt-5-mini", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}},
    )
    assert error is None
    assert events[-1] == b"data: [DONE]\n\n"
    chunks = chunk_payloads(events)
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content_chunks = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content_chunks) == 4
    text = "".join(c["choices"][0]["delta"]["content"] for c in content_chunks)
    assert text == "You said: What is the capital of France?"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 8
    assert all(chunk["usage"] is None for chunk in chunks[:-1])


@pytest.mark.parametrize("scripted", [False, True])
def test_streams_are_chunked_event_streams(fake: FakeOpenAIUpstream, scripted: bool) -> None:
    if scripted:
        fake.enqueue(Behaviour(content="Scripted answer.", chunk_delay=0.001))
    status, headers, body = post_raw(fake, {"model": "m", "messages": MESSAGES, "stream": True})
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in headers
    assert body.endswith(b"data: [DONE]\n\n")


def test_streaming_without_include_usage_has_no_usage_field(fake: FakeOpenAIUpstream) -> None:
    events, _ = read_events(fake, {"model": "m", "messages": MESSAGES, "stream": True})
    chunks = chunk_payloads(events)
    assert all("usage" not in chunk for chunk in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_sdk_streaming_reassembles_the_non_streaming_answer(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.enqueue(Behaviour(content="Paris is the capital of France.", chunks=3, chunk_delay=0.001))
    stream = client.chat.completions.create(
        model="gpt-5-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    pieces: list[str] = []
    finish: str | None = None
    usage_seen = False
    for chunk in stream:
        if chunk.usage is not None:
            usage_seen = True
        for choice in chunk.choices:
            pieces.extend([choice.delta.content] if choice.delta.content else [])
            finish = choice.finish_reason or finish
    assert pieces == ["Paris is", " the capital", " of France."]
    assert finish == "stop"
    assert usage_seen
    assert fake.wait_for(lambda stats: stats.completed_streams > 0).completed_streams == 1


def test_non_streaming_tool_calls(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.enqueue(Behaviour(tool_calls=(WEATHER, CLOCK)))
    completion = client.chat.completions.create(model="gpt-5-mini", messages=MESSAGES)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert [(c.id, c.type) for c in calls] == [("call_weather", "function"), ("call_clock", "function")]
    assert [c.function.name for c in calls if c.type == "function"] == ["get_weather", "get_time"]
    assert orjson.loads(calls[0].function.arguments if calls[0].type == "function" else "") == {
        "city": "Paris",
        "unit": "celsius",
    }


@pytest.mark.parametrize("interleave", [False, True])
def test_streamed_tool_calls_name_first_then_argument_fragments(fake: FakeOpenAIUpstream, interleave: bool) -> None:
    fake.enqueue(Behaviour(tool_calls=(WEATHER, CLOCK), interleave_tool_calls=interleave, chunks=3))
    events, _ = read_events(fake, {"model": "m", "messages": MESSAGES, "stream": True})
    deltas = [call for chunk in chunk_payloads(events) for call in chunk["choices"][0]["delta"].get("tool_calls", [])]
    seen: set[int] = set()
    arguments: dict[int, str] = {0: "", 1: ""}
    for delta in deltas:
        if delta["index"] not in seen:
            assert delta["function"]["name"]
            assert delta["id"]
            assert delta["type"] == "function"
            seen.add(delta["index"])
        else:
            assert set(delta) == {"index", "function"}
            assert set(delta["function"]) == {"arguments"}
        arguments[delta["index"]] += delta["function"]["arguments"]
    assert arguments == {0: WEATHER.arguments, 1: CLOCK.arguments}
    order = [d["index"] for d in deltas]
    assert order == ([0, 1, 0, 1, 0, 1, 0, 1] if interleave else [0, 0, 0, 0, 1, 1, 1, 1])
    assert chunk_payloads(events)[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_wrong_or_missing_key_is_a_401_in_openai_shape(fake: FakeOpenAIUpstream) -> None:
    client = openai.OpenAI(base_url=fake.base_url, api_key="sk-wrong-key-123456", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        client.chat.completions.create(model="gpt-5-mini", messages=MESSAGES)
    assert raised.value.code == "invalid_api_key"
    status, _, body = post_raw(fake, {"model": "m", "messages": MESSAGES}, key=None)
    assert status == 401
    assert orjson.loads(body)["error"]["type"] == "invalid_request_error"


def test_bad_requests_get_400(fake: FakeOpenAIUpstream) -> None:
    status, _, body = post_raw(fake, b"{not json")
    assert status == 400
    assert "parse the JSON" in orjson.loads(body)["error"]["message"]
    status, _, body = post_raw(fake, {"model": "m"})
    assert status == 400
    assert orjson.loads(body)["error"]["param"] == "messages"


def test_scripted_rate_limit_with_retry_after(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.enqueue(
        Behaviour(
            status=429,
            error_message="Slow down",
            error_type="requests",
            error_code="rate_limit_exceeded",
            retry_after="7",
        ),
        Behaviour(status=503, error_body={"error": {"message": "overloaded", "type": "server_error"}}),
    )
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-5-mini", messages=MESSAGES)
    assert raised.value.response.headers["retry-after"] == "7"
    assert raised.value.code == "rate_limit_exceeded"
    status, _, body = post_raw(fake, {"model": "m", "messages": MESSAGES})
    assert (status, orjson.loads(body)) == (503, {"error": {"message": "overloaded", "type": "server_error"}})
    assert post_raw(fake, {"model": "m", "messages": MESSAGES})[0] == 200


def test_max_tokens_cuts_the_echo_with_finish_reason_length(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-5-mini", messages=MESSAGES, max_tokens=3)
    assert completion.choices[0].message.content == "You said: What"
    assert completion.choices[0].finish_reason == "length"


def test_malformed_json_body_and_event(fake: FakeOpenAIUpstream) -> None:
    fake.enqueue(Behaviour(malformed_json=True), Behaviour(malformed_json=True))
    status, _, body = post_raw(fake, {"model": "m", "messages": MESSAGES})
    assert status == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    events, _ = read_events(fake, {"model": "m", "messages": MESSAGES, "stream": True})
    broken = [e for e in events if e.startswith(b"data: {")]
    with pytest.raises(orjson.JSONDecodeError):
        chunk_payloads(broken)


def test_truncated_streams(fake: FakeOpenAIUpstream) -> None:
    fake.enqueue(Behaviour(truncate="no_done"), Behaviour(truncate="before_finish"), Behaviour(truncate="mid_event"))
    events, error = read_events(fake, {"model": "m", "messages": MESSAGES, "stream": True})
    assert error is None
    assert b"data: [DONE]\n\n" not in events
    assert events[-1].endswith(b"\n\n")
    assert [c["choices"][0]["finish_reason"] for c in chunk_payloads(events)][-1] == "stop"
    events, error = read_events(fake, {"model": "m", "messages": MESSAGES, "stream": True})
    assert error is None
    assert events[-1].endswith(b"\n\n")
    finishes = [c["choices"][0]["finish_reason"] for c in chunk_payloads(events)]
    assert len(finishes) >= 2
    assert set(finishes) == {None}
    events, error = read_events(fake, {"model": "m", "messages": MESSAGES, "stream": True})
    assert error is None
    assert not events[-1].endswith(b"\n\n")
    assert events[-1].startswith(b"data: {")


def test_abort_mid_stream_closes_the_connection(fake: FakeOpenAIUpstream) -> None:
    fake.enqueue(Behaviour(abort_after_chunks=2, chunk_delay=0.001))
    events, error = read_events(fake, {"model": "m", "messages": MESSAGES, "stream": True})
    assert error == "ClientPayloadError"
    assert len(events) == 2


def test_abort_before_headers_and_mid_body(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.enqueue(Behaviour(abort_after_chunks=0), Behaviour(abort_after_chunks=1))
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-5-mini", messages=MESSAGES)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-5-mini", messages=MESSAGES)
    assert fake.stats().requests == 2


def test_client_disconnect_is_counted_as_a_cancelled_stream(fake: FakeOpenAIUpstream) -> None:
    fake.enqueue(Behaviour(chunks=20, chunk_delay=0.05, content=" ".join(["word"] * 40)))

    async def read_first_event_then_leave() -> bytes:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                fake.base_url + "/chat/completions",
                json={"model": "m", "messages": MESSAGES, "stream": True},
                headers={"Authorization": f"Bearer {KEY}"},
            ) as response,
        ):
            return await response.content.readuntil(b"\n\n")

    first = asyncio.run(read_first_event_then_leave())
    assert first.startswith(b"data: {")
    stats = fake.wait_for(lambda s: s.cancelled_streams == 1 and s.active_requests == 0)
    assert stats.completed_streams == 0
    fake.wait_for(lambda s: s.open_connections == 0)


def test_slow_request_is_visible_as_active_until_cancelled(fake: FakeOpenAIUpstream) -> None:
    fake.enqueue(Behaviour(headers_delay=30))

    async def give_up_early() -> None:
        timeout = aiohttp.ClientTimeout(total=0.2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            with pytest.raises(TimeoutError):
                await session.post(
                    fake.base_url + "/chat/completions",
                    json={"model": "m", "messages": MESSAGES},
                    headers={"Authorization": f"Bearer {KEY}"},
                )
            assert fake.stats().active_requests == 1

    asyncio.run(give_up_early())
    assert fake.wait_for(lambda s: s.cancelled_requests == 1).active_requests == 0


def test_control_plane_over_http(fake: FakeOpenAIUpstream) -> None:
    script = [{"content": "first"}, {"content": "second", "finish_reason": "length"}]
    status, _, body = post_raw(fake, script, path="/_fake/script")
    assert (status, orjson.loads(body)) == (200, {"queued": 2})
    answers = [orjson.loads(post_raw(fake, {"model": "m", "messages": MESSAGES})[2]) for _ in range(3)]
    assert [a["choices"][0]["message"]["content"] for a in answers] == [
        "first",
        "second",
        "You said: What is the capital of France?",
    ]
    assert answers[1]["choices"][0]["finish_reason"] == "length"
    status, _, body = post_raw(fake, {"default": {"content": "always"}, "behaviours": []}, path="/_fake/script")
    assert status == 200
    assert (
        orjson.loads(post_raw(fake, {"model": "m", "messages": MESSAGES})[2])["choices"][0]["message"]["content"]
        == "always"
    )
    assert post_raw(fake, {"contnt": "typo"}, path="/_fake/script")[0] == 400

    async def get(path: str) -> Any:
        async with aiohttp.ClientSession() as session, session.get(fake.url + path) as response:
            return orjson.loads(await response.read())

    logged = asyncio.run(get("/_fake/requests"))
    assert len(logged) == 4
    assert logged[0]["body"]["messages"] == MESSAGES
    assert logged[0]["headers"]["authorization"] == f"Bearer {KEY}"
    assert asyncio.run(get("/_fake/stats"))["requests"] == 4
    assert post_raw(fake, b"", path="/_fake/reset")[0] == 200
    assert asyncio.run(get("/_fake/requests")) == []
    answer = orjson.loads(post_raw(fake, {"model": "m", "messages": MESSAGES})[2])
    assert answer["choices"][0]["message"]["content"].startswith("You said:")


def test_models_list(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    models = [model.id for model in client.models.list()]
    assert "gpt-5-mini" in models


def test_async_context_manager_with_async_sdk() -> None:
    async def run() -> tuple[str | None, list[str]]:
        async with FakeOpenAIUpstream() as fake:
            client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="anything", max_retries=0)
            completion = await client.chat.completions.create(model="gpt-5-nano", messages=MESSAGES)
            stream = await client.chat.completions.create(model="gpt-5-nano", messages=MESSAGES, stream=True)
            pieces = [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]
            await client.close()
            return completion.choices[0].message.content, pieces

    content, pieces = asyncio.run(run())
    assert content == "".join(pieces)


def test_port_in_use_is_reported() -> None:
    with FakeOpenAIUpstream() as first, pytest.raises(OSError, match="in use"), FakeOpenAIUpstream(port=first.port):
        pass


@pytest.mark.parametrize(("text", "pieces"), [("a b c d e", 2), ("one", 4), ("  spaced   out  text ", 3), ("", 3)])
def test_split_text_keeps_every_character(text: str, pieces: int) -> None:
    parts = split_text(text, pieces)
    assert "".join(parts) == text
    assert all(parts)
    assert len(parts) <= pieces


def test_command_line_server_serves_and_stops_on_sigterm() -> None:
    source_dir = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": str(source_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "homily.fakes.openai_upstream", "--port", "0", "--max-recorded", "0"],
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.split()[-1]

        async def call() -> dict[str, Any]:
            async with (
                aiohttp.ClientSession() as session,
                session.post(url + "/v1/chat/completions", json={"model": "m", "messages": MESSAGES}) as response,
            ):
                return orjson.loads(await response.read())  # type: ignore[no-any-return]

        answer = asyncio.run(call())
        assert answer["choices"][0]["message"]["content"].startswith("You said:")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
