"""What the fake OpenAI upstream answers, and the exact bytes it answers with.

A `Behaviour` describes one response (content, tool calls, usage, timing, failure modes). `render_*` turn
a behaviour plus the request into OpenAI chat-completions wire bytes: a `chat.completion` JSON body, or
the list of `chat.completion.chunk` SSE events a streaming call receives. Rendering is pure (cacheable).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import field
from typing import Any, Literal

import orjson
from pydantic import ConfigDict, TypeAdapter
from pydantic.dataclasses import dataclass

TruncateMode = Literal["no_done", "before_finish", "mid_event"]

SYSTEM_FINGERPRINT = "fp_homilyfake"
SSE_DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class FakeToolCall:
    """One function call the fake model makes; `id` is generated when empty."""

    name: str
    arguments: str = "{}"
    id: str = ""


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Behaviour:
    """How the fake upstream answers one request.

    Every field has a realistic default so a script only names what a test cares about. `content=None` means
    the default echo answer derived from the last user message. Failure modes compose with timing: e.g.
    `status=429` with `retry_after="2"` and `headers_delay=0.1` answers a rate-limit error after 100 ms.
    """

    content: str | None = None
    tool_calls: tuple[FakeToolCall, ...] = ()
    interleave_tool_calls: bool = False
    """Stream parallel tool calls' argument fragments round-robin instead of one call after the other."""
    finish_reason: str | None = None
    """None: `tool_calls` when there are tool calls, `length` when `max_tokens` cut the echo, else `stop`."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    model: str | None = None
    """Model name reported back; None echoes the request's `model`."""
    headers_delay: float = 0.0
    chunk_delay: float = 0.0
    chunks: int = 4
    """Number of content delta events the content is split into (at least one per non-empty content)."""
    status: int = 200
    error_message: str = "The fake upstream was scripted to fail."
    error_type: str = "server_error"
    error_code: str | None = None
    error_body: dict[str, Any] | None = None
    """Exact JSON error body to send instead of the OpenAI-shaped one built from `error_*`."""
    retry_after: str | None = None
    abort_after_chunks: int | None = None
    """Close the TCP connection after this many SSE events (non-streaming: 0 = no headers, else mid-body)."""
    malformed_json: bool = False
    """Non-streaming: a body cut in the middle of the JSON. Streaming: one event carries invalid JSON."""
    truncate: TruncateMode | None = None
    """`no_done`: end the stream cleanly without `[DONE]` (after the finish reason and usage, as some
    OpenAI-compatible servers do); `before_finish`: end it cleanly before the chunk carrying the finish reason;
    `mid_event`: end it cleanly inside an event."""
    extra_headers: dict[str, str] = field(default_factory=dict)


BEHAVIOUR_ADAPTER: TypeAdapter[Behaviour] = TypeAdapter(Behaviour)
BEHAVIOURS_ADAPTER: TypeAdapter[list[Behaviour]] = TypeAdapter(list[Behaviour])


def error_body_bytes(behaviour: Behaviour) -> bytes:
    """The OpenAI error object for a scripted failure (or the exact scripted body)."""
    if behaviour.error_body is not None:
        return orjson.dumps(behaviour.error_body)
    return openai_error(behaviour.error_message, behaviour.error_type, behaviour.error_code)


