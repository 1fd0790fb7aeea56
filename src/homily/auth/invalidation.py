"""Access changes (a credential revoked, an allow-list changed) told to every replica at once over Redis pub/sub.

The store stays the source of truth: a message only says *what* changed, and each replica reloads its
`CredentialRegistry` from the store when it hears one (dropping a revoked credential even before the reload).
Without Redis, or while it is unreachable, replicas learn of changes at their next timed refresh, as before.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homily.redis_backend import FailureReporter
from homily.redis_channel import ReplicaChannel
from homily.settings import Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis

CHANNEL = "homily:access"
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

    Invariants: publishing never blocks or fails the caller (the change is already committed to the store); a
    process ignores its own messages (each bus has a random origin); a listener that was cut off from Redis is told
    "reload everything" once it is subscribed again, because it may have missed messages meanwhile (see
    `ReplicaChannel`). Failures are reported, never raised.
    """

    def __init__(self, client: Redis, publish_reporter: FailureReporter, listen_reporter: FailureReporter) -> None:
        self._channel = ReplicaChannel(client, CHANNEL, publish_reporter, listen_reporter)
        self._origin = secrets.token_hex(8)

    # -- publishing (AdminService's callbacks have these signatures) -----------------------------------

    def announce(self, change: AccessChange) -> None:
        self._channel.publish(encode(change, self._origin))

    def revoked(self, client_id: str) -> None:
        self.announce(AccessChange(client_id=client_id))

    def allowed_models_changed(self, org_id: str, models: Sequence[str] | None) -> None:
        del models  # the store has them; every replica reloads
        self.announce(AccessChange(org_id=org_id))

    # -- listening --------------------------------------------------------------------------------------

    async def start(self, on_change: Callable[[AccessChange], None]) -> None:
        """Subscribe, then keep listening in the background until `close()`."""

        def heard(data: bytes) -> None:
            origin, change = decode(data)
            if origin != self._origin:
                on_change(change)

        await self._channel.start(heard, lambda: on_change(AccessChange()))

    async def close(self) -> None:
        await self._channel.close()


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
