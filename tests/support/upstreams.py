"""Shared helpers for the provider tests: adapters wired to fake upstreams, neutral views, stream assembly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import orjson

from homily.errors import HomilyError
from homily.fakes.anthropic_upstream import AnthropicUpstream
from homily.fakes.google_upstream import GoogleUpstream
from homily.fakes.openai_script import Behaviour
from homily.fakes.openai_script import FakeToolCall as OpenAIToolCall
from homily.fakes.openai_upstream import FakeOpenAIUpstream
from homily.fakes.script import Reply
from homily.fakes.server import FakeUpstream
from homily.providers.anthropic import AnthropicAdapter
from homily.providers.google import GoogleAdapter
from homily.providers.http import new_session
from homily.providers.openai_compat import OpenAICompatAdapter
from homily.providers.timeouts import UpstreamTimeouts
from homily.providers.types import Completion, ProviderAdapter, StreamDelta, UpstreamModel
from homily.providers.upstream import DEFAULT_MAX_RESPONSE_BYTES

T = TypeVar("T")

API_KEY = "test-key"
TIMEOUTS = UpstreamTimeouts(connect=2.0, first_byte=5.0, idle=5.0)
SHORT = UpstreamTimeouts(connect=1.0, first_byte=0.5, idle=0.5)
GUARD_SECONDS = 15.0
"""No single test operation may take longer than this: a hang fails the test instead of stalling the suite."""

MODELS: dict[str, UpstreamModel] = {
    "openai": UpstreamModel(
        "gloo-openai-gpt-5-mini", "gpt-5-mini", 128000, True, max_tokens_field="max_completion_tokens"
    ),
    "anthropic": UpstreamModel("gloo-anthropic-claude-sonnet-4.5", "claude-sonnet-4-5", 64000, True),
    "google": UpstreamModel("gloo-google-gemini-2.5-flash", "gemini-2.5-flash", 65536, True),
}
BACKUP_MODELS: dict[str, UpstreamModel] = {
    "openai": UpstreamModel(
        "gloo-openai-gpt-5-mini", "gpt-5-mini", 128000, True, max_tokens_field="max_completion_tokens"
    ),
    "anthropic": UpstreamModel("gloo-anthropic-claude-haiku-4.5", "claude-haiku-4-5", 64000),
    "google": UpstreamModel("gloo-google-gemini-2.5-flash-lite", "gemini-2.5-flash-lite", 65536),
}

AdapterFactory = Callable[[aiohttp.ClientSession, str, UpstreamTimeouts, int], ProviderAdapter]
FACTORIES: dict[str, AdapterFactory] = {
    "anthropic": lambda session, url, timeouts, limit: AnthropicAdapter(
        session, url, API_KEY, timeouts, max_response_bytes=limit
    ),
    "google": lambda session, url, timeouts, limit: GoogleAdapter(
        session, url, API_KEY, timeouts, max_response_bytes=limit
    ),
    "openai": lambda session, url, timeouts, limit: OpenAICompatAdapter(
        session, url, API_KEY, timeouts, max_response_bytes=limit
    ),
}
FAKES: dict[str, type[FakeUpstream]] = {"anthropic": AnthropicUpstream, "google": GoogleUpstream}
"""The fakes built on the shared `FakeUpstream` base (the OpenAI fake has its own; see `OpenAIFakeDriver`)."""


class OpenAIFakeDriver(FakeOpenAIUpstream):
    """The OpenAI fake, scripted with the same provider-neutral `Reply`s as the others (content replies and HTTP
    errors)."""

    def __init__(self) -> None:
        super().__init__(api_key=API_KEY)

    def push(self, *replies: Reply) -> None:
        self.enqueue(*(self.behaviour(reply) for reply in replies))

    @staticmethod
    def behaviour(reply: Reply) -> Behaviour:
        finish = None if reply.finish is None else reply.finish
        return Behaviour(
            content=reply.text or "",
            tool_calls=tuple(OpenAIToolCall(call.name, call.arguments) for call in reply.tool_calls),
            finish_reason=finish,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            cached_tokens=reply.cached_tokens,
            reasoning_tokens=reply.reasoning_tokens,
            status=reply.status,
            error_message=reply.error_message,
        )

    @property
    def open_connections(self) -> int:
        return self.stats().open_connections

    def last_body(self) -> Any:
        return self.requests[-1].json()


ConformanceFake = FakeUpstream | OpenAIFakeDriver
CONFORMANCE_FAKES: dict[str, Callable[[], ConformanceFake]] = {**FAKES, "openai": OpenAIFakeDriver}
"""Every adapter in the conformance suite; adding a wire format is one entry here, in FACTORIES and in `neutral`."""


def last_body(fake: ConformanceFake) -> Any:
    return fake.last_body() if isinstance(fake, OpenAIFakeDriver) else fake.requests[-1].body


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one test coroutine to completion on a fresh loop, failing it (not hanging) past `GUARD_SECONDS`."""

    async def guarded() -> T:
        async with asyncio.timeout(GUARD_SECONDS):
            return await coroutine

    return asyncio.run(guarded())


