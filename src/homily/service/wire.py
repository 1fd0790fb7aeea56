"""Render internal completion results as the Completions V2 wire shapes (JSON bodies, SSE chunks, headers)."""

from __future__ import annotations

from typing import Any

import orjson

from homily.catalog.loader import CatalogModel
from homily.protocol.chat import Tradition
from homily.providers.types import Completion, StreamDelta, ToolCallDelta
from homily.routing.decision import RoutingDecision, RoutingMechanism, Tier, TierEstimate, tier_name
from homily.service.guarding import GUARD_MODEL_ID, LOCAL_FAMILY

PROVIDER_CONSTANT = "Gloo AI"


Graded = tuple[Tier, float] | None
"""The routing tier and confidence to report, or None (direct model selection)."""


def graded(estimate: TierEstimate | None) -> Graded:
    return (estimate.tier, estimate.confidence) if estimate is not None else None


def _fields(mechanism: RoutingMechanism, family: str, grade: Graded, tradition: Tradition | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "provider": PROVIDER_CONSTANT,
        "model_family": family,
        "auto_routing": mechanism == "auto_routing",
        "routing_mechanism": mechanism,
    }
    if grade is not None:
        fields["routing_tier"] = tier_name(grade[0])
        fields["routing_confidence"] = grade[1]
    if tradition is not None:
        fields["tradition"] = tradition
    return fields


def _headers(
    mechanism: RoutingMechanism, model_id: str, family: str, grade: Graded, tradition: Tradition | None
) -> dict[str, str]:
    headers = {"X-Routing-Mechanism": mechanism, "X-Selected-Model": model_id, "X-Model-Family": family}
    if tradition is not None:
        headers["X-Tradition"] = tradition
    if grade is not None:
        headers["X-Routing-Tier"] = tier_name(grade[0])
        headers["X-Routing-Confidence"] = f"{grade[1]:.3f}"
    return headers


def routing_fields(decision: RoutingDecision, model: CatalogModel, tradition: Tradition | None) -> dict[str, Any]:
    """The V2 metadata added to a completion body (API.md section 2)."""
    return _fields(decision.mechanism, model.family, _grade(decision), tradition)


def routing_headers(decision: RoutingDecision, model: CatalogModel, tradition: Tradition | None) -> dict[str, str]:
    """The same metadata as response headers, as streaming clients read it."""
    return _headers(decision.mechanism, model.id, model.family, _grade(decision), tradition)


def _grade(decision: RoutingDecision) -> Graded:
    if decision.tier is None or decision.confidence is None:
        return None
    return decision.tier, decision.confidence


def local_fields(mechanism: RoutingMechanism, tradition: Tradition | None, grade: Graded) -> dict[str, Any]:
    """Metadata of an answer Homily gave by itself (guard decline, crisis fallback, extractive answer): no model was
    called, but in auto_routing and model_family mode the request's estimated tier is still reported."""
    return _fields(mechanism, LOCAL_FAMILY, grade, tradition)


def local_headers(
    mechanism: RoutingMechanism,
    tradition: Tradition | None,
    grade: Graded,
    model_id: str = GUARD_MODEL_ID,
) -> dict[str, str]:
    return _headers(mechanism, model_id, LOCAL_FAMILY, grade, tradition)


def completion_body(
    completion_id: str, created: int, model_id: str, completion: Completion, metadata: dict[str, Any]
) -> dict[str, Any]:
    """A `chat.completion` with every field of the seed's response example (unused ones null; `reasoning` is null
    because no adapter passes reasoning text on, and `native_finish_reason` repeats the normalised reason)."""
    tool_calls = [
        {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
        for call in completion.tool_calls
    ]
    message = {
        "role": "assistant",
        "content": completion.content,
        "refusal": None,
        "annotations": None,
        "audio": None,
        "function_call": None,
        "tool_calls": tool_calls or None,
        "reasoning": None,
    }
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": completion.finish_reason,
        "native_finish_reason": completion.finish_reason,
    }
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model_id,
        "choices": [choice],
        "usage": completion.usage.to_openai(),
        "service_tier": None,
        "system_fingerprint": None,
        **metadata,
    }


def _tool_call_wire(delta: ToolCallDelta) -> dict[str, Any]:
    wire: dict[str, Any] = {"index": delta.index}
    function: dict[str, str] = {"arguments": delta.arguments}
    if delta.id is not None:
        wire["id"] = delta.id
        wire["type"] = "function"
    if delta.name is not None:
        function["name"] = delta.name
    wire["function"] = function
    return wire


class ChunkEncoder:
    """Encodes one stream's `chat.completion.chunk` events; the first chunk carries `delta.role`."""

    def __init__(self, completion_id: str, created: int, model_id: str | None) -> None:
        model = model_id if model_id is not None else GUARD_MODEL_ID
        self._prefix = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
        self._sent_role = False

    def delta(self, delta: StreamDelta, guardrail: dict[str, Any] | None = None) -> bytes:
        wire: dict[str, Any] = {}
        if not self._sent_role:
            wire["role"] = "assistant"
            wire["content"] = delta.content or ""
            self._sent_role = True
        elif delta.content is not None:
            wire["content"] = delta.content
        if delta.tool_calls:
            wire["tool_calls"] = [_tool_call_wire(call) for call in delta.tool_calls]
        chunk: dict[str, Any] = {
            **self._prefix,
            "choices": [{"index": 0, "delta": wire, "finish_reason": delta.finish_reason}],
        }
        if guardrail is not None:
            chunk["guardrail"] = guardrail
        return self._event(chunk)

    def usage(self, usage: dict[str, Any]) -> bytes:
        return self._event({**self._prefix, "choices": [], "usage": usage})

    def error(self, error: dict[str, Any]) -> bytes:
        chunk = {**self._prefix, "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}], **error}
        return self._event(chunk)

    @staticmethod
    def done() -> bytes:
        return b"data: [DONE]\n\n"

    @staticmethod
    def _event(chunk: dict[str, Any]) -> bytes:
        return b"data: " + orjson.dumps(chunk) + b"\n\n"
