"""`LoopbackServer`: run a fake upstream's async `start`/`stop` on the current loop or on a background thread."""

from __future__ import annotations

import asyncio
import sys
import threading
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class LoopbackServer(ABC):
    """`async with server:` serves on the running loop; `with server:` serves on a private loop in a daemon thread
    (for synchronous tests and clients). A failure to start (e.g. the port is taken) is raised to the caller."""

    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    @abstractmethod
    async def start(self) -> None:
        """Bind and serve on the running event loop."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop serving and release the socket."""

    def thread_name(self) -> str:
        return f"{type(self).__name__}-{id(self):x}"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def __enter__(self) -> Self:
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
        self._thread = threading.Thread(target=serve, name=self.thread_name(), daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = self._loop = None
            raise failure[0]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()


def cannot_listen(program: str, host: str, port: int, error: OSError) -> int:
    """A fake started from the command line on an address it cannot bind: one line saying what to do, status 1."""
    sys.stderr.write(
        f"{program}: error: cannot listen on {host}:{port} ({error.strerror or error}); stop what uses that port "
        "or pass another --port\n"
    )
    return 1
