"""Render internal completion results as the Completions V2 wire shapes (JSON bodies, SSE chunks, headers)."""

from __future__ import annotations

from typing import Any

import orjson

from homily.catalog.loader import CatalogModel
from homily.protocol.chat import Tradition
from homily.providers.types import Completion, StreamDelta, ToolCallDelta
from homily.routing.decision import RoutingDecision, RoutingMechanism, tier_name
from homily.service.guarding import GUARD_MODEL_ID, LOCAL_FAMILY

PROVIDER_CONSTANT = "Gloo AI"


def routing_fields(decision: RoutingDecision, model: CatalogModel, tradition: Tradition | None) -> dict[str, Any]:
    """The V2 metadata added to a completion body (API.md section 2)."""
    fields: dict[str, Any] = {
        "provider": PROVIDER_CONSTANT,
        "model_family": model.family,
        "auto_routing": decision.mechanism == "auto_routing",
        "routing_mechanism": decision.mechanism,
    }
    if decision.tier is not None and decision.confidence is not None:
        fields["routing_tier"] = tier_name(decision.tier)
        fields["routing_confidence"] = decision.confidence
    if tradition is not None:
        fields["tradition"] = tradition
    return fields


def routing_headers(decision: RoutingDecision, model: CatalogModel, tradition: Tradition | None) -> dict[str, str]:
    """The same metadata as response headers, as streaming clients read it."""
    headers = {
        "X-Routing-Mechanism": decision.mechanism,
        "X-Selected-Model": model.id,
        "X-Model-Family": model.family,
    }
    if tradition is not None:
        headers["X-Tradition"] = tradition
    if decision.tier is not None and decision.confidence is not None:
        headers["X-Routing-Tier"] = tier_name(decision.tier)
        headers["X-Routing-Confidence"] = f"{decision.confidence:.3f}"
    return headers


def local_fields(mechanism: RoutingMechanism, tradition: Tradition | None) -> dict[str, Any]:
    """Metadata of an answer Homily gave by itself (guard decline or crisis fallback): no model was routed to."""
    fields: dict[str, Any] = {
        "provider": PROVIDER_CONSTANT,
        "model_family": LOCAL_FAMILY,
        "auto_routing": mechanism == "auto_routing",
        "routing_mechanism": mechanism,
    }
    if tradition is not None:
        fields["tradition"] = tradition
    return fields


def local_headers(mechanism: RoutingMechanism, tradition: Tradition | None) -> dict[str, str]:
    headers = {"X-Routing-Mechanism": mechanism, "X-Selected-Model": GUARD_MODEL_ID, "X-Model-Family": LOCAL_FAMILY}
    if tradition is not None:
        headers["X-Tradition"] = tradition
    return headers


def completion_body(
    completion_id: str, created: int, model_id: str, completion: Completion, metadata: dict[str, Any]
) -> dict[str, Any]:
    """A `chat.completion` with every OpenAI field of the seed's response example (unused ones null)."""
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
    }
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model_id,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": completion.finish_reason}],
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
