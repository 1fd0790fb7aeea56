"""A TCP proxy on loopback that can stall the connections through it, as a frozen database server (SIGSTOP) or a
network partition does: sockets stay open, nothing is refused or closed, bytes simply stop arriving.

`StallProxy(host, port)` forwards every connection made to `proxy.port` to `host:port`, in an event loop of its own
(a background thread), so it works under sync and async clients alike. `stall(most_seconds)` stops forwarding in both
directions at once (bytes already read are held, the rest wait in the kernel's buffers, new connections are
accepted but their first bytes go nowhere); `resume()` delivers what was held and forwards again, as TCP does
once a partition heals. A side that closes during a stall is seen as closed after `resume()`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

CHUNK = 65536


class StallProxy:
    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="stall-proxy", daemon=True)
        self._flowing = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._backstop: asyncio.TimerHandle | None = None
        self.port = 0

    def __enter__(self) -> StallProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def url(self, database_url: str) -> str:
        """`database_url` with its host and port replaced by the proxy's."""
        parts = urlsplit(database_url)
        user = f"{parts.username}@" if parts.username else ""
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}"))

    def stall(self, most_seconds: float) -> None:
        """Stop forwarding (returns once no further byte will pass) until `resume()`, or for `most_seconds` at
        most: a client that waits out the stall (the defect under test) then fails its test instead of hanging."""

        def stop() -> None:
            self._flowing.clear()
            if self._backstop is not None:
                self._backstop.cancel()
            self._backstop = self._loop.call_later(most_seconds, self._flowing.set)

        self._run(stop)

    def resume(self) -> None:
        self._run(self._flowing.set)

    def _run(self, action: Callable[[], None]) -> None:
        async def call() -> None:
            action()

        asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout=10)

    async def _start(self) -> None:
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        self._flowing.set()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.close()
            return
        for reader, writer in ((client_reader, server_writer), (server_reader, client_writer)):
            task = asyncio.create_task(self._pump(reader, writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await self._flowing.wait()  # stalled: read nothing more (the kernel buffers, then the sender waits)
                data = await reader.read(CHUNK)
                await self._flowing.wait()  # stalled while reading: hold these bytes until resumed
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
