"""Chat completion request models (API.md section 2), in the OpenAI chat format plus the Gloo V2 fields.

Models are strict (no silent coercion of `"1"` to `1`) and ignore unknown fields; `homily.protocol.validation`
turns pydantic's errors into the error envelope with 400 for shape errors and 422 for range/enum errors.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from homily.errors import InvalidRequestError

Tradition = Literal["evangelical", "catholic", "mainline", "not_faith_specific"]
ModelFamily = Literal["OpenAI", "Anthropic", "Google", "Open Source"]

_FAMILY_ALIASES: dict[str, ModelFamily] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google",
    "open source": "Open Source",
    "open_source": "Open Source",
    "open-source": "Open Source",
}


def canonical_family(value: str) -> ModelFamily | None:
    """`openai`/`OpenAI`/`open_source`/`open-source`… to the canonical family name, or None if unknown."""
    return _FAMILY_ALIASES.get(value.strip().lower())


MECHANISM_RULE = (
    "Exactly one routing mechanism is required: auto_routing (true), model (a model id) or model_family "
    "(openai, anthropic, google, open source)."
)
"""The routing rule, as the 400 for a request that breaks it and the request schema both state it."""


class WireModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class TextPart(WireModel):
    type: Literal["text"]
    text: str


class FunctionCall(WireModel):
    name: str
    arguments: str


class ToolCall(WireModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


def _role_rule(roles: tuple[str, ...], then: JsonDict) -> JsonDict:
    return {"if": {"properties": {"role": {"enum": list(roles)}}}, "then": then}


_CONTENT: JsonDict = {"required": ["content"], "properties": {"content": {"type": ["string", "array"]}}}
_ROLE_RULES: JsonDict = {
    "description": "System, developer and user turns need content; an assistant turn needs content or tool_calls; "
    "a tool turn needs the tool_call_id of a tool call in an earlier assistant turn.",
    "allOf": [
        _role_rule(("system", "developer", "user"), _CONTENT),
        _role_rule(
            ("assistant",),
            {"anyOf": [_CONTENT, {"required": ["tool_calls"], "properties": {"tool_calls": {"minItems": 1}}}]},
        ),
        _role_rule(("tool",), {"required": ["tool_call_id"], "properties": {"tool_call_id": {"type": "string"}}}),
    ],
}
"""`check_messages`'s per-role rules as JSON Schema, so the OpenAPI document states them (the earlier-call rule
is in the description only)."""


class ChatMessage(WireModel):
    """One message. `content` may be a string, a list of text parts, or null (assistant turns with tool calls)."""

    model_config = ConfigDict(json_schema_extra=_ROLE_RULES)

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        """The message's text, with list parts joined by newlines."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content)


class FunctionDefinition(WireModel):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(WireModel):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(WireModel):
    name: str


class NamedToolChoice(WireModel):
    type: Literal["function"]
    function: NamedFunction


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class StreamOptions(WireModel):
    include_usage: bool = False


class ChatCompletionRequest(WireModel):
    """`POST /ai/v2/chat/completions`. Routing-mechanism rules are checked by the service, not here."""

    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    auto_routing: Annotated[
        bool | None, Field(description="AI Core: true lets Homily pick the model. " + MECHANISM_RULE)
    ] = None
    model: Annotated[str | None, Field(description="AI Select: a catalog model id. " + MECHANISM_RULE)] = None
    model_family: Annotated[
        str | None,
        Field(
            description="AI Core Select: openai, anthropic, google or open source (case-insensitive; open_source and "
            "open-source too). " + MECHANISM_RULE
        ),
    ] = None
    tradition: Tradition | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    top_p: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = None
    response_format: dict[str, Any] | None = None
    presence_penalty: Annotated[float, Field(ge=-2.0, le=2.0)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2.0, le=2.0)] | None = None
    routing_preference: Literal["cost", "balanced", "quality"] | None = None
    """Homily extension: overrides the server's HOMILY_ROUTING_PREFERENCE for auto/model_family routing."""

    @property
    def output_limit(self) -> int | None:
        """`max_tokens`, or the newer `max_completion_tokens` spelling some SDKs send."""
        return self.max_tokens if self.max_tokens is not None else self.max_completion_tokens


def check_request(request: ChatCompletionRequest) -> None:
    """The chat-format rules a per-field schema cannot express: 400 here rather than a retryable 502 when the
    upstream refuses the conversation."""
    check_messages(request.messages)
    check_tool_choice(request)


def check_messages(messages: list[ChatMessage]) -> None:
    """System, developer and user turns have content; an assistant turn has content or tool calls; a tool result
    answers a tool call of an earlier assistant turn."""
    called: set[str] = set()
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if message.role == "tool":
            if message.tool_call_id is None:
                raise InvalidRequestError(
                    "A tool message needs the tool_call_id it answers.", param=f"{where}.tool_call_id"
                )
            if message.tool_call_id not in called:
                raise InvalidRequestError(
                    f"The tool message answers '{message.tool_call_id}', which no earlier assistant tool call has.",
                    param=f"{where}.tool_call_id",
                )
        elif message.content is None and not (message.role == "assistant" and message.tool_calls):
            needs = "content or tool_calls" if message.role == "assistant" else "content"
            raise InvalidRequestError(f"A {message.role} message needs {needs}.", param=f"{where}.content")
        called.update(call.id for call in message.tool_calls or ())


def check_tool_choice(request: ChatCompletionRequest) -> None:
    """400 for a `tool_choice` no tool can satisfy (`required` or a named function without that tool), as OpenAI
    answers; `auto` and `none` without tools are harmless and simply not forwarded."""
    choice = request.tool_choice
    names = {tool.function.name for tool in request.tools or ()}
    if choice == "required" and not names:
        raise InvalidRequestError("tool_choice 'required' needs at least one tool in 'tools'.", param="tool_choice")
    if isinstance(choice, NamedToolChoice) and choice.function.name not in names:
        raise InvalidRequestError(
            f"tool_choice names the function '{choice.function.name}', which is not among the tools given "
            f"({', '.join(sorted(names)) or 'none'}).",
            param="tool_choice.function.name",
        )
