"""OpenAI-format requests to Anthropic Messages API bodies, and Anthropic messages back to completions."""

from __future__ import annotations

import logging
from typing import Any

import orjson

from homily.errors import (
    EmptyCompletionError,
    HomilyError,
    InvalidRequestError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from homily.protocol.chat import ChatMessage, Tool
from homily.providers.errors import UpstreamServerError
from homily.providers.mapping import (
    SYSTEM_ROLES,
    int_field,
    named_tool,
    output_limit,
    stop_sequences,
    system_text,
    tool_arguments,
)
from homily.providers.types import Completion, FinishReason, ProviderRequest, ToolCallResult, Usage

log = logging.getLogger("homily.providers.anthropic")

ANTHROPIC_VERSION = "2023-06-01"
MAX_TEMPERATURE = 1.0

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: object, has_tool_calls: bool) -> FinishReason:
    reason = STOP_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"
    if reason == "stop" and has_tool_calls:
        return "tool_calls"
    return reason


def messages_body(request: ProviderRequest, *, stream: bool) -> dict[str, Any]:
    """The `POST /v1/messages` body for `request`; `max_tokens` is always present (the API requires it)."""
    body: dict[str, Any] = {
        "model": request.model.upstream_name,
        "max_tokens": output_limit(request),
        "messages": _turns(request.messages),
    }
    system = system_text(request.messages)
    if system:
        body["system"] = system
    if request.temperature is not None and not request.model.fixed_temperature:
        # Anthropic accepts 0..1; OpenAI-format callers may send up to 2. Clamp rather than rescale,
        # so the common
        # values (0, 0.2, 0.7, 1) mean the same on every provider.
        body["temperature"] = min(request.temperature, MAX_TEMPERATURE)
    top_p = request.options.get("top_p")
    if isinstance(top_p, int | float) and "temperature" not in body:
        # Recent Claude models reject temperature and top_p together; temperature wins.
        body["top_p"] = float(top_p)
    stops = stop_sequences(request)
    if stops:
        body["stop_sequences"] = stops
    user = request.options.get("user")
    if isinstance(user, str) and user:
        body["metadata"] = {"user_id": user}
    if request.tools:
        body["tools"] = [_tool(tool) for tool in request.tools]
        choice = _tool_choice(request)
        if choice is not None:
            body["tool_choice"] = choice
    if stream:
        body["stream"] = True
    return body


def _tool(tool: Tool) -> dict[str, Any]:
    schema = tool.function.parameters or {"type": "object", "properties": {}}
    entry: dict[str, Any] = {"name": tool.function.name, "input_schema": schema}
    if tool.function.description:
        entry["description"] = tool.function.description
    return entry


def _tool_choice(request: ProviderRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    name = named_tool(choice)
    result: dict[str, Any]
    if name is not None:
        result = {"type": "tool", "name": name}
    elif choice == "required":
        result = {"type": "any"}
    elif choice == "none":
        return {"type": "none"}
    elif choice == "auto" or request.parallel_tool_calls is False:
        result = {"type": "auto"}
    else:
        return None
    if request.parallel_tool_calls is False:
        result["disable_parallel_tool_use"] = True
    return result


def _turns(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Alternating user/assistant turns of content blocks; consecutive same-role messages are merged."""
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if message.role in SYSTEM_ROLES:
            continue
        role, blocks = _blocks(index, message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns:
        raise InvalidRequestError("The conversation needs at least one user message.", param="messages")
    return turns


def _blocks(index: int, message: ChatMessage) -> tuple[str, list[dict[str, Any]]]:
    if message.role == "tool":
        if not message.tool_call_id:
            raise InvalidRequestError("A tool message needs tool_call_id.", param=f"messages[{index}].tool_call_id")
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
        text = message.text()
        if text:
            result["content"] = text
        return "user", [result]
    blocks = _text_blocks(message)
    if message.role == "assistant":
        for call_index, call in enumerate(message.tool_calls or []):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call.id,
                    "name": call.function.name,
                    "input": tool_arguments(index, call_index, call.function.arguments),
                }
            )
        return "assistant", blocks
    return "user", blocks


def _text_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    # The Messages API rejects empty (or whitespace-only) text blocks, so they are dropped.
    if isinstance(message.content, list):
        return [{"type": "text", "text": p.text} for p in message.content if p.text.strip()]
    text = message.text()
    return [{"type": "text", "text": text}] if text.strip() else []


def usage_from(data: object) -> Usage:
    """Anthropic usage to ours. OpenAI's `prompt_tokens` includes cached input, so cache reads and writes are
    added."""
    if not isinstance(data, dict):
        return Usage()
    cache_read = int_field(data, "cache_read_input_tokens")
    cache_write = int_field(data, "cache_creation_input_tokens")
    return Usage(
        prompt_tokens=int_field(data, "input_tokens") + cache_read + cache_write,
        completion_tokens=int_field(data, "output_tokens"),
        cached_tokens=cache_read,
        cache_creation_tokens=cache_write,
    )


def completion_from(data: Any) -> Completion:
    """A non-streamed Messages API response to a `Completion`."""
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        raise ProviderError("The Anthropic upstream returned a response without a content list.")
    texts: list[str] = []
    calls: list[ToolCallResult] = []
    thought = False
    for block in data["content"]:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "tool_use":
            calls.append(_tool_call(block))
        elif kind in {"thinking", "redacted_thinking"}:
            thought = True
    reason = finish_reason(data.get("stop_reason"), bool(calls))
    content = "".join(texts)
    if reason == "length" and not content and not calls:
        raise empty_completion(thought)
    return Completion(
        content=content if content or not calls else None,
        tool_calls=calls,
        finish_reason=reason,
        usage=usage_from(data.get("usage")),
    )


def empty_completion(thought: bool) -> EmptyCompletionError:
    spent = "thinking " if thought else ""
    return EmptyCompletionError(f"The model spent its whole output budget {spent}without producing an answer.")


def _tool_call(block: dict[str, Any]) -> ToolCallResult:
    call_id, name = block.get("id"), block.get("name")
    if not isinstance(call_id, str) or not isinstance(name, str):
        raise ProviderError("The Anthropic upstream returned a tool_use block without id or name.")
    arguments = block.get("input")
    return ToolCallResult(id=call_id, name=name, arguments=orjson.dumps(arguments or {}).decode())


def stream_error(data: object) -> HomilyError:
    """An in-band `error` event to the matching Homily error (overloaded and rate limits are transient)."""
    error = data.get("error") if isinstance(data, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    message = f"The Anthropic upstream failed mid-stream: {kind}: " + str(
        error.get("message") if isinstance(error, dict) else None
    )
    if kind in {"overloaded_error", "api_error"}:
        return UpstreamServerError(message)
    if kind == "rate_limit_error":
        return ProviderUnavailableError(message)
    if kind == "timeout_error":
        return ProviderTimeoutError(message)
    return ProviderError(message)
