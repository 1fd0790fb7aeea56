"""`GET /platform/v2/models` (the whole catalog, no auth) and `GET /ai/v2/models` (OpenAI `models.list` shape: the
models the caller's organisation may use)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from homily.api.deps import authenticate, services
from homily.api.responses import json_response
from homily.routing.access import permits

_CREATED = 1_735_689_600  # 2025-01-01: catalog entries have no real creation date; a fixed one keeps lists stable.


async def platform_models(request: Request) -> Response:
    found = services(request)
    data: list[dict[str, Any]] = [
        {
            "id": m.id,
            "name": m.name,
            "family": m.family,
            "context_window": m.context_window,
            "max_output_tokens": m.max_output_tokens,
            "supports_tools": m.supports_tools,
            "supports_reasoning": m.supports_reasoning,
            "input_modalities": m.input_modalities,
            "pricing": m.pricing.model_dump(),
            "tier": f"tier_{m.tier}",
            "available": found.availability.is_available(m),
        }
        for m in found.catalog.models
    ]
    return json_response({"object": "list", "data": data})


async def openai_models(request: Request) -> Response:
    """The models the caller's organisation may use (all of the catalog unless an administrator restricted it)."""
    principal = await authenticate(request)
    found = services(request)
    allowed = found.credentials.allowed_models(principal.org_id)
    data = [
        {
            "id": m.id,
            "object": "model",
            "created": _CREATED,
            "owned_by": m.family,
            "available": found.availability.is_available(m),
        }
        for m in found.catalog.models
        if permits(allowed, m)
    ]
    return json_response({"object": "list", "data": data})


def model_routes() -> list[Route]:
    return [
        Route("/platform/v2/models", platform_models, methods=["GET"]),
        Route("/ai/v2/models", openai_models, methods=["GET"]),
    ]
