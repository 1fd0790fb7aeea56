"""OpenAPI response schemas and headers of the completion endpoints (API.md sections 1-3 and 7).

The request schemas come from the pydantic wire models; responses are built by `homily.service.wire`, so their
schemas are written here and tests validate live responses against them.
"""

from __future__ import annotations

from typing import Any, get_args

from homily.protocol.chat import ModelFamily
from homily.providers.types import FinishReason
from homily.routing.decision import RoutingMechanism, Tier, tier_name
from homily.service.guarding import LOCAL_FAMILY

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULL = {"type": "null", "description": "Always null (an OpenAI field Homily does not fill)"}
CATALOG_FAMILIES = list(get_args(ModelFamily))
FAMILIES = [*CATALOG_FAMILIES, LOCAL_FAMILY]
"""`Local`: Homily answered by itself (`homily-guard` for a guardrail decline, `homily-extractive` for a grounded
answer quoted from the sources on a server with no provider configured); no provider family was involved."""
MECHANISMS = list(get_args(RoutingMechanism))
TIERS = [tier_name(tier) for tier in get_args(Tier)]
FINISH_REASONS = list(get_args(FinishReason))

_USAGE = {
    "type": "object",
    "properties": {
        "prompt_tokens": {"type": "integer", "minimum": 0},
        "completion_tokens": {"type": "integer", "minimum": 0},
        "total_tokens": {"type": "integer", "minimum": 0},
        "prompt_tokens_details": {"type": "object"},
        "completion_tokens_details": {"type": "object"},
    },
    "required": ["prompt_tokens", "completion_tokens", "total_tokens"],
}

_TOOL_CALL = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "type": {"const": "function"},
        "function": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "arguments": {"type": "string"}},
            "required": ["name", "arguments"],
        },
    },
    "required": ["id", "type", "function"],
}

_GUARDRAIL = {
    "type": "object",
    "description": "Present when an input guardrail fired (API.md section 8).",
    "properties": {
        "action": {"enum": ["blocked", "flagged", "crisis"]},
        "categories": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["action", "categories"],
}

_ROUTING_METADATA: dict[str, Any] = {
    "provider": {"const": "Gloo AI"},
    "model_family": {"enum": FAMILIES},
    "auto_routing": {"type": "boolean"},
    "routing_mechanism": {"enum": MECHANISMS},
    "routing_tier": {"enum": TIERS, "description": "auto_routing and model_family only"},
    "routing_confidence": {"type": "number", "minimum": 0, "maximum": 1},
    "tradition": {
        "enum": ["evangelical", "catholic", "mainline", "not_faith_specific"],
        "description": "Only when the request gave one",
    },
    "guardrail": _GUARDRAIL,
}


def _choices(properties: dict[str, Any]) -> dict[str, Any]:
    """The `choices` array: objects with an `index` and all of `properties`, each required."""
    return {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"index": {"type": "integer"}, **properties},
            "required": ["index", *properties],
        },
    }


CHAT_COMPLETION = {
    "type": "object",
    "description": "An OpenAI chat.completion plus the Completions V2 routing metadata.",
    "properties": {
        "id": {"type": "string", "pattern": "^gen-[0-9]+-[A-Za-z0-9]{20}$"},
        "object": {"const": "chat.completion"},
        "created": {"type": "integer"},
        "model": {"type": "string", "description": "The catalog id that answered (after any fallback)"},
        "choices": _choices(
            {
                "message": {
                    "type": "object",
                    "properties": {
                        "role": {"const": "assistant"},
                        "content": _NULLABLE_STRING,
                        "tool_calls": {"anyOf": [{"type": "array", "items": _TOOL_CALL}, {"type": "null"}]},
                        **dict.fromkeys(("refusal", "annotations", "audio", "function_call", "reasoning"), _NULL),
                    },
                    "required": ["role", "content", "tool_calls", "refusal"],
                },
                "logprobs": _NULL,
                "finish_reason": {"enum": FINISH_REASONS},
                "native_finish_reason": {"enum": FINISH_REASONS, "description": "The same as finish_reason"},
            }
        ),
        "usage": _USAGE,
        "service_tier": _NULL,
        "system_fingerprint": _NULL,
        **_ROUTING_METADATA,
    },
    "required": [
        *("id", "object", "created", "model", "choices", "usage"),
        *("provider", "model_family", "auto_routing", "routing_mechanism"),
    ],
}

_DELTA_TOOL_CALL = {
    "type": "object",
    "properties": {
        "index": {"type": "integer", "minimum": 0},
        "id": {"type": "string"},
        "type": {"const": "function"},
        "function": {"type": "object", "properties": {"name": {"type": "string"}, "arguments": {"type": "string"}}},
    },
    "required": ["index", "function"],
}

CHAT_COMPLETION_CHUNK = {
    "type": "object",
    "description": "One `data:` event of a stream (the stream ends with `data: [DONE]`). The first chunk's delta "
    "has `role`; the last content chunk a finish_reason; with include_usage a final chunk has `choices: []` and "
    "`usage`. An error after streaming began is a chunk with finish_reason `error` and an `error` object.",
    "properties": {
        "id": {"type": "string", "pattern": "^gen-[0-9]+-[A-Za-z0-9]{20}$"},
        "object": {"const": "chat.completion.chunk"},
        "created": {"type": "integer"},
        "model": {"type": "string"},
        "choices": _choices(
            {
                "delta": {
                    "type": "object",
                    "properties": {
                        "role": {"const": "assistant"},
                        "content": _NULLABLE_STRING,
                        "tool_calls": {"type": "array", "items": _DELTA_TOOL_CALL},
                    },
                },
                "finish_reason": {"anyOf": [{"enum": FINISH_REASONS}, {"type": "null"}]},
            }
        ),
        "usage": _USAGE,
        "guardrail": _GUARDRAIL,
        "error": {"$ref": "#/components/schemas/Error/properties/error"},
    },
    "required": ["id", "object", "created", "model", "choices"],
}

