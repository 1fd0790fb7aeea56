"""Deadlines on database work, so that a stalled PostgreSQL cannot hold a request for as long as it stalls.

A server that stops without closing its connections (a frozen process, a network partition that drops packets)
answers nothing and refuses nothing: the driver waits for the reply, the pool's health check on checkout waits for
its reply, and TCP keeps the socket open (a frozen server's kernel even acknowledges every byte). So every piece
of database work runs under a `Deadline`: when its budget runs out before the work is done, the deadline shuts the
connection's socket down. The driver's wait then ends at once with a connection error (no cancel request, which a
stalled server would not answer either), the caller gets `DatabaseUnavailableError`, and the connection is closed
rather than put back: a connection abandoned in the middle of the protocol is never reused. A blocking pool's
deadlines are kept by its `Watchdog` (one thread per pool, not one per use); an async pool's by its event loop.

The budgets (a stall costs one budget, then the next checkout finds the pool empty and waits at most the pool's
checkout timeout, `CHECKOUT_TIMEOUT_SECONDS`):

- `REQUEST_SECONDS` for what a request or the worker's bookkeeping does: lookups, searches, status changes, leases,
  small writes. A healthy server answers these in milliseconds; 5 s is the outage wait the README documents.
- `transfer_seconds(size)` for statements that carry a whole uploaded file (5 s plus 1 s per MiB: a database
  reached at 1 MiB/s or better stores a 50 MiB upload in time).
- `BATCH_SECONDS` for ingestion's batch writes and reads of an item's chunks (thousands of rows with their keyword
  and vector indexes), for reading an uploaded file back (up to 50 MiB), and for rewriting every chunk of an item
  whose title or tradition changed (each new row version enters the vector index). Deleting chunks is cheap in
  PostgreSQL (rows are marked, index entries go at vacuum): it has the request budget.
- No deadline (`None`) for schema migrations and the work done once when a store opens: an index build must not be
  cut off, and a replica that cannot finish it does not start.

`CHECK_SECONDS` bounds the pool's check of a connection on checkout (an empty query). `KEEPALIVES` are the libpq
parameters of every connection: TCP keepalives find a partitioned idle connection within about 16 s, and
`tcp_user_timeout` drops one whose sent bytes stay unacknowledged for 10 s, so even work with a long budget (or
none) learns of a partition in seconds rather than after the kernel's retransmissions (about 15 minutes).
`SESSION_SETTINGS` make the server end a session that sits in a transaction for 60 s without a word from its
client (one cut off mid-transaction by a partition would otherwise hold its row locks for hours).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from types import MappingProxyType
from typing import Any

import psycopg

from homily.storage.base import StoreUnavailableError

log = logging.getLogger("homily.storage.postgres")

REQUEST_SECONDS = 5.0
BATCH_SECONDS = 60.0
CHECK_SECONDS = 2.0
TRANSFER_SECONDS_PER_MIB = 1.0

KEEPALIVES: Mapping[str, Any] = MappingProxyType(
    {
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": 10_000,  # milliseconds
    }
)
SESSION_SETTINGS = (("idle_in_transaction_session_timeout", "60s"),)
_SET_SESSION = "SELECT " + ", ".join("set_config(%s, %s, false)" for _ in SESSION_SETTINGS)
_SESSION_PARAMETERS = [value for pair in SESSION_SETTINGS for value in pair]


def transfer_seconds(size_bytes: int) -> float:
    """The budget of a statement carrying `size_bytes` of file content."""
    return REQUEST_SECONDS + TRANSFER_SECONDS_PER_MIB * size_bytes / (1024 * 1024)


class DatabaseUnavailableError(StoreUnavailableError):
    """The database server cannot be reached (down, restarting, refusing connections, or not answering). Callers
    may retry; the message names `HOMILY_DATABASE_URL` but never the credentials in it."""


class StalledError(DatabaseUnavailableError):
    """The database server did not answer within the work's budget; the connection was abandoned. Retryable."""


def sever(connection: psycopg.BaseConnection[Any]) -> None:
    """Shut the connection's socket down in both directions, waking whoever waits on it with a connection error."""
    try:
        descriptor = connection.pgconn.socket
    except psycopg.OperationalError:  # already closed
        return
    try:
        with socket.socket(fileno=os.dup(descriptor)) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:  # the peer already closed it: nothing left to wake
        pass


class Deadline:
    """One use's deadline: severs `connection` when it fires while armed. `severed` says whether it fired; an owner
    that sees it closes the connection instead of reusing it. Fired and disarmed by its `Watchdog` (under the
    watchdog's lock) for a blocking connection, on the event loop for an async one."""

    __slots__ = ("armed", "connection", "seconds", "severed")

    def __init__(self, connection: psycopg.BaseConnection[Any], seconds: float | None) -> None:
        self.connection = connection
        self.seconds = seconds
        self.armed = seconds is not None
        self.severed = False

    def fire(self) -> bool:
        """Sever the connection unless disarmed first; whether it did."""
        if not self.armed:
            return False
        self.armed = False
        self.severed = True
        sever(self.connection)
        return True

    def stalled(self, database: str) -> StalledError:
        return StalledError(
            f"the PostgreSQL server at {database} (HOMILY_DATABASE_URL) did not answer within {self.seconds:g} s"
        )


def _log_fired(deadline: Deadline) -> None:
    log.warning(
        "PostgreSQL did not answer within %s s: connection abandoned",
        deadline.seconds,
        extra={"budget": deadline.seconds},
    )


