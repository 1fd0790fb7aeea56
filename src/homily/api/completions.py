"""`POST /ai/v2/chat/completions` (API.md section 2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from homily.api.deps import authenticate, read_body, request_id, services
from homily.api.responses import json_response
from homily.protocol.chat import ChatCompletionRequest, check_request
from homily.protocol.validation import decode_json_object, parse_model
from homily.ratelimit import enforce

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def chat_completions(request: Request) -> Response:
    principal = await authenticate(request)
    found = services(request)
    rate_headers = await enforce(found.rate_limiter, principal.client_id)
    body = await read_body(request, found.settings.max_request_bytes)
    chat = parse_model(ChatCompletionRequest, decode_json_object(body))
    check_request(chat)
    allowed = found.credentials.allowed_models(principal.org_id)
    if chat.stream:
        stream = await found.completions.open_stream(chat, request_id(request), allowed=allowed)
        return StreamingResponse(
            stream.events, media_type="text/event-stream", headers={**SSE_HEADERS, **stream.headers, **rate_headers}
        )
    result = await found.completions.complete(chat, request_id(request), allowed=allowed)
    return json_response(result.body, headers={**result.headers, **rate_headers})


def completion_routes() -> list[Route]:
    return [Route("/ai/v2/chat/completions", chat_completions, methods=["POST"])]