CITATIONS_EVENT = {
    "type": "object",
    "description": "Grounded streams with include_citations: the first event, before any chunk.",
    "properties": {
        "object": {"const": "chat.completion.citations"},
        "citations": {"type": "array", "items": {"$ref": "#/components/schemas/Citation"}},
    },
    "required": ["object", "citations"],
}

CITATION = {
    "type": "object",
    "properties": {
        "index": {"type": "integer", "minimum": 1},
        "item_id": {"type": "string"},
        "item_title": _NULLABLE_STRING,
        "item_url": _NULLABLE_STRING,
        "publisher": {"type": "string"},
        "tradition": _NULLABLE_STRING,
        "snippets": {"type": "array", "items": {"type": "string"}},
        "score": {"type": "number"},
    },
    "required": ["index", "item_id", "item_title", "item_url", "publisher", "tradition", "snippets", "score"],
}

GROUNDED_COMPLETION = {
    "allOf": [
        {"$ref": "#/components/schemas/ChatCompletion"},
        {
            "type": "object",
            "properties": {
                "sources_returned": {"type": "boolean"},
                "citations": {"type": "array", "items": {"$ref": "#/components/schemas/Citation"}},
            },
            "required": ["sources_returned"],
        },
    ]
}

TOKEN_RESPONSE = {
    "type": "object",
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer"},
    },
    "required": ["access_token", "token_type", "expires_in"],
}

OAUTH_ERROR = {
    "type": "object",
    "description": "RFC 6749 section 5.2",
    "properties": {
        "error": {"enum": ["invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"]},
        "error_description": {"type": "string"},
    },
    "required": ["error"],
}


_PRICE = {
    "type": "object",
    "properties": {"rate_per_1m_tokens": {"type": "string", "description": "USD per million tokens"}},
    "required": ["rate_per_1m_tokens"],
}


def _list_of(item: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    """A `{"object": "list", "data": [item, ...]}` envelope schema."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": item}},
        "required": ["object", "data"],
    }
    if description is not None:
        schema["description"] = description
    return schema


PLATFORM_MODEL_LIST = _list_of(
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "family": {"enum": CATALOG_FAMILIES},
            "context_window": {"type": "integer"},
            "max_output_tokens": {"type": "integer"},
            "supports_tools": {"type": "boolean"},
            "supports_reasoning": {"type": "boolean"},
            "input_modalities": {"type": "array", "items": {"type": "string"}},
            "pricing": {
                "type": "object",
                "properties": {"input": _PRICE, "output": _PRICE},
                "required": ["input", "output"],
            },
            "tier": {"enum": TIERS},
            "available": {"type": "boolean", "description": "An upstream is configured and healthy"},
        },
        "required": [
            *("id", "name", "family", "context_window", "max_output_tokens", "supports_tools"),
            *("supports_reasoning", "input_modalities", "pricing", "tier", "available"),
        ],
    }
)

MODEL_LIST = _list_of(
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "model"},
            "created": {"type": "integer"},
            "owned_by": {"enum": CATALOG_FAMILIES},
            "available": {"type": "boolean"},
        },
        "required": ["id", "object", "created", "owned_by"],
    },
    "OpenAI models.list",
)


def _header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "schema": schema or {"type": "string"}}


def routing_headers(grounded: bool) -> dict[str, Any]:
    """The routing metadata as response headers (both JSON and SSE responses carry them)."""
    headers = {
        "X-Routing-Mechanism": _header("How the model was selected", {"enum": MECHANISMS}),
        "X-Selected-Model": _header("The catalog id that answered"),
        "X-Model-Family": _header("The answering model's family", {"enum": FAMILIES}),
        "X-Tradition": _header("The request's tradition, when it gave one"),
        "X-Routing-Tier": _header("auto_routing and model_family only", {"enum": TIERS}),
        "X-Routing-Confidence": _header("auto_routing and model_family only: 0-1"),
    }
    if grounded:
        headers["X-Sources-Returned"] = _header("Whether retrieval grounded the answer", {"enum": ["true", "false"]})
    return headers


def completion_ok(schema: str, grounded: bool) -> dict[str, Any]:
    return {
        "description": "chat.completion, or an SSE stream of chat.completion.chunk events ending with [DONE] "
        "(stream=true)",
        "headers": routing_headers(grounded),
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}},
            "text/event-stream": {
                "schema": {
                    "type": "string",
                    "description": "`data: <event JSON>` lines: ChatCompletionChunk events"
                    + (" (after a first CitationsEvent with include_citations)" if grounded else "")
                    + ", then `data: [DONE]`",
                }
            },
        },
    }


def response_schemas() -> dict[str, Any]:
    return {
        "ChatCompletion": CHAT_COMPLETION,
        "GroundedChatCompletion": GROUNDED_COMPLETION,
        "Citation": CITATION,
        "ChatCompletionChunk": CHAT_COMPLETION_CHUNK,
        "CitationsEvent": CITATIONS_EVENT,
        "TokenResponse": TOKEN_RESPONSE,
        "OAuthError": OAUTH_ERROR,
        "PlatformModelList": PLATFORM_MODEL_LIST,
        "ModelList": MODEL_LIST,
    }
