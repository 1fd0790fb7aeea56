"""The machinery every fake upstream shares: a scripted aiohttp server runnable in a background thread."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from abc import abstractmethod
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from homily.fakes.script import Reply, Script
from homily.fakes.threaded import LoopbackServer, cannot_listen

log = logging.getLogger("homily.fakes")

_HANG_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class FakeUpstream(LoopbackServer):
    """A real loopback HTTP server emitting one provider's wire format, driven by a `Script` of `Reply`s.

    Start it with `with Fake() as fake:` (a background thread with its own event loop) or `await fake.start()`
    inside a running loop. It records the last `max_recorded` requests and counts open connections, so tests
    can check what an adapter sent and that sockets are released. Handlers are cancelled when their client
    disconnects, so hung replies do not outlive their connection.
    """

    provider = "fake"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str = "test-key", max_recorded: int = 1000):
        self.host = host
        self.port = port
        self.api_key = api_key
        self.script = Script()
        self.requests: deque[RecordedRequest] = deque(maxlen=max_recorded)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def open_connections(self) -> int:
        server = self._runner.server if self._runner is not None else None
        return len(server.connections) if server is not None else 0

    def push(self, *replies: Reply) -> None:
        self.script.push(*replies)

    # ----- provider-specific parts -----

    @abstractmethod
    def routes(self) -> list[web.RouteDef]: ...

    @abstractmethod
    def error_body(self, status: int, message: str) -> dict[str, Any]: ...

    @abstractmethod
    def check_request(self, request: web.Request, body: Any) -> tuple[int, str] | None:
        """Reject what the real API rejects: (status, message), or None when the request is acceptable."""

    @abstractmethod
    def render_body(self, reply: Reply, body: Any) -> dict[str, Any]: ...

    @abstractmethod
    def render_events(self, reply: Reply, body: Any) -> list[bytes]: ...

    # ----- shared request handling -----

    async def respond(self, request: web.Request, *, stream: bool) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        self.requests.append(
            RecordedRequest(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        reply = self.script.next()
        if reply.delay_before_headers:
            await asyncio.sleep(reply.delay_before_headers)
        rejection = self.check_request(request, body)
        if rejection is not None:
            return self.json_error(*rejection)
        if reply.status >= 400:
            return self.scripted_error(reply)
        if stream:
            return await self._stream(request, reply, body)
        if reply.malformed_json:
            return web.Response(body=b'{"id": "broken", "content": [', content_type="application/json")
        payload = self.render_body(reply, body)
        if reply.oversized_bytes:
            payload["padding"] = "x" * reply.oversized_bytes
        return web.Response(body=orjson.dumps(payload), content_type="application/json")

    def scripted_error(self, reply: Reply) -> web.Response:
        """A scripted HTTP failure; `Retry-After` goes in a header (Google's fake overrides this)."""
        headers = {"Retry-After": reply.retry_after} if reply.retry_after else None
        return self.json_error(reply.status, reply.error_message, headers)

    def json_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(
            status=status,
            body=orjson.dumps(self.error_body(status, message)),
            content_type="application/json",
            headers=headers,
        )

    async def _stream(self, request: web.Request, reply: Reply, body: Any) -> web.StreamResponse:
        events = self.render_events(reply, body)
        if reply.malformed_json and events:
            events[0] = b'data: {"broken": [\r\n\r\n'
        if reply.oversized_bytes and events:
            events[0] = b"data: " + orjson.dumps({"padding": "x" * reply.oversized_bytes}) + b"\r\n\r\n"
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        try:
            await response.prepare(request)
            await self._write_events(request, response, reply, events)
        except ConnectionResetError:
            log.debug("client went away mid-stream")
        return response

    async def _write_events(
        self, request: web.Request, response: web.StreamResponse, reply: Reply, events: list[bytes]
    ) -> None:
        for sent, event in enumerate(events):
            if reply.abort_after_events == sent and request.transport is not None:
                request.transport.abort()
                return
            if reply.truncate_after_events == sent:
                break
            if reply.hang_after_events == sent:
                await asyncio.sleep(_HANG_SECONDS)
            if reply.delay_between_events and sent:
                await asyncio.sleep(reply.delay_between_events)
            await response.write(event)
        await response.write_eof()

    # ----- lifecycle -----

    def app(self) -> web.Application:
        application = web.Application(client_max_size=64 * 1024 * 1024)
        application.add_routes(self.routes())
        return application

    async def start(self) -> None:
        runner = web.AppRunner(self.app(), handler_cancellation=True, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        sockets = runner.addresses
        self.port = int(sockets[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def thread_name(self) -> str:
        return f"fake-{self.provider}"


def recorded_json(requests: deque[RecordedRequest]) -> Iterator[Any]:
    """The JSON bodies of recorded requests, oldest first."""
    return (request.body for request in requests)


def serve_main(fake: FakeUpstream, description: str, key_setting: str) -> None:
    """`python -m homily.fakes.<provider>_upstream --port N`: serve until interrupted, echoing the last user
    turn."""
    parser = argparse.ArgumentParser(
        prog=f"python -m homily.fakes.{fake.provider}_upstream",
        description=f"{description} on loopback (for tests, benchmarks and trying Homily offline): it answers "
        "by echoing the last user turn.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default 0)")
    parser.add_argument(
        "--api-key",
        default="test-key",
        help=f"the key Homily must send: set {key_setting} to it (default test-key)",
    )
    args = parser.parse_args()
    fake.host, fake.port, fake.api_key = args.host, args.port, args.api_key
    fake.script.default = Reply(echo=True)
    logging.basicConfig(level=logging.INFO)

    async def run() -> None:
        await fake.start()
        log.info("fake %s upstream listening on %s", fake.provider, fake.url)
        await asyncio.Event().wait()

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run())
    except OSError as exc:
        raise SystemExit(cannot_listen(parser.prog, args.host, args.port, exc)) from None
