"""Circuit-breaker transitions told to every replica over Redis pub/sub (`HOMILY_REDIS_URL`).

Without this, each of N replicas pays `HOMILY_CIRCUIT_FAILURE_THRESHOLD` failed calls of its own before it stops
sending to a dead upstream, and keeps its circuit open after another replica's call has shown the upstream answers
again. With it, the first replica to open a circuit opens it everywhere (each replica then probes when that replica
would), and the first success closes it everywhere. The news is best effort: a replica that misses it still learns
from its own calls, as without Redis.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homily.providers.circuit import CircuitBreakers, CircuitState
from homily.redis_backend import FailureReporter
from homily.redis_channel import ReplicaChannel

if TYPE_CHECKING:
    from redis.asyncio import Redis

CHANNEL = "homily:circuits"


@dataclass(frozen=True, slots=True)
class CircuitNews:
    """One replica's breaker for `upstream` opened or closed at wall-clock time `at` (seconds since the epoch)."""

    origin: str
    upstream: str
    opened: bool
    at: float


def encode(news: CircuitNews) -> bytes:
    state = CircuitState.OPEN if news.opened else CircuitState.CLOSED
    return json.dumps({"origin": news.origin, "upstream": news.upstream, "state": state.value, "at": news.at}).encode()


def decode(data: bytes) -> CircuitNews | None:
    """The news in a message, or None for anything malformed (ignored: the breakers keep learning by themselves)."""
    try:
        fields = json.loads(data)
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    origin, upstream, state, at = (fields.get(name) for name in ("origin", "upstream", "state", "at"))
    valid_state = state in (CircuitState.OPEN.value, CircuitState.CLOSED.value)
    if not (isinstance(origin, str) and isinstance(upstream, str) and valid_state and isinstance(at, int | float)):
        return None
    return CircuitNews(origin, upstream, state == CircuitState.OPEN.value, float(at))


class CircuitBus:
    """Announces this process's circuit transitions and applies the other replicas' ones to `CircuitBreakers`.

    Only upstreams in `upstreams` (the configured providers) are applied, so a stray message cannot grow the
    breaker table. A process ignores its own messages (each bus has a random origin). Failures are reported, never
    raised; a replica cut off from Redis simply misses news meanwhile.
    """

    def __init__(
        self,
        client: Redis,
        upstreams: Collection[str],
        publish_reporter: FailureReporter,
        listen_reporter: FailureReporter,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._channel = ReplicaChannel(client, CHANNEL, publish_reporter, listen_reporter)
        self._upstreams = frozenset(upstreams)
        self._origin = secrets.token_hex(8)
        self._clock = clock

    def announce(self, upstream: str, state: CircuitState) -> None:
        """A `CircuitListener`: tell the other replicas about one of this process's breakers."""
        opened = state is CircuitState.OPEN
        self._channel.publish(encode(CircuitNews(self._origin, upstream, opened, self._clock())))

    async def start(self, breakers: CircuitBreakers) -> None:
        def heard(data: bytes) -> None:
            news = decode(data)
            if news is None or news.origin == self._origin or news.upstream not in self._upstreams:
                return
            breaker = breakers.get(news.upstream)
            if news.opened:
                breaker.opened_elsewhere(self._clock() - news.at)
            else:
                breaker.closed_elsewhere()

        await self._channel.start(heard, lambda: None)

    async def close(self) -> None:
        await self._channel.close()
