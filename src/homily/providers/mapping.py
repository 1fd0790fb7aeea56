"""Small translation helpers shared by the non-OpenAI adapters."""

from __future__ import annotations

from typing import Any

import orjson

from homily.errors import InvalidRequestError
from homily.protocol.chat import ChatMessage, NamedToolChoice
from homily.providers.types import ProviderRequest

SYSTEM_ROLES = frozenset({"system", "developer"})


def output_limit(request: ProviderRequest) -> int:
    """The output token budget to send: the caller's `max_tokens`, never above what the model can produce."""
    ceiling = request.model.max_output_tokens
    if request.max_tokens is None:
        return ceiling
    return max(1, min(request.max_tokens, ceiling))


def system_text(messages: list[ChatMessage]) -> str:
    """All system/developer messages, in order, joined by blank lines (providers take one system prompt)."""
    return "\n\n".join(m.text() for m in messages if m.role in SYSTEM_ROLES and m.text())


def tool_arguments(message_index: int, call_index: int, arguments: str) -> dict[str, Any]:
    """Decode an assistant tool call's JSON `arguments` into the object both providers require."""
    param = f"messages[{message_index}].tool_calls[{call_index}].function.arguments"
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(f"Tool call arguments are not valid JSON: {exc}.", param=param) from exc
    if not isinstance(value, dict):
        raise InvalidRequestError("Tool call arguments must be a JSON object.", param=param)
    return value


def stop_sequences(request: ProviderRequest) -> list[str] | None:
    stop = request.options.get("stop")
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and stop:
        return [str(s) for s in stop]
    return None


def named_tool(choice: object) -> str | None:
    return choice.function.name if isinstance(choice, NamedToolChoice) else None


def int_field(data: dict[str, Any], key: str) -> int:
    """A non-negative integer field of an upstream object; absent, null or malformed counts as 0."""
    value = data.get(key)
    return value if isinstance(value, int) and value > 0 else 0
