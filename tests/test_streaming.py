"""API.md section 2, streaming: chunk shapes, headers, include_usage, [DONE], in-band errors, disconnects."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import orjson
import pytest

from homily.fakes.openai_script import Behaviour, FakeToolCall
from homily.fakes.openai_upstream import FakeOpenAIUpstream
from tests.support.http import assert_envelope, auth_headers
from tests.support.live import LiveHomily

USER = [{"role": "user", "content": "Tell me about the Beatitudes."}]


@pytest.fixture(scope="module")
def token(homily: LiveHomily) -> str:
    return homily.token()


def stream(homily: LiveHomily, token: str, body: dict[str, Any]) -> tuple[httpx.Response, list[Any]]:
    """POST a streaming request; returns the response and its parsed events (`"[DONE]"` kept as a string)."""
    events: list[Any] = []
    with httpx.stream(
        "POST", homily.base_url + "/ai/v2/chat/completions", json={**body, "stream": True}, headers=auth_headers(token)
    ) as response:
        buffer = b""
        for chunk in response.iter_bytes():
            buffer += chunk
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            for block in buffer.split(b"\n\n"):
                if block.startswith(b"data: "):
                    payload = block[6:]
                    events.append("[DONE]" if payload == b"[DONE]" else orjson.loads(payload))
        else:
            response._content = buffer
    return response, events


def test_stream_chunks_headers_usage_and_done(homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream) -> None:
    upstream.enqueue(Behaviour(content="Blessed are the poor in spirit.", chunks=4))
    body = {
        "messages": USER,
        "auto_routing": True,
        "tradition": "evangelical",
        "stream_options": {"include_usage": True},
    }
    response, events = stream(homily, token, body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-routing-mechanism"] == "auto_routing"
    assert response.headers["x-selected-model"].startswith("gloo-")
    assert response.headers["x-model-family"] in {"OpenAI", "Open Source"}
    assert response.headers["x-tradition"] == "evangelical"
    assert response.headers["x-routing-tier"] in {"tier_1", "tier_2", "tier_3"}
    assert 0 <= float(response.headers["x-routing-confidence"]) <= 1
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(c["model"] == response.headers["x-selected-model"] for c in chunks)
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["total_tokens"] > 0
    content_chunks = chunks[:-1]
    assert content_chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in content_chunks[:-1])
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in content_chunks)
    assert text == "Blessed are the poor in spirit."


def test_without_include_usage_there_is_no_usage_chunk(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream
) -> None:
    _, events = stream(homily, token, {"messages": USER, "model": "gloo-openai-gpt-5-mini"})
    assert all(e == "[DONE]" or e["choices"] for e in events)
    assert upstream.requests[-1].json()["stream_options"] == {"include_usage": True}  # Homily always meters


def test_direct_stream_headers_have_no_tier(homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream) -> None:
    response, _ = stream(homily, token, {"messages": USER, "model": "gloo-openai-gpt-5-mini"})
    assert response.headers["x-routing-mechanism"] == "direct_model_selection"
    assert response.headers["x-selected-model"] == "gloo-openai-gpt-5-mini"
    assert response.headers["x-model-family"] == "OpenAI"
    assert "x-routing-tier" not in response.headers
    assert "x-routing-confidence" not in response.headers
    assert "x-tradition" not in response.headers


def test_streamed_parallel_tool_calls_arrive_whole_and_in_order(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream
) -> None:
    arguments = ['{"ref": "Matthew 5:3-12", "version": "WEB"}', '{"ref": "Luke 6:20-23"}']
    upstream.enqueue(
        Behaviour(
            tool_calls=(
                FakeToolCall(name="lookup_verse", arguments=arguments[0], id="call_1"),
                FakeToolCall(name="lookup_verse", arguments=arguments[1], id="call_2"),
            ),
            interleave_tool_calls=True,
            chunks=6,
        )
    )
    tools = [{"type": "function", "function": {"name": "lookup_verse", "parameters": {"type": "object"}}}]
    _, events = stream(homily, token, {"messages": USER, "model": "gloo-openai-gpt-5-mini", "tools": tools})
    calls: dict[int, dict[str, str]] = {}
    for event in events[:-1]:
        for delta in event["choices"][0]["delta"].get("tool_calls") or []:
            call = calls.setdefault(delta["index"], {"id": "", "name": "", "arguments": ""})
            call["id"] += delta.get("id", "")
            call["name"] += delta["function"].get("name", "")
            call["arguments"] += delta["function"].get("arguments", "")
    assert [calls[i]["id"] for i in sorted(calls)] == ["call_1", "call_2"]
    assert [calls[i]["arguments"] for i in sorted(calls)] == arguments
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_error_before_first_byte_is_an_http_error(homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream) -> None:
    upstream.enqueue(Behaviour(status=500))
    response, events = stream(homily, token, {"messages": USER, "model": "gloo-openai-gpt-5-mini"})
    assert events == []
    assert_envelope(response, 502, 2003)


def test_a_request_the_upstream_rejects_before_streaming_is_the_clients_400(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream
) -> None:
    upstream.enqueue(Behaviour(status=400, error_message="'tools[0].function.name' is too long."))
    response, events = stream(homily, token, {"messages": USER, "auto_routing": True})
    assert events == []
    error = assert_envelope(response, 400, 1001)
    assert (error["fault"], error["retryable"]) == ("client", False)
    assert "rejected the request: 'tools[0].function.name' is too long." in error["message"]
    assert upstream.stats().requests == 1  # neither retried nor sent to a fallback model


@pytest.mark.parametrize("include_usage", [False, True])
def test_an_upstream_stream_without_done_after_its_finish_ends_normally(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream, *, include_usage: bool
) -> None:
    """Some OpenAI-compatible servers (and the platform itself, API.md section 2) omit `[DONE]`; once the finish
    reason arrived nothing is missing, and Homily still ends with its own `[DONE]`."""
    upstream.enqueue(Behaviour(content="Blessed are the meek.", truncate="no_done"))
    body = {"messages": USER, "model": "gloo-openai-gpt-5-mini", "stream_options": {"include_usage": include_usage}}
    response, events = stream(homily, token, body)
    assert response.status_code == 200
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all("error" not in c for c in chunks)
    if include_usage:
        assert chunks.pop()["usage"]["completion_tokens"] == 4
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "Blessed are the meek."


@pytest.mark.parametrize(
    "behaviour",
    [
        Behaviour(abort_after_chunks=2, chunks=6),
        Behaviour(truncate="before_finish"),
        Behaviour(malformed_json=True, chunks=4),
    ],
    ids=["connection-dropped", "ended-before-finish", "malformed-event"],
)
def test_failure_after_first_byte_is_an_in_band_error_chunk(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream, behaviour: Behaviour
) -> None:
    upstream.enqueue(behaviour)
    response, events = stream(homily, token, {"messages": USER, "model": "gloo-openai-gpt-5-mini"})
    assert response.status_code == 200
    last = events[-1]
    assert last != "[DONE]"
    assert last["choices"][0]["finish_reason"] == "error"
    assert last["error"]["code"] == 2003
    assert last["error"]["fault"] == "provider"
    assert last["error"]["request_id"] == response.headers["x-request-id"]


def test_client_disconnect_cancels_the_upstream_request(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream
) -> None:
    upstream.enqueue(Behaviour(content="word " * 200, chunks=100, chunk_delay=0.05))
    before = upstream.stats().cancelled_streams
    with httpx.stream(
        "POST",
        homily.base_url + "/ai/v2/chat/completions",
        json={"messages": USER, "model": "gloo-openai-gpt-5-mini", "stream": True},
        headers=auth_headers(token),
    ) as response:
        first = next(response.iter_bytes())
        assert first.startswith(b"data: ")
    # Leaving the block closes the connection after ~1 of 100 chunks (5 s of streaming remained).
    stats = upstream.wait_for(lambda s: s.cancelled_streams > before, timeout=3.0)
    assert stats.cancelled_streams == before + 1
    assert stats.completed_streams == 0 or stats.active_requests == 0


def test_half_sent_request_does_not_crash_the_server(homily: LiveHomily, token: str) -> None:
    host, port = homily.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as raw:
        raw.sendall(
            b"POST /ai/v2/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + token.encode() + b'\r\nContent-Length: 1000\r\n\r\n{"messages":'
        )
        time.sleep(0.1)
    assert httpx.get(homily.base_url + "/healthz").status_code == 200
