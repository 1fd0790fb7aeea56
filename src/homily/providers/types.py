"""Internal request/response types shared by every provider adapter.

Adapters translate between these and their provider's wire format, so the rest of Homily never sees a
provider-specific shape. Messages and tools reuse the validated OpenAI-format wire models.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from homily.protocol.chat import ChatMessage, Tool, ToolChoice

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error"]


@dataclass(frozen=True, slots=True)
class UpstreamModel:
    """What an adapter needs to know about the model it calls (from the catalog entry)."""

    catalog_id: str
    upstream_name: str
    max_output_tokens: int
    supports_reasoning: bool = False
    supports_tools: bool = True
    max_tokens_field: str = "max_tokens"
    fixed_temperature: bool = False


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    model: UpstreamModel
    messages: list[ChatMessage]
    max_tokens: int | None = None
    temperature: float | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    options: dict[str, Any] = field(default_factory=dict)
    """Pass-through sampling options the upstream may support: top_p, stop, seed, user, response_format, penalties."""


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_creation_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_openai(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": self.cached_tokens},
            "completion_tokens_details": {
                "accepted_prediction_tokens": None,
                "audio_tokens": 0,
                "reasoning_tokens": self.reasoning_tokens,
                "rejected_prediction_tokens": None,
            },
        }


@dataclass(frozen=True, slots=True)
class ToolCallResult:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Completion:
    content: str | None
    tool_calls: list[ToolCallResult]
    finish_reason: FinishReason
    usage: Usage


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a streamed tool call; `id` and `name` arrive with the first fragment of each `index`."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class StreamDelta:
    """One streamed step: text and/or tool-call fragments, a finish reason at the end, usage when known."""

    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    finish_reason: FinishReason | None = None
    usage: Usage | None = None


class ProviderAdapter(Protocol):
    """One upstream wire API. Errors leave an adapter only as `homily.errors.HomilyError` subclasses.

    `stream` must raise before yielding anything when the upstream fails before its first byte, so the caller can
    still answer with an HTTP error or fall back; after the first yield, failures raise mid-iteration.
    Cancelling the iteration (client disconnect) must release the upstream connection at once. Adapters do not own
    their HTTP session (the `ProviderPool` does), so they need no close of their own.
    """

    name: str

    async def complete(self, request: ProviderRequest) -> Completion: ...

    def stream(self, request: ProviderRequest) -> AsyncGenerator[StreamDelta, None]: ...
