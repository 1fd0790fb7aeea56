"""A bare pass-through proxy (Starlette + one pooled aiohttp session + orjson): the benchmark's calibration floor.

It does nothing a gateway must do (no auth, validation, routing, logging), so its row shows what the Python
stack alone costs on this machine at this moment; compare Homily against it when the machine is noisy.

    python -m bench.bare_proxy --port N --upstream http://127.0.0.1:M/v1
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator, Sequence

import aiohttp
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route


class BareProxy:
    """Forwards chat completions to one upstream; the session exists between startup and shutdown."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/") + "/chat/completions"
        self._session: aiohttp.ClientSession | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=256)
        async with aiohttp.ClientSession(connector=connector) as session:
            self._session = session
            yield
            self._session = None

    async def chat(self, request: Request) -> Response:
        session = self._session
        if session is None:
            return Response(status_code=503)
        body = await request.body()
        payload = orjson.loads(body)
        headers = {"Authorization": "Bearer x", "Content-Type": "application/json"}
        if payload.get("stream") is True:
            upstream = await session.post(self.upstream, data=body, headers=headers)

            async def relay() -> AsyncIterator[bytes]:
                try:
                    async for piece in upstream.content.iter_any():
                        yield piece
                finally:
                    upstream.release()

            return StreamingResponse(relay(), status_code=upstream.status, media_type="text/event-stream")
        async with session.post(self.upstream, data=body, headers=headers) as upstream_response:
            content = await upstream_response.read()
            return Response(content, status_code=upstream_response.status, media_type="application/json")

    async def ready(self, request: Request) -> Response:
        return Response(b"ok")

    def app(self) -> Starlette:
        routes = [Route("/v1/chat/completions", self.chat, methods=["POST"]), Route("/ready", self.ready)]
        return Starlette(routes=routes, lifespan=self.lifespan)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_proxy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="OpenAI-style base URL, e.g. http://127.0.0.1:9000/v1")
    args = parser.parse_args(argv)
    proxy = BareProxy(args.upstream)
    uvicorn.run(proxy.app(), host="127.0.0.1", port=args.port, access_log=False, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
