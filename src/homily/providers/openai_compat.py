"""Adapter for the OpenAI chat-completions wire format: OpenAI itself and any OpenAI-compatible server
(vLLM, Ollama, llama.cpp, hosted Open Source endpoints)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import orjson

from homily.errors import EmptyCompletionError, ProviderError
from homily.protocol.chat import ChatMessage, NamedToolChoice
from homily.providers.sse_decoder import SSEEvent
from homily.providers.timeouts import UpstreamTimeouts
from homily.providers.types import (
    Completion,
    FinishReason,
    ProviderRequest,
    StreamDelta,
    ToolCallDelta,
    ToolCallResult,
    Usage,
)
from homily.providers.upstream import DEFAULT_MAX_RESPONSE_BYTES, UpstreamClient

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
_DONE = "[DONE]"


def _message_to_wire(message: ChatMessage, native_developer_role: bool) -> dict[str, Any]:
    wire = message.model_dump(exclude_none=True)
    if message.role == "developer" and not native_developer_role:
        wire["role"] = "system"
    return wire


def _is_done(event: SSEEvent) -> bool:
    return event.data == _DONE


def _usage(data: Any) -> Usage:
    if not isinstance(data, dict):
        return Usage()
    prompt_details = data.get("prompt_tokens_details") or {}
    completion_details = data.get("completion_tokens_details") or {}
    return Usage(
        prompt_tokens=int(data.get("prompt_tokens") or 0),
        completion_tokens=int(data.get("completion_tokens") or 0),
        cached_tokens=int(prompt_details.get("cached_tokens") or 0),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
    )


class OpenAICompatAdapter:
    """`complete` and `stream` over `/chat/completions`. One instance per upstream, sharing its pooled session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str | None,
        timeouts: UpstreamTimeouts,
        *,
        name: str = "OpenAI",
        native_developer_role: bool = True,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.name = name
        self._client = UpstreamClient(session, name, timeouts, max_response_bytes)
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._native_developer_role = native_developer_role

    def build_body(self, request: ProviderRequest, *, stream: bool) -> dict[str, Any]:
        model = request.model
        body: dict[str, Any] = {
            "model": model.upstream_name,
            "messages": [_message_to_wire(m, self._native_developer_role) for m in request.messages],
        }
        if request.max_tokens is not None:
            body[model.max_tokens_field] = request.max_tokens
        if request.temperature is not None and not model.fixed_temperature:
            body["temperature"] = request.temperature
        if request.tools:
            body["tools"] = [tool.model_dump(exclude_none=True) for tool in request.tools]
            if request.parallel_tool_calls is not None:
                body["parallel_tool_calls"] = request.parallel_tool_calls
        if request.tool_choice is not None:
            choice = request.tool_choice
            body["tool_choice"] = choice.model_dump() if isinstance(choice, NamedToolChoice) else choice
        body.update(request.options)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def complete(self, request: ProviderRequest) -> Completion:
        data = await self._client.post_json(self._url, self._headers, self.build_body(request, stream=False))
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ProviderError(f"The {self.name} upstream sent a malformed response.") from exc
        tool_calls = [
            ToolCallResult(id=c["id"], name=c["function"]["name"], arguments=c["function"].get("arguments") or "")
            for c in message.get("tool_calls") or []
        ]
        content = message.get("content")
        finish = _FINISH.get(choice.get("finish_reason") or "stop", "stop")
        if tool_calls and finish == "stop":
            finish = "tool_calls"
        if not content and not tool_calls and finish == "length":
            raise EmptyCompletionError(
                f"{request.model.catalog_id} used its whole output budget without producing an answer "
                "(raise max_tokens)."
            )
        return Completion(content=content, tool_calls=tool_calls, finish_reason=finish, usage=_usage(data.get("usage")))

    async def stream(self, request: ProviderRequest) -> AsyncGenerator[StreamDelta, None]:
        """The upstream's deltas. A stream is complete at `[DONE]`, or at its end once a choice carried a
        `finish_reason`: some OpenAI-compatible servers (and the platform Homily stands in for) omit `[DONE]`,
        and nothing is missing then. A stream that ends before any finish reason is cut off: `ProviderError`."""
        events = self._client.post_sse(self._url, self._headers, self.build_body(request, stream=True), _is_done)
        finished = False
        try:
            async for event in events:
                if _is_done(event):
                    finished = True
                    continue  # the client ends the iteration once the body's end is read
                delta = self._parse_chunk(event.data)
                if delta is not None:
                    finished = finished or delta.finish_reason is not None
                    yield delta
        finally:
            await events.aclose()
        if not finished:
            raise ProviderError(f"The {self.name} upstream ended the stream before it was complete.")

    def _parse_chunk(self, data: str) -> StreamDelta | None:
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ProviderError(f"The {self.name} upstream sent a malformed stream event.") from exc
        if not isinstance(chunk, dict):
            raise ProviderError(f"The {self.name} upstream sent a malformed stream event.")
        if "error" in chunk:
            raise ProviderError(f"The {self.name} upstream failed mid-stream: {chunk['error']}")
        usage = _usage(chunk["usage"]) if chunk.get("usage") else None
        choices = chunk.get("choices") or []
        if not choices:
            return StreamDelta(usage=usage) if usage else None
        choice = choices[0]
        delta = choice.get("delta") or {}
        tool_calls = [
            ToolCallDelta(
                index=int(call.get("index", 0)),
                id=call.get("id"),
                name=(call.get("function") or {}).get("name"),
                arguments=(call.get("function") or {}).get("arguments") or "",
            )
            for call in delta.get("tool_calls") or []
        ]
        reason = choice.get("finish_reason")
        return StreamDelta(
            content=delta.get("content") or None,
            tool_calls=tool_calls or None,
            finish_reason=_FINISH.get(reason, "stop") if reason else None,
            usage=usage,
        )
