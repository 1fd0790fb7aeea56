"""aiohttp handlers of the fake OpenAI upstream: the chat-completions wire API and the `/_fake` control plane.

Each handler reads and updates one shared `FakeState`; the chat handler answers from the pre-encoded cache when
no script is queued (the benchmark's hot path) and otherwise renders and plays the next scripted behaviour.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from homily.fakes.openai_script import (
    BEHAVIOUR_ADAPTER,
    BEHAVIOURS_ADAPTER,
    Behaviour,
    ResolvedAnswer,
    body_digest,
    error_body_bytes,
    openai_error,
    render_completion,
    render_stream_events,
    truncated_events,
)
from homily.fakes.state import FakeState, RecordedRequest

DEFAULT_MODELS = ("gpt-5-nano", "gpt-5-mini", "gpt-5-pro", "gpt-5.2", "gpt-oss-120b")
JSON_TYPE = "application/json"
SSE_HEADERS = MappingProxyType({"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"})


def is_plain(behaviour: Behaviour) -> bool:
    """True when the behaviour answers at once and correctly, so its rendered bytes may be cached."""
    return (
        behaviour.headers_delay == 0
        and behaviour.chunk_delay == 0
        and behaviour.status < 400
        and behaviour.abort_after_chunks is None
        and not behaviour.malformed_json
        and behaviour.truncate is None
        and not behaviour.extra_headers
    )


def _json_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=body, status=status, content_type=JSON_TYPE, headers=headers)


class OpenAIHandlers:
    """The request handlers over one `FakeState`; `server` is set once the aiohttp server runs (for stats)."""

    def __init__(self, state: FakeState, api_key: str | None, models: Sequence[str]) -> None:
        self.state = state
        self.api_key = api_key
        self.models = tuple(models)
        self.server: web.Server | None = None

    def open_connections(self) -> int:
        return len(self.server.connections) if self.server is not None else 0

    def _auth_error(self, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            body = openai_error(
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
                None,
            )
            return _json_response(body, 401)
        given = header[len("Bearer ") :]
        if not secrets.compare_digest(given.encode(), self.api_key.encode()):
            shown = f"{given[:3]}*****{given[-4:]}" if len(given) > 8 else "*****"
            body = openai_error(f"Incorrect API key provided: {shown}.", "invalid_request_error", "invalid_api_key")
            return _json_response(body, 401)
        return None

    async def chat(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        recorded = None
        if self.state.records_requests:
            headers = {name.lower(): value for name, value in request.headers.items()}
            recorded = RecordedRequest(request.method, request.path, headers, raw)
        self.state.begin_request(recorded)
        try:
            denied = self._auth_error(request)
            if denied is not None:
                return denied
            if self.state.queue_is_empty():
                cached = self.state.cached(raw)
                if cached is not None:
                    stream, body = cached
                    if not stream:
                        return _json_response(body)
                    return await self._send_whole_stream(request, body)
            return await self._chat_uncached(request, raw)
        finally:
            self.state.end_request()

    async def _chat_uncached(self, request: web.Request, raw: bytes) -> web.StreamResponse:
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            message = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
            message += "your HTTP library correctly. The OpenAI API expects a JSON payload.)"
            return _json_response(openai_error(message, "invalid_request_error", None), 400)
        invalid = _invalid_request(payload)
        if invalid is not None:
            return _json_response(invalid, 400)
        stream = payload.get("stream") is True
        try:
            return await self._answer(request, raw, payload, stream)
        except asyncio.CancelledError:
            self.state.count_cancelled(stream)
            raise

    async def _answer(
        self, request: web.Request, raw: bytes, payload: dict[str, Any], stream: bool
    ) -> web.StreamResponse:
        behaviour, is_default = self.state.next_behaviour()
        if behaviour.headers_delay > 0:
            await asyncio.sleep(behaviour.headers_delay)
        extra = dict(behaviour.extra_headers)
        if behaviour.status >= 400:
            if behaviour.retry_after is not None:
                extra["Retry-After"] = behaviour.retry_after
            return _json_response(error_body_bytes(behaviour), behaviour.status, extra)
        if behaviour.abort_after_chunks == 0:
            _abort(request)
            return web.Response()  # never sent: the transport is already gone
        answer = ResolvedAnswer(behaviour, payload, body_digest(raw))
        if not stream:
            body = render_completion(answer)
            if is_default and is_plain(behaviour):
                self.state.store_cached(raw, False, body)
            return await self._send_completion(request, behaviour, body, extra)
        options = payload.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        events = render_stream_events(answer, behaviour, include_usage)
        if is_default and is_plain(behaviour):
            joined = b"".join(events)
            self.state.store_cached(raw, True, joined)
            return await self._send_whole_stream(request, joined)
        return await self._send_stream(request, behaviour, events, extra)

    async def _send_completion(
        self, request: web.Request, behaviour: Behaviour, body: bytes, extra: dict[str, str]
    ) -> web.StreamResponse:
        if behaviour.malformed_json:
            body = body[: len(body) // 2]
        if behaviour.abort_after_chunks is None:
            return _json_response(body, 200, extra)
        response = web.StreamResponse(headers={"Content-Type": JSON_TYPE, **extra})
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        _abort(request)
        return response

    async def _send_whole_stream(self, request: web.Request, events: bytes) -> web.StreamResponse:
        """A whole pre-encoded event stream in one write, chunk-encoded like a real streaming answer."""
        response = web.StreamResponse(headers=SSE_HEADERS)
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write_eof(events)
        self.state.count_stream_completed()
        return response

    async def _send_stream(
        self, request: web.Request, behaviour: Behaviour, events: list[bytes], extra: dict[str, str]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={**SSE_HEADERS, **extra})
        await response.prepare(request)
        if behaviour.truncate is not None:
            events = truncated_events(events, behaviour.truncate)
        try:
            for index, event in enumerate(events):
                if behaviour.abort_after_chunks is not None and index >= behaviour.abort_after_chunks:
                    _abort(request)
                    return response
                if index > 0 and behaviour.chunk_delay > 0:
                    await asyncio.sleep(behaviour.chunk_delay)
                await response.write(event)
            await response.write_eof()
        except ConnectionResetError:
            self.state.count_cancelled(True)
            return response
        self.state.count_stream_completed()
        return response

    async def models_list(self, request: web.Request) -> web.Response:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        data = [{"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "system"} for m in self.models]
        return _json_response(orjson.dumps({"object": "list", "data": data}))

    async def script(self, request: web.Request) -> web.Response:
        try:
            payload = orjson.loads(await request.read())
            default = None
            if isinstance(payload, dict) and ({"behaviours", "default"} & payload.keys()):
                behaviours = BEHAVIOURS_ADAPTER.validate_python(payload.get("behaviours", []))
                if payload.get("default") is not None:
                    default = BEHAVIOUR_ADAPTER.validate_python(payload["default"])
            elif isinstance(payload, list):
                behaviours = BEHAVIOURS_ADAPTER.validate_python(payload)
            else:
                behaviours = [BEHAVIOUR_ADAPTER.validate_python(payload)]
        except (orjson.JSONDecodeError, ValidationError) as error:
            return _json_response(openai_error(str(error), "invalid_request_error", "invalid_script"), 400)
        if default is not None:
            self.state.set_default(default)
        queued = self.state.enqueue(behaviours)
        return _json_response(orjson.dumps({"queued": queued}))

    async def reset(self, request: web.Request) -> web.Response:
        self.state.reset()
        return _json_response(b'{"ok":true}')

    async def requests_log(self, request: web.Request) -> web.Response:
        return _json_response(orjson.dumps([r.to_wire() for r in self.state.recorded()]))

    async def stats(self, request: web.Request) -> web.Response:
        return _json_response(orjson.dumps(self.state.snapshot(self.open_connections()).to_wire()))


def _invalid_request(payload: Any) -> bytes | None:
    if not isinstance(payload, dict):
        return openai_error("Invalid type for request body: expected an object.", "invalid_request_error", None)
    if not isinstance(payload.get("model"), str):
        return openai_error("you must provide a model parameter", "invalid_request_error", None)
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        message = "Missing required parameter: 'messages'."
        return openai_error(message, "invalid_request_error", "missing_required_parameter", "messages")
    return None


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
