"""Thread-safe state of a fake upstream: scripted behaviours, recorded requests, connection counters.

The server's event loop (often in a background thread) and the test thread both touch this state, so every
access goes through one lock; each critical section is a few attribute updates, cheap enough for the hot path.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson

from homily.fakes.openai_script import Behaviour


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake received, as it arrived: header names lower-cased, body as raw bytes."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (raises `orjson.JSONDecodeError` when it is not JSON)."""
        return orjson.loads(self.body)

    def to_wire(self) -> dict[str, Any]:
        try:
            body: Any = orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            body = self.body.decode("utf-8", errors="replace")
        return {"method": self.method, "path": self.path, "headers": self.headers, "body": body}


@dataclass(frozen=True, slots=True)
class FakeStats:
    """A consistent snapshot of the fake's counters.

    `cancelled_streams` / `cancelled_requests` count streaming / non-streaming calls whose client went away
    before the fake finished answering; `active_requests` are chat calls being answered now;
    `open_connections` are TCP connections the server currently holds (idle keep-alive ones included).
    """

    requests: int
    active_requests: int
    open_connections: int
    completed_streams: int
    cancelled_streams: int
    cancelled_requests: int
    queued_behaviours: int

    def to_wire(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "active_requests": self.active_requests,
            "open_connections": self.open_connections,
            "completed_streams": self.completed_streams,
            "cancelled_streams": self.cancelled_streams,
            "cancelled_requests": self.cancelled_requests,
            "queued_behaviours": self.queued_behaviours,
        }


class FakeState:
    """Behaviour queue (FIFO, one per chat request, falling back to the default), request log and counters.

    The response cache maps a raw request body to the pre-encoded default answer; it is only consulted while
    the queue is empty and is cleared whenever the default behaviour changes, so cached bytes always match
    what the default behaviour would render.
    """

    def __init__(self, max_recorded: int = 10_000, cache_size: int = 256) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Behaviour] = deque()
        self._default = Behaviour()
        self._recorded: deque[RecordedRequest] = deque(maxlen=max_recorded if max_recorded > 0 else None)
        self._record = max_recorded != 0
        self._cache: dict[bytes, tuple[bool, bytes]] = {}
        self._cache_size = cache_size
        self._requests = 0
        self._active = 0
        self._completed_streams = 0
        self._cancelled_streams = 0
        self._cancelled_requests = 0

    def enqueue(self, behaviours: list[Behaviour]) -> int:
        with self._lock:
            self._queue.extend(behaviours)
            return len(self._queue)

    def set_default(self, behaviour: Behaviour) -> None:
        with self._lock:
            self._default = behaviour
            self._cache.clear()

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._default = Behaviour()
            self._recorded.clear()
            self._cache.clear()
            self._requests = 0
            self._completed_streams = 0
            self._cancelled_streams = 0
            self._cancelled_requests = 0

    @property
    def records_requests(self) -> bool:
        return self._record

    def begin_request(self, recorded: RecordedRequest | None) -> None:
        with self._lock:
            self._requests += 1
            self._active += 1
            if recorded is not None:
                self._recorded.append(recorded)

    def end_request(self) -> None:
        with self._lock:
            self._active -= 1

    def next_behaviour(self) -> tuple[Behaviour, bool]:
        """The behaviour for this request and whether it is the (cacheable) default."""
        with self._lock:
            if self._queue:
                return self._queue.popleft(), False
            return self._default, True

    def queue_is_empty(self) -> bool:
        return not self._queue

    def cached(self, raw_body: bytes) -> tuple[bool, bytes] | None:
        """(is it a stream, the encoded answer) for a body the default behaviour already answered."""
        return self._cache.get(raw_body)

    def store_cached(self, raw_body: bytes, stream: bool, encoded: bytes) -> None:
        with self._lock:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[raw_body] = (stream, encoded)

    def count_stream_completed(self) -> None:
        with self._lock:
            self._completed_streams += 1

    def count_cancelled(self, stream: bool) -> None:
        with self._lock:
            if stream:
                self._cancelled_streams += 1
            else:
                self._cancelled_requests += 1

    def recorded(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._recorded)

    def snapshot(self, open_connections: int) -> FakeStats:
        with self._lock:
            return FakeStats(
                requests=self._requests,
                active_requests=self._active,
                open_connections=open_connections,
                completed_streams=self._completed_streams,
                cancelled_streams=self._cancelled_streams,
                cancelled_requests=self._cancelled_requests,
                queued_behaviours=len(self._queue),
            )
