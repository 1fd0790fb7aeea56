"""OpenAI-format requests to Gemini `generateContent` bodies, and Gemini responses back to our types."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from homily.errors import EmptyCompletionError, HomilyError, InvalidRequestError, ProviderError
from homily.protocol.chat import ChatMessage, Tool
from homily.providers.mapping import (
    SYSTEM_ROLES,
    int_field,
    named_tool,
    output_limit,
    stop_sequences,
    system_text,
    tool_arguments,
)
from homily.providers.types import FinishReason, ProviderRequest, ToolCallResult, Usage

CONTENT_FILTER_REASONS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "LANGUAGE",
    }
)
ERROR_REASONS = frozenset({"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"})
SKIP_SIGNATURE = "skip_thought_signature_validator"
"""Gemini's documented placeholder for function-call turns whose thought signature was not kept (it cannot
survive the OpenAI format); Gemini 3 models reject replayed function calls without one."""

_SCHEMA_KEYS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)


def generate_path(model: str, *, stream: bool) -> str:
    return (
        f"/v1beta/models/{model}:streamGenerateContent?alt=sse" if stream else f"/v1beta/models/{model}:generateContent"
    )


def generate_body(request: ProviderRequest) -> dict[str, Any]:
    """The `generateContent` body for `request` (the streaming method takes the same body)."""
    body: dict[str, Any] = {"contents": _contents(request)}
    system = system_text(request.messages)
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    config = _generation_config(request)
    if config:
        body["generationConfig"] = config
    if request.tools:
        body["tools"] = [{"functionDeclarations": [_declaration(tool) for tool in request.tools]}]
        tool_config = _tool_config(request)
        if tool_config is not None:
            body["toolConfig"] = {"functionCallingConfig": tool_config}
    return body


def _generation_config(request: ProviderRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if request.max_tokens is not None:
        config["maxOutputTokens"] = output_limit(request)
    if request.temperature is not None and not request.model.fixed_temperature:
        config["temperature"] = request.temperature
    options = request.options
    for ours, theirs in (
        ("top_p", "topP"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ):
        if isinstance(options.get(ours), int | float):
            config[theirs] = float(options[ours])
    if isinstance(options.get("seed"), int):
        config["seed"] = options["seed"]
    stops = stop_sequences(request)
    if stops:
        config["stopSequences"] = stops[:5]
    response_format = options.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in {"json_object", "json_schema"}:
        config["responseMimeType"] = "application/json"
        schema = response_format.get("json_schema")
        if isinstance(schema, dict) and isinstance(schema.get("schema"), dict):
            config["responseJsonSchema"] = schema["schema"]
    return config


def _declaration(tool: Tool) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": tool.function.name}
    if tool.function.description:
        entry["description"] = tool.function.description
    parameters = tool.function.parameters
    # Gemini takes an OpenAPI-subset schema and rejects an object schema with no properties.
    if parameters and parameters.get("properties"):
        entry["parameters"] = gemini_schema(parameters)
    return entry


def gemini_schema(schema: Any) -> Any:
    """A JSON Schema cut down to the OpenAPI subset Gemini's `parameters` accepts."""
    if isinstance(schema, list):
        return [gemini_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _SCHEMA_KEYS:
            continue
        if key == "type" and isinstance(value, list):
            kinds = [kind for kind in value if kind != "null"]
            result["type"] = kinds[0] if kinds else "string"
            if "null" in value:
                result["nullable"] = True
        elif key == "properties" and isinstance(value, dict):
            result[key] = {name: gemini_schema(sub) for name, sub in value.items()}
        elif key in {"items", "anyOf"}:
            result[key] = gemini_schema(value)
        else:
            result[key] = value
    return result


def _tool_config(request: ProviderRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    name = named_tool(choice)
    if name is not None:
        return {"mode": "ANY", "allowedFunctionNames": [name]}
    modes = {"none": "NONE", "auto": "AUTO", "required": "ANY"}
    return {"mode": modes[choice]} if isinstance(choice, str) and choice in modes else None


def _contents(request: ProviderRequest) -> list[dict[str, Any]]:
    """`contents` turns (`assistant` becomes `model`); tool results answer calls by the name recorded for
    their id."""
    names_by_call_id: dict[str, str] = {}
    contents: list[dict[str, Any]] = []
    signed = request.model.upstream_name.startswith("gemini-3")
    for index, message in enumerate(request.messages):
        if message.role in SYSTEM_ROLES:
            continue
        role, parts = _parts(index, message, names_by_call_id, signed=signed)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    if not contents:
        raise InvalidRequestError("The conversation needs at least one user message.", param="messages")
    return contents


def _parts(
    index: int, message: ChatMessage, names_by_call_id: dict[str, str], *, signed: bool
) -> tuple[str, list[dict[str, Any]]]:
    if message.role == "tool":
        call_id = message.tool_call_id or ""
        name = names_by_call_id.get(call_id)
        if name is None:
            raise InvalidRequestError(
                f"Tool message {index} answers tool_call_id {call_id!r}, which no earlier assistant turn made.",
                param=f"messages[{index}].tool_call_id",
            )
        return "user", [{"functionResponse": {"name": name, "response": _tool_response(message.text())}}]
    parts: list[dict[str, Any]] = [{"text": text} for text in _texts(message)]
    if message.role != "assistant":
        return "user", parts
    for call_index, call in enumerate(message.tool_calls or []):
        names_by_call_id[call.id] = call.function.name
        part: dict[str, Any] = {
            "functionCall": {
                "name": call.function.name,
                "args": tool_arguments(index, call_index, call.function.arguments),
            }
        }
        if signed and call_index == 0:
            part["thoughtSignature"] = SKIP_SIGNATURE
        parts.append(part)
    return "model", parts


def _texts(message: ChatMessage) -> list[str]:
    if isinstance(message.content, list):
        return [part.text for part in message.content if part.text]
    text = message.text()
    return [text] if text else []


def _tool_response(text: str) -> dict[str, Any]:
    """Gemini wants an object: a JSON-object tool result passes as is, anything else as `result`."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"result": text}
    return value if isinstance(value, dict) else {"result": value}


def call_id(response_id: str, position: int, name: str) -> str:
    """A stable id for Gemini's id-less calls: one response gives the same ids, streamed or not."""
    digest = hashlib.sha256(f"{response_id}\x00{position}\x00{name}".encode()).hexdigest()
    return f"call_{digest[:24]}"


def usage_from(data: object) -> Usage:
    """`usageMetadata` to ours; thinking tokens count as completion tokens, as in OpenAI's usage."""
    if not isinstance(data, dict):
        return Usage()
    thoughts = int_field(data, "thoughtsTokenCount")
    return Usage(
        prompt_tokens=int_field(data, "promptTokenCount") + int_field(data, "toolUsePromptTokenCount"),
        completion_tokens=int_field(data, "candidatesTokenCount") + thoughts,
        cached_tokens=int_field(data, "cachedContentTokenCount"),
        reasoning_tokens=thoughts,
    )


@dataclass(slots=True)
class CandidateParts:
    """What one response (or one streamed chunk) contributed: visible text, function calls and the finish."""

    texts: list[str] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    finish: str | None = None
    blocked: bool = False


def candidate_parts(data: Any) -> CandidateParts:
    """Read the first candidate of a `GenerateContentResponse` (Homily never asks for more than one)."""
    if not isinstance(data, dict):
        raise ProviderError("The Google upstream returned a response that is not an object.")
    result = CandidateParts()
    feedback = data.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason"):
        result.blocked = True
    candidates = data.get("candidates")
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        return result
    candidate = candidates[0]
    if isinstance(candidate.get("finishReason"), str):
        result.finish = candidate["finishReason"]
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict) or part.get("thought") is True:
            continue
        if isinstance(part.get("text"), str) and part["text"]:
            result.texts.append(part["text"])
        call = part.get("functionCall")
        if isinstance(call, dict) and isinstance(call.get("name"), str):
            args = call.get("args")
            result.calls.append((call["name"], args if isinstance(args, dict) else {}))
    return result


def finish_reason(native: str | None, *, blocked: bool, has_tool_calls: bool) -> FinishReason:
    """Gemini's finish reason to OpenAI's; a broken tool call raises instead of passing as `stop`."""
    if blocked or native in CONTENT_FILTER_REASONS:
        return "content_filter"
    if native in ERROR_REASONS:
        raise ProviderError(f"The Google upstream failed to produce a valid tool call ({native}).")
    if native == "MAX_TOKENS":
        return "length"
    return "tool_calls" if has_tool_calls else "stop"


def tool_call(response_id: str, position: int, name: str, args: dict[str, Any]) -> ToolCallResult:
    return ToolCallResult(id=call_id(response_id, position, name), name=name, arguments=orjson.dumps(args).decode())


def empty_completion(usage: Usage) -> HomilyError:
    spent = "thinking " if usage.reasoning_tokens else ""
    return EmptyCompletionError(f"The model spent its whole output budget {spent}without producing an answer.")
