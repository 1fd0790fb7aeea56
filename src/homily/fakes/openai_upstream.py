"""A fake OpenAI chat-completions upstream: a real loopback aiohttp server, scriptable from Python and HTTP.

Endpoints: `POST /v1/chat/completions` (and `/chat/completions`), `GET /v1/models`, plus the control plane
`POST /_fake/script`, `POST /_fake/reset`, `GET /_fake/requests`, `GET /_fake/stats`. Use it in tests as
`with FakeOpenAIUpstream() as fake: ... fake.base_url` (background thread) or `async with` (current loop), and
in benchmarks as `python -m homily.fakes.openai_upstream --port N`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from homily.fakes.openai_script import (
    BEHAVIOUR_ADAPTER,
    BEHAVIOURS_ADAPTER,
    Behaviour,
    FakeToolCall,
    ResolvedAnswer,
    body_digest,
    error_body_bytes,
    openai_error,
    render_completion,
    render_stream_events,
)
from homily.fakes.state import FakeState, FakeStats, RecordedRequest

__all__ = ["Behaviour", "FakeOpenAIUpstream", "FakeStats", "FakeToolCall", "RecordedRequest", "main"]

logger = logging.getLogger(__name__)

DEFAULT_MODELS = ("gpt-5-nano", "gpt-5-mini", "gpt-5-pro", "gpt-5.2", "gpt-oss-120b")
JSON_TYPE = "application/json"
SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


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


class _Handlers:
    """The aiohttp request handlers over one `FakeState`."""

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
                    self.state.count_stream_completed()
                    return _stream_bytes_response(body)
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
            raise web.HTTPException()  # never reaches the client: the transport is gone
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
            self.state.count_stream_completed()
            return _stream_bytes_response(joined)
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

    async def _send_stream(
        self, request: web.Request, behaviour: Behaviour, events: list[bytes], extra: dict[str, str]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={**SSE_HEADERS, **extra})
        await response.prepare(request)
        if behaviour.truncate == "no_done":
            events = events[:-1]
        elif behaviour.truncate == "mid_event":
            cut = len(events) // 2
            events = [*events[:cut], events[cut][: len(events[cut]) // 2]]
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


def _stream_bytes_response(body: bytes) -> web.Response:
    return web.Response(body=body, headers=SSE_HEADERS)


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


class FakeOpenAIUpstream:
    """A running fake OpenAI upstream bound to `host:port` (port 0 picks a free one).

    Invariant: between `start` and `stop` (or inside `with` / `async with`), `base_url` points at a live
    server whose behaviour queue, request log and counters are readable and scriptable from any thread.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        *,
        models: Sequence[str] = DEFAULT_MODELS,
        max_recorded: int = 10_000,
        shutdown_timeout: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port
        self.api_key = api_key
        self.state = FakeState(max_recorded=max_recorded)
        self._handlers = _Handlers(self.state, api_key, models)
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (`.../v1`) to give a client or `OPENAI_BASE_URL`."""
        return f"{self.url}/v1"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        handlers = self._handlers
        app.router.add_post("/v1/chat/completions", handlers.chat)
        app.router.add_post("/chat/completions", handlers.chat)
        app.router.add_get("/v1/models", handlers.models_list)
        app.router.add_get("/models", handlers.models_list)
        app.router.add_post("/_fake/script", handlers.script)
        app.router.add_post("/_fake/reset", handlers.reset)
        app.router.add_get("/_fake/requests", handlers.requests_log)
        app.router.add_get("/_fake/stats", handlers.stats)
        return app

    async def start(self) -> None:
        """Bind and serve on the running event loop."""
        runner = web.AppRunner(
            self.build_app(),
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=self._shutdown_timeout,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        self._runner = runner
        self._handlers.server = runner.server
        if self.port == 0:
            self.port = int(runner.addresses[0][1])
        logger.info("fake OpenAI upstream listening on %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._handlers.server = None

    async def __aenter__(self) -> FakeOpenAIUpstream:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def __enter__(self) -> FakeOpenAIUpstream:
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except Exception as error:  # reported to the thread that called __enter__
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name=f"fake-openai-{id(self):x}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._thread = None
            self._loop = None

    def enqueue(self, *behaviours: Behaviour) -> None:
        """Queue behaviours, consumed one per chat request in order, before the default applies again."""
        self.state.enqueue(list(behaviours))

    def set_default(self, behaviour: Behaviour) -> None:
        self.state.set_default(behaviour)

    def reset(self) -> None:
        """Empty the queue and request log, zero the counters and restore the default behaviour."""
        self.state.reset()

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.state.recorded()

    def stats(self) -> FakeStats:
        return self.state.snapshot(self._handlers.open_connections())

    def wait_for(self, condition: Callable[[FakeStats], bool], timeout: float = 5.0) -> FakeStats:
        """Block until `condition(stats)` holds (e.g. a cancelled stream was counted); TimeoutError if not."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.stats()
            if condition(snapshot):
                return snapshot
            if time.monotonic() >= deadline:
                raise TimeoutError(f"fake upstream condition not met within {timeout}s: {snapshot}")
            time.sleep(0.01)

    async def wait_for_async(self, condition: Callable[[FakeStats], bool], within: float = 5.0) -> FakeStats:
        """`wait_for` for async tests (does not block the event loop)."""
        deadline = time.monotonic() + within
        while True:
            snapshot = self.stats()
            if condition(snapshot):
                return snapshot
            if time.monotonic() >= deadline:
                raise TimeoutError(f"fake upstream condition not met within {within}s: {snapshot}")
            await asyncio.sleep(0.01)


async def _serve_forever(fake: FakeOpenAIUpstream) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await fake.start()
    sys.stdout.write(f"listening on {fake.url}\n")
    sys.stdout.flush()
    await stop.wait()
    await fake.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m homily.fakes.openai_upstream",
        description="Serve a fake OpenAI chat-completions upstream on loopback (for tests and benchmarks).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default 0)")
    parser.add_argument("--api-key", default=None, help="expected bearer key; unset accepts any request")
    parser.add_argument(
        "--max-recorded", type=int, default=10_000, help="requests kept in the log; 0 disables recording"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    fake = FakeOpenAIUpstream(args.host, args.port, args.api_key, max_recorded=args.max_recorded)
    run: Callable[[Any], Any] = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        run = uvloop.run
    run(_serve_forever(fake))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