async def with_adapter(
    provider: str,
    url: str,
    use: Callable[[ProviderAdapter], Awaitable[T]],
    timeouts: UpstreamTimeouts = TIMEOUTS,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> T:
    """Build the provider's adapter over a fresh pooled session (as `ProviderPool` does), use it, close the session."""
    session = new_session(timeouts, max_connections=16)
    try:
        return await use(FACTORIES[provider](session, url, timeouts, max_response_bytes))
    finally:
        await session.close()


def wait_for_connections(fake: ConformanceFake, expected: int = 0, limit: float = 5.0) -> int:
    """Poll the fake's open-connection count until it reaches `expected` (closing is asynchronous)."""
    deadline = time.monotonic() + limit
    while fake.open_connections != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return fake.open_connections


# ----- results in a provider-neutral form ----------------------------------------------------------------------------


def canonical_json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


@dataclass(frozen=True)
class Outcome:
    """What an adapter answered, without the parts that legitimately differ (ids)."""

    content: str | None
    tool_calls: tuple[tuple[str, Any], ...]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


def outcome(completion: Completion) -> Outcome:
    return Outcome(
        completion.content or None,
        tuple((c.name, canonical_json(c.arguments)) for c in completion.tool_calls),
        completion.finish_reason,
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
    )


@dataclass
class StreamAssembly:
    """A stream folded into a completion, checking the OpenAI streaming rules along the way."""

    content: str = ""
    ids: dict[int, str] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    arguments: dict[int, list[str]] = field(default_factory=dict)
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    deltas: int = 0

    def add(self, delta: StreamDelta) -> None:
        if self.finish_reason is not None:  # OpenAI sends usage in a chunk of its own after the finish
            assert delta.content is None, "content arrived after the finish reason"
            assert delta.tool_calls is None, "a tool call arrived after the finish reason"
            assert delta.finish_reason is None, "a second finish reason"
        self.deltas += 1
        self.content += delta.content or ""
        for call in delta.tool_calls or []:
            if call.index not in self.ids:
                assert call.index == len(self.ids), "tool-call indices must start at 0 and grow by one"
                assert call.id, "the first fragment of a tool call carries its id"
                assert call.name, "the first fragment of a tool call carries its name"
                self.ids[call.index], self.names[call.index] = call.id, call.name
                self.arguments[call.index] = []
            else:
                assert call.id is None or call.id == self.ids[call.index]
                assert call.index == len(self.ids) - 1, "fragments of an earlier tool call arrived out of order"
            self.arguments[call.index].append(call.arguments)
        if delta.usage is not None:
            self.prompt_tokens = delta.usage.prompt_tokens
            self.completion_tokens = delta.usage.completion_tokens
        if delta.finish_reason is not None:
            self.finish_reason = delta.finish_reason

    def outcome(self) -> Outcome:
        assert self.finish_reason is not None, "the stream ended without a finish reason"
        calls = tuple((self.names[i], canonical_json("".join(self.arguments[i]))) for i in sorted(self.ids))
        return Outcome(self.content or None, calls, self.finish_reason, self.prompt_tokens, self.completion_tokens)


async def assemble(stream: AsyncIterator[StreamDelta]) -> StreamAssembly:
    assembly = StreamAssembly()
    async for delta in stream:
        assembly.add(delta)
    return assembly


# ----- upstream requests in a provider-neutral form ------------------------------------------------------------------


@dataclass(frozen=True)
class NeutralRequest:
    """What an upstream was asked, in one vocabulary for every provider."""

    system: str
    turns: tuple[tuple[str, tuple[Any, ...]], ...]
    tools: tuple[str, ...]
    tool_choice: str


def neutral(provider: str, body: dict[str, Any]) -> NeutralRequest:
    views = {"anthropic": _anthropic_view, "google": _google_view, "openai": _openai_view}
    return views[provider](body)


def _openai_view(body: dict[str, Any]) -> NeutralRequest:
    names: dict[str, str] = {}
    system: list[str] = []
    turns: list[tuple[str, tuple[Any, ...]]] = []
    for message in body["messages"]:
        role, content = message["role"], message.get("content")
        texts = [content] if isinstance(content, str) and content else [p["text"] for p in content or []]
        if role in {"system", "developer"}:
            system.extend(texts)
            continue
        items: list[Any] = [("text", text) for text in texts]
        for call in message.get("tool_calls") or []:
            names[call["id"]] = call["function"]["name"]
            items.append(("call", call["function"]["name"], orjson.loads(call["function"]["arguments"])))
        if role == "tool":
            role, items = "user", [("result", names[message["tool_call_id"]], canonical_json(content or ""))]
        if turns and turns[-1][0] == role:
            turns[-1] = (role, turns[-1][1] + tuple(items))
        else:
            turns.append((role, tuple(items)))
    choice = body.get("tool_choice")
    if choice is None:
        choice_text = "default"
    elif isinstance(choice, dict):
        choice_text = "named:" + choice["function"]["name"]
    else:
        choice_text = choice
    return NeutralRequest(
        system="\n\n".join(system),
        turns=tuple(turns),
        tools=tuple(tool["function"]["name"] for tool in body.get("tools", [])),
        tool_choice=choice_text,
    )


def _anthropic_view(body: dict[str, Any]) -> NeutralRequest:
    names: dict[str, str] = {}
    turns: list[tuple[str, tuple[Any, ...]]] = []
    for message in body["messages"]:
        items: list[Any] = []
        for block in message["content"]:
            if block["type"] == "text":
                items.append(("text", block["text"]))
            elif block["type"] == "tool_use":
                names[block["id"]] = block["name"]
                items.append(("call", block["name"], block["input"]))
            elif block["type"] == "tool_result":
                items.append(("result", names[block["tool_use_id"]], canonical_json(block.get("content", ""))))
        turns.append((message["role"], tuple(items)))
    choice = body.get("tool_choice")
    kinds = {"auto": "auto", "any": "required", "none": "none"}
    if choice is None:
        choice_text = "default"
    elif choice["type"] == "tool":
        choice_text = "named:" + choice["name"]
    else:
        choice_text = kinds[choice["type"]]
    return NeutralRequest(
        system=body.get("system", ""),
        turns=tuple(turns),
        tools=tuple(tool["name"] for tool in body.get("tools", [])),
        tool_choice=choice_text,
    )


def _google_view(body: dict[str, Any]) -> NeutralRequest:
    turns: list[tuple[str, tuple[Any, ...]]] = []
    for content in body["contents"]:
        items: list[Any] = []
        for part in content["parts"]:
            if "text" in part:
                items.append(("text", part["text"]))
            elif "functionCall" in part:
                items.append(("call", part["functionCall"]["name"], part["functionCall"]["args"]))
            elif "functionResponse" in part:
                response = part["functionResponse"]["response"]
                value = response["result"] if set(response) == {"result"} else response
                items.append(("result", part["functionResponse"]["name"], value))
        turns.append(({"model": "assistant"}.get(content["role"], content["role"]), tuple(items)))
    config = body.get("toolConfig", {}).get("functionCallingConfig")
    if config is None:
        choice_text = "default"
    elif config.get("allowedFunctionNames"):
        choice_text = "named:" + config["allowedFunctionNames"][0]
    else:
        choice_text = {"AUTO": "auto", "ANY": "required", "NONE": "none"}[config["mode"]]
    system_parts = body.get("systemInstruction", {}).get("parts", [])
    return NeutralRequest(
        system="".join(part["text"] for part in system_parts),
        turns=tuple(turns),
        tools=tuple(d["name"] for tool in body.get("tools", []) for d in tool["functionDeclarations"]),
        tool_choice=choice_text,
    )


async def drain(stream: AsyncIterator[StreamDelta]) -> tuple[list[StreamDelta], HomilyError | None]:
    """Every delta a stream yields and the Homily error that ended it, if any."""
    deltas: list[StreamDelta] = []
    try:
        async for delta in stream:
            deltas.append(delta)  # noqa: PERF401 - keep what arrived before the error
    except HomilyError as error:
        return deltas, error
    return deltas, None
