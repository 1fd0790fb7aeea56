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
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from homily.fakes.openai_handlers import DEFAULT_MODELS, OpenAIHandlers
from homily.fakes.openai_script import Behaviour, FakeToolCall
from homily.fakes.state import FakeState, FakeStats, RecordedRequest
from homily.fakes.threaded import LoopbackServer, cannot_listen

__all__ = ["Behaviour", "FakeOpenAIUpstream", "FakeStats", "FakeToolCall", "RecordedRequest", "main"]

logger = logging.getLogger(__name__)


class FakeOpenAIUpstream(LoopbackServer):
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
        self._handlers = OpenAIHandlers(self.state, api_key, models)
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None

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

    def enqueue(self, *behaviours: Behaviour) -> None:
        """Queue behaviours, consumed in order one per accepted chat request, then the default applies again.

        Requests the fake rejects itself (401 bad key, 400 unparsable body) do not consume a behaviour.
        """
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
    try:
        run(_serve_forever(fake))
    except OSError as exc:
        return cannot_listen(parser.prog, args.host, args.port, exc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