class Watchdog:
    """The deadlines of one blocking pool's uses, enforced by a single daemon thread that sleeps until the earliest.

    A use arms a `Deadline` (a push onto a heap under a lock) and disarms it when its work ends (a flag: the entry
    stays until it reaches the top or the heap is compacted), so a use costs microseconds and no thread of its own;
    the thread wakes when the earliest armed deadline is due or an earlier one arrives, not once per use. It starts
    with the first armed use; `close()` (after the pool's) stops it and drops pending deadlines, and a later use
    starts it again. Thread-safe."""

    _COMPACT_AT = 64
    """Disarmed entries kept before the heap is rebuilt without them (when they are also at least half of it)."""

    def __init__(self, name: str = "postgres") -> None:
        self._name = f"homily-watchdog-{name}"
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._sequence = itertools.count()
        self._disarmed = 0
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is alive (it starts with the first armed use and ends with `close()`)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def pending(self) -> int:
        """Entries on the heap: armed deadlines and disarmed ones not yet dropped (bounded by compaction)."""
        with self._lock:
            return len(self._heap)

    def arm(self, connection: psycopg.BaseConnection[Any], seconds: float | None) -> Deadline:
        """A deadline that severs `connection` `seconds` from now unless disarmed first (None: never)."""
        deadline = Deadline(connection, seconds)
        if seconds is None:
            return deadline
        entry = (time.monotonic() + seconds, next(self._sequence), deadline)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, entry)
            if self._heap[0] is entry:  # earlier than the thread's wake-up: wake it to sleep less
                self._lock.notify()
        return deadline

    def disarm(self, deadline: Deadline) -> None:
        """`deadline` no longer fires; once this returns, a deadline that fired has already severed."""
        with self._lock:
            if not deadline.armed:
                return
            deadline.armed = False
            self._disarmed += 1
            if self._disarmed >= self._COMPACT_AT and 2 * self._disarmed >= len(self._heap):
                self._heap = [entry for entry in self._heap if entry[2].armed]
                heapq.heapify(self._heap)
                self._disarmed = 0

    def close(self) -> None:
        """Stop the thread (and wait for it); pending deadlines are dropped."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._heap.clear()
            self._disarmed = 0
            self._lock.notify()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        me = threading.current_thread()
        while True:
            with self._lock:
                if self._thread is not me:
                    return
                fired = self._fire_due(time.monotonic())
                if not fired:
                    self._lock.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
            for deadline in fired:  # logged outside the lock: handlers may be slow
                _log_fired(deadline)

    def _fire_due(self, now: float) -> list[Deadline]:
        """Pop every entry that is disarmed or due (called with the lock held); the deadlines that fired."""
        fired: list[Deadline] = []
        while self._heap and (not self._heap[0][2].armed or self._heap[0][0] <= now):
            _, _, deadline = heapq.heappop(self._heap)
            if deadline.fire():
                fired.append(deadline)
            else:
                self._disarmed -= 1
        return fired

    @contextmanager
    def watched(self, connection: psycopg.Connection[Any], seconds: float | None, database: str) -> Iterator[None]:
        """Run the block's work on a blocking `connection` within `seconds`; `StalledError` when it did not finish
        (the connection is closed, so its pool replaces it)."""
        deadline = self.arm(connection, seconds)
        try:
            yield
        except psycopg.OperationalError as exc:
            if deadline.severed:
                raise deadline.stalled(database) from exc
            raise
        finally:
            self.disarm(deadline)
            if deadline.severed:
                connection.close()

    def check_connection(self, connection: psycopg.Connection[Any]) -> None:
        """A sync pool's `check`: the connection answers an empty query within `CHECK_SECONDS`, or is discarded."""
        with self.watched(connection, CHECK_SECONDS, "the pool"):
            connection.execute("")

    def configure_session(self, connection: psycopg.Connection[Any]) -> None:
        """Apply `SESSION_SETTINGS` to a new blocking connection (within `CHECK_SECONDS`)."""
        with self.watched(connection, CHECK_SECONDS, "the pool"):
            connection.execute(_SET_SESSION, _SESSION_PARAMETERS)


@asynccontextmanager
async def watched_async(
    connection: psycopg.AsyncConnection[Any], seconds: float | None, database: str
) -> AsyncIterator[None]:
    """`Watchdog.watched` for an async connection: the running event loop fires the deadline (`call_later`, a heap
    entry of the loop's own; no thread, no lock: it cannot run while the owner does)."""
    deadline = Deadline(connection, seconds)
    timer = None if seconds is None else asyncio.get_running_loop().call_later(seconds, _fire_and_log, deadline)
    try:
        yield
    except psycopg.OperationalError as exc:
        if deadline.severed:
            raise deadline.stalled(database) from exc
        raise
    finally:
        deadline.armed = False
        if timer is not None:
            timer.cancel()
        if deadline.severed:
            await connection.close()


def _fire_and_log(deadline: Deadline) -> None:
    if deadline.fire():
        _log_fired(deadline)


async def check_connection_async(connection: psycopg.AsyncConnection[Any]) -> None:
    """An async pool's `check`: the connection answers an empty query within `CHECK_SECONDS`, or is discarded."""
    async with watched_async(connection, CHECK_SECONDS, "the pool"):
        await connection.execute("")


async def configure_session_async(connection: psycopg.AsyncConnection[Any]) -> None:
    """Apply `SESSION_SETTINGS` to a new async connection (within `CHECK_SECONDS`)."""
    async with watched_async(connection, CHECK_SECONDS, "the pool"):
        await connection.execute(_SET_SESSION, _SESSION_PARAMETERS)