def openai_error(message: str, error_type: str, code: str | None, param: str | None = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": error_type, "param": param, "code": code}})


def message_text(message: dict[str, Any]) -> str:
    """The text of a chat message whose content is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def echo_content(request: dict[str, Any]) -> str:
    """The deterministic default answer: an echo of the last user message."""
    messages = request.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                text = " ".join(message_text(message).split())
                if text:
                    return f"You said: {text[:400]}"
    return "Hello from the fake upstream."


def count_tokens(text: str) -> int:
    """A deterministic token estimate (one per whitespace-separated word)."""
    return len(text.split())


def prompt_token_estimate(request: dict[str, Any]) -> int:
    messages = request.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(4 + count_tokens(message_text(m)) for m in messages if isinstance(m, dict))


def max_tokens_of(request: dict[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = request.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def split_text(text: str, pieces: int) -> list[str]:
    """Split `text` at word boundaries into at most `pieces` non-empty parts whose concatenation is `text`."""
    if not text:
        return []
    words: list[str] = []
    start = 0
    for index in range(1, len(text) + 1):
        if index == len(text) or (text[index] == " " and text[index - 1] != " "):
            words.append(text[start:index])
            start = index
    count = max(1, min(pieces, len(words)))
    base, extra = divmod(len(words), count)
    parts: list[str] = []
    position = 0
    for part_index in range(count):
        size = base + (1 if part_index < extra else 0)
        parts.append("".join(words[position : position + size]))
        position += size
    return parts


def split_fragments(arguments: str, pieces: int) -> list[str]:
    """Split a JSON arguments string into roughly equal raw fragments (they need not be valid JSON)."""
    if not arguments:
        return [""]
    count = max(1, min(pieces, len(arguments)))
    size = -(-len(arguments) // count)
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


class ResolvedAnswer:
    """A behaviour resolved against one request: the concrete content, calls, usage and identifiers."""

    __slots__ = ("completion_id", "content", "created", "finish_reason", "model", "tool_calls", "usage")

    def __init__(self, behaviour: Behaviour, request: dict[str, Any], body_digest: str) -> None:
        content = behaviour.content
        finish_reason = behaviour.finish_reason
        if content is None and not behaviour.tool_calls:
            content = echo_content(request)
            limit = max_tokens_of(request)
            if limit is not None and count_tokens(content) > limit:
                content = " ".join(content.split()[:limit])
                finish_reason = finish_reason or "length"
        if finish_reason is None:
            finish_reason = "tool_calls" if behaviour.tool_calls else "stop"
        self.content = content
        self.finish_reason = finish_reason
        self.completion_id = f"chatcmpl-{body_digest[:29]}"
        self.created = int(time.time())
        model = behaviour.model if behaviour.model is not None else request.get("model")
        self.model = model if isinstance(model, str) else "gpt-fake"
        self.tool_calls = [
            FakeToolCall(call.name, call.arguments, call.id or f"call_{body_digest[index * 4 : index * 4 + 24]}")
            for index, call in enumerate(behaviour.tool_calls)
        ]
        completion = behaviour.completion_tokens
        if completion is None:
            completion = count_tokens(content or "") + sum(count_tokens(c.arguments) + 5 for c in self.tool_calls)
        prompt = behaviour.prompt_tokens if behaviour.prompt_tokens is not None else prompt_token_estimate(request)
        self.usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": behaviour.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": behaviour.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }


def body_digest(raw_body: bytes) -> str:
    return hashlib.blake2b(raw_body, digest_size=32).hexdigest()


def render_completion(answer: ResolvedAnswer) -> bytes:
    """The non-streaming `chat.completion` body."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.content,
        "refusal": None,
        "annotations": [],
    }
    if answer.tool_calls:
        message["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in answer.tool_calls
        ]
    return orjson.dumps(
        {
            "id": answer.completion_id,
            "object": "chat.completion",
            "created": answer.created,
            "model": answer.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": answer.finish_reason}],
            "usage": answer.usage,
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }
    )


def _tool_call_deltas(answer: ResolvedAnswer, interleave: bool, pieces: int) -> Iterator[dict[str, Any]]:
    """`delta.tool_calls` entries: index/id/name first for each call, then its argument fragments."""
    heads = [
        {"index": i, "id": c.id, "type": "function", "function": {"name": c.name, "arguments": ""}}
        for i, c in enumerate(answer.tool_calls)
    ]
    fragments = [split_fragments(call.arguments, pieces) for call in answer.tool_calls]
    if not interleave:
        for index, head in enumerate(heads):
            yield head
            for fragment in fragments[index]:
                yield {"index": index, "function": {"arguments": fragment}}
        return
    yield from heads
    for step in range(max(len(f) for f in fragments)):
        for index, call_fragments in enumerate(fragments):
            if step < len(call_fragments):
                yield {"index": index, "function": {"arguments": call_fragments[step]}}


def truncated_events(events: list[bytes], mode: TruncateMode) -> list[bytes]:
    """The events a stream truncated by `mode` sends (see `Behaviour.truncate`)."""
    if mode == "no_done":
        return events[:-1]
    if mode == "before_finish":
        finish = next((i for i, e in enumerate(events) if b'"finish_reason":"' in e), len(events) - 1)
        return events[:finish]
    cut = len(events) // 2
    return [*events[:cut], events[cut][: len(events[cut]) // 2]]


def render_stream_events(answer: ResolvedAnswer, behaviour: Behaviour, include_usage: bool) -> list[bytes]:
    """Every SSE event of a streaming answer, `[DONE]` included, in the order OpenAI sends them."""
    envelope: dict[str, Any] = {
        "id": answer.completion_id,
        "object": "chat.completion.chunk",
        "created": answer.created,
        "model": answer.model,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }

    def event(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        chunk: dict[str, Any] = {**envelope, "choices": [choice]}
        if include_usage:
            chunk["usage"] = None
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    first: dict[str, Any] = {"role": "assistant", "content": "" if answer.content is not None else None}
    first["refusal"] = None
    events = [event(first)]
    events.extend(event({"content": piece}) for piece in split_text(answer.content or "", behaviour.chunks))
    events.extend(
        event({"tool_calls": [delta]})
        for delta in _tool_call_deltas(answer, behaviour.interleave_tool_calls, behaviour.chunks)
    )
    events.append(event({}, answer.finish_reason))
    if include_usage:
        events.append(b"data: " + orjson.dumps({**envelope, "choices": [], "usage": answer.usage}) + b"\n\n")
    if behaviour.malformed_json:
        events.insert(min(2, len(events) - 1), b'data: {"id": "' + answer.completion_id.encode() + b'", "choi\n\n')
    events.append(SSE_DONE)
    return events
