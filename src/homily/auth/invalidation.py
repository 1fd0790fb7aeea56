"""Access changes (a credential revoked, an allow-list changed) told to every replica at once over Redis pub/sub.

The store stays the source of truth: a message only says *what* changed, and each replica reloads its
`CredentialRegistry` from the store when it hears one (dropping a revoked credential even before the reload).
Without Redis, or while it is unreachable, replicas learn of changes at their next timed refresh, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homily.redis_backend import FailureReporter, redis_errors
from homily.settings import Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

CHANNEL = "homily:access"
PING_SECONDS = 5.0
"""An idle subscription pings Redis this often; one that hears nothing for three pings reconnects."""
RECONNECT_SECONDS = 1.0
CLOSE_TIMEOUT_SECONDS = 2.0
CLI_TIMEOUT_SECONDS = 2.0
"""A command-line process is not latency-bound, and its event loop blocks (imports, output) while a message is sent."""

log = logging.getLogger("homily.auth")


@dataclass(frozen=True, slots=True)
class AccessChange:
    """What changed: a credential that stopped being usable (`client_id`), an organisation whose allow-list
    changed (`org_id`), or, with neither, anything (the listener reloads everything)."""

    client_id: str | None = None
    org_id: str | None = None


def encode(change: AccessChange, origin: str) -> bytes:
    return json.dumps({"origin": origin, "client_id": change.client_id, "org_id": change.org_id}).encode()


def decode(data: Any) -> tuple[str | None, AccessChange]:
    """The sender and change of a message; anything unreadable means "reload everything" (the safe reading)."""
    try:
        fields = json.loads(data)
    except (TypeError, ValueError):
        return None, AccessChange()
    if not isinstance(fields, dict):
        return None, AccessChange()
    origin, client_id, org_id = (fields.get(name) for name in ("origin", "client_id", "org_id"))
    return (
        origin if isinstance(origin, str) else None,
        AccessChange(
            client_id=client_id if isinstance(client_id, str) else None,
            org_id=org_id if isinstance(org_id, str) else None,
        ),
    )


class InvalidationBus:
    """Publishes this process's access changes on `CHANNEL` and passes the other processes' ones to a listener.

    Invariants: publishing never blocks or fails the caller (the change is already committed to the store): a task
    sends it and `close()` waits briefly for those in flight; a process ignores its own messages (each bus has a
    random origin); a listener that was cut off from Redis is told "reload everything" once it is subscribed
    again, because it may have missed messages meanwhile. Failures are reported, never raised.
    """

    def __init__(self, client: Redis, publish_reporter: FailureReporter, listen_reporter: FailureReporter) -> None:
        self._client = client
        self._publish_reporter = publish_reporter
        self._listen_reporter = listen_reporter
        self._errors = redis_errors()
        self._origin = secrets.token_hex(8)
        self._pending: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None

    # -- publishing (AdminService's callbacks have these signatures) -----------------------------------

    def announce(self, change: AccessChange) -> None:
        task = asyncio.get_running_loop().create_task(self._publish(change), name="access-change-publish")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def revoked(self, client_id: str) -> None:
        self.announce(AccessChange(client_id=client_id))

    def allowed_models_changed(self, org_id: str, models: Sequence[str] | None) -> None:
        del models  # the store has them; every replica reloads
        self.announce(AccessChange(org_id=org_id))

    async def _publish(self, change: AccessChange) -> None:
        try:
            await self._client.publish(CHANNEL, encode(change, self._origin))
        except self._errors as error:
            self._publish_reporter.failed(error)

    # -- listening --------------------------------------------------------------------------------------

    async def start(self, on_change: Callable[[AccessChange], None]) -> None:
        """Subscribe (the first attempt before returning, so changes published once the server answers are
        heard) and keep the subscription up in the background until `close()`."""
        pubsub = await self._subscribe()
        self._listener = asyncio.create_task(self._listen_forever(pubsub, on_change), name="access-change-listen")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=CLOSE_TIMEOUT_SECONDS + CLI_TIMEOUT_SECONDS)

    async def _subscribe(self) -> PubSub | None:
        pubsub = self._client.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
        except self._errors as error:
            self._listen_reporter.failed(error)
            await self._close_quietly(pubsub)
            return None
        return pubsub

    async def _listen_forever(self, pubsub: PubSub | None, on_change: Callable[[AccessChange], None]) -> None:
        while True:
            if pubsub is not None:
                try:
                    await self._receive(pubsub, on_change)
                except self._errors as error:
                    self._listen_reporter.failed(error)
                finally:
                    await self._close_quietly(pubsub)
            await asyncio.sleep(RECONNECT_SECONDS)
            pubsub = await self._subscribe()
            if pubsub is not None:
                on_change(AccessChange())  # messages may have been missed while cut off

    async def _receive(self, pubsub: PubSub, on_change: Callable[[AccessChange], None]) -> None:
        heard = time.monotonic()
        while True:
            message = await pubsub.get_message(timeout=PING_SECONDS)
            if message is None:
                if time.monotonic() - heard > 3 * PING_SECONDS:
                    raise ConnectionResetError("the Redis subscription stopped answering pings")
                await pubsub.ping()
                continue
            heard = time.monotonic()
            if message.get("type") != "message":
                continue
            origin, change = decode(message.get("data"))
            if origin != self._origin:
                on_change(change)

    async def _close_quietly(self, pubsub: PubSub) -> None:
        with contextlib.suppress(*self._errors):
            await pubsub.aclose()


@asynccontextmanager
async def announced_access_changes(settings: Settings) -> AsyncIterator[InvalidationBus | None]:
    """For a process that changes access without serving (the admin CLI): a bus to announce the changes on when
    Redis is configured (None otherwise), closed, with its messages sent, when the block ends."""
    if not settings.redis_url:
        yield None
        return
    from homily.metrics import Metrics
    from homily.redis_backend import FailureReporter, open_redis

    fallback = "running servers apply this change at their next refresh (HOMILY_REVOCATION_REFRESH_SECONDS)"
    reporter = FailureReporter(Metrics(), "publish", fallback)
    client = open_redis(settings.redis_url, timeout=CLI_TIMEOUT_SECONDS)
    bus = InvalidationBus(client, reporter, reporter)
    try:
        yield bus
    finally:
        await bus.close()
        await client.aclose()
