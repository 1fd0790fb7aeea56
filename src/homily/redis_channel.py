"""One Redis pub/sub channel shared by the replicas of a deployment: best-effort news from one process to the others.

Users (access changes, circuit-breaker transitions) own their message format; this class only moves bytes. The
news is never the source of truth, so a lost message costs timeliness, not correctness, and nothing here fails its
caller: publishing is fire-and-forget, and failures are counted and logged by a `FailureReporter`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from homily.redis_backend import FailureReporter, redis_errors

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

PING_SECONDS = 5.0
"""An idle subscription pings Redis this often; one that hears nothing for three pings reconnects."""
RECONNECT_SECONDS = 1.0
CLOSE_TIMEOUT_SECONDS = 4.0
"""How long `close()` waits for messages still being sent."""

OnMessage = Callable[[bytes], None]
OnResubscribed = Callable[[], None]


class ReplicaChannel:
    """Publishes bytes on one channel and hands every message heard on it to a listener, in the background.

    Invariants: `publish` never blocks or raises (a task sends the message; `close()` waits briefly for those in
    flight); the listener reconnects forever after a failure and, once subscribed again, `on_resubscribed` is
    called, because messages may have been missed meanwhile. A process hears its own messages too: the format's
    owner tells them apart (e.g. with an origin field).
    """

    def __init__(
        self, client: Redis, name: str, publish_reporter: FailureReporter, listen_reporter: FailureReporter
    ) -> None:
        self.name = name
        self._client = client
        self._publish_reporter = publish_reporter
        self._listen_reporter = listen_reporter
        self._errors = redis_errors()
        self._pending: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None

    def publish(self, data: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._publish(data), name=f"publish {self.name}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, data: bytes) -> None:
        try:
            await self._client.publish(self.name, data)
        except self._errors as error:
            self._publish_reporter.failed(error)

    async def start(self, on_message: OnMessage, on_resubscribed: OnResubscribed) -> None:
        """Subscribe (the first attempt before returning, so news published once the server answers is heard) and
        keep the subscription up in the background until `close()`."""
        pubsub = await self._subscribe()
        self._listener = asyncio.create_task(
            self._listen_forever(pubsub, on_message, on_resubscribed), name=f"listen {self.name}"
        )

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=CLOSE_TIMEOUT_SECONDS)

    async def _subscribe(self) -> PubSub | None:
        pubsub = self._client.pubsub()
        try:
            await pubsub.subscribe(self.name)
        except self._errors as error:
            self._listen_reporter.failed(error)
            await self._close_quietly(pubsub)
            return None
        return pubsub

    async def _listen_forever(
        self, pubsub: PubSub | None, on_message: OnMessage, on_resubscribed: OnResubscribed
    ) -> None:
        while True:
            if pubsub is not None:
                try:
                    await self._receive(pubsub, on_message)
                except self._errors as error:
                    self._listen_reporter.failed(error)
                finally:
                    await self._close_quietly(pubsub)
            await asyncio.sleep(RECONNECT_SECONDS)
            pubsub = await self._subscribe()
            if pubsub is not None:
                on_resubscribed()

    async def _receive(self, pubsub: PubSub, on_message: OnMessage) -> None:
        heard = time.monotonic()
        while True:
            message = await pubsub.get_message(timeout=PING_SECONDS)
            if message is None:
                if time.monotonic() - heard > 3 * PING_SECONDS:
                    raise ConnectionResetError("the Redis subscription stopped answering pings")
                await pubsub.ping()
                continue
            heard = time.monotonic()
            data = message.get("data")
            if message.get("type") == "message" and isinstance(data, bytes):
                on_message(data)

    async def _close_quietly(self, pubsub: PubSub) -> None:
        with contextlib.suppress(*self._errors):
            await pubsub.aclose()
