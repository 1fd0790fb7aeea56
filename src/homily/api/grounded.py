"""`POST /ai/v2/chat/completions/grounded` (API.md section 3)."""

from __future__ import annotations

from typing import cast

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from homily.api.completions import SSE_HEADERS
from homily.api.deps import authenticate, read_body, request_id, services
from homily.api.responses import json_response
from homily.errors import InternalError
from homily.protocol.chat import check_request
from homily.protocol.content import GroundedCompletionRequest
from homily.protocol.validation import decode_json_object, parse_model
from homily.ratelimit import enforce
from homily.service.grounded import GroundedService


def grounded_service(request: Request) -> GroundedService:
    found = cast(GroundedService | None, getattr(request.app.state, "grounded", None))
    if found is None:
        raise InternalError("Grounded completions are not available on this server.")
    return found


async def grounded_completions(request: Request) -> Response:
    principal = await authenticate(request)
    found = services(request)
    rate_headers = await enforce(found.rate_limiter, principal.client_id)
    body = await read_body(request, found.settings.max_request_bytes)
    chat = parse_model(GroundedCompletionRequest, decode_json_object(body))
    check_request(chat)
    grounded = grounded_service(request)
    allowed = found.credentials.allowed_models(principal.org_id)
    if chat.stream:
        stream = await grounded.open_stream(chat, principal, request_id(request), allowed)
        return StreamingResponse(
            stream.events, media_type="text/event-stream", headers={**SSE_HEADERS, **stream.headers, **rate_headers}
        )
    result = await grounded.complete(chat, principal, request_id(request), allowed)
    return json_response(result.body, headers={**result.headers, **rate_headers})


def grounded_routes() -> list[Route]:
    return [Route("/ai/v2/chat/completions/grounded", grounded_completions, methods=["POST"])]
