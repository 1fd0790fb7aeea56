"""Deadlines on database work, so that a stalled PostgreSQL cannot hold a request for as long as it stalls.

A server that stops without closing its connections (a frozen process, a network partition that drops packets)
answers nothing and refuses nothing: the driver waits for the reply, the pool's health check on checkout waits for
its reply, and TCP keeps the socket open (a frozen server's kernel even acknowledges every byte). So every piece
of database work runs under a `Watchdog`: when its budget runs out before the work is done, the watchdog shuts the
connection's socket down. The driver's wait then ends at once with a connection error (no cancel request, which a
stalled server would not answer either), the caller gets `DatabaseUnavailableError`, and the connection is closed
rather than put back: a connection abandoned in the middle of the protocol is never reused.

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
import logging
import os
import socket
import threading
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


class Watchdog:
    """Severs `connection` unless `disarm()` comes first, `seconds` after `arm` (None: never). `severed` says
    whether it fired; an owner that sees it closes the connection instead of reusing it."""

    def __init__(self, connection: psycopg.BaseConnection[Any], seconds: float | None) -> None:
        self.connection = connection
        self.seconds = seconds
        self.severed = False
        self._lock = threading.Lock()
        self._armed = False
        self._timer: threading.Timer | asyncio.TimerHandle | None = None

    def arm_in_thread(self) -> None:
        """For a blocking connection (the caller's thread waits on it): a timer thread fires."""
        if self.seconds is not None:
            self._armed = True
            timer = threading.Timer(self.seconds, self._fire)
            timer.daemon = True
            timer.start()
            self._timer = timer

    def arm_on_loop(self) -> None:
        """For an async connection: the running event loop fires (no thread, no race with the owner)."""
        if self.seconds is not None:
            self._armed = True
            self._timer = asyncio.get_running_loop().call_later(self.seconds, self._fire)

    def disarm(self) -> None:
        with self._lock:
            self._armed = False
        if self._timer is not None:
            self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            if not self._armed:
                return
            self.severed = True
            sever(self.connection)
        log.warning(
            "PostgreSQL did not answer within %s s: connection abandoned", self.seconds, extra={"budget": self.seconds}
        )

    def stalled(self, database: str) -> StalledError:
        return StalledError(
            f"the PostgreSQL server at {database} (HOMILY_DATABASE_URL) did not answer within {self.seconds:g} s"
        )


@contextmanager
def watched(connection: psycopg.Connection[Any], seconds: float | None, database: str) -> Iterator[None]:
    """Run the block's work on a blocking `connection` within `seconds`; `StalledError` when it did not finish
    (the connection is closed, so its pool replaces it)."""
    watchdog = Watchdog(connection, seconds)
    watchdog.arm_in_thread()
    try:
        yield
    except psycopg.OperationalError as exc:
        if watchdog.severed:
            raise watchdog.stalled(database) from exc
        raise
    finally:
        watchdog.disarm()
        if watchdog.severed:
            connection.close()


@asynccontextmanager
async def watched_async(
    connection: psycopg.AsyncConnection[Any], seconds: float | None, database: str
) -> AsyncIterator[None]:
    """`watched` for an async connection."""
    watchdog = Watchdog(connection, seconds)
    watchdog.arm_on_loop()
    try:
        yield
    except psycopg.OperationalError as exc:
        if watchdog.severed:
            raise watchdog.stalled(database) from exc
        raise
    finally:
        watchdog.disarm()
        if watchdog.severed:
            await connection.close()


def check_connection(connection: psycopg.Connection[Any]) -> None:
    """A sync pool's `check`: the connection answers an empty query within `CHECK_SECONDS`, or is discarded."""
    with watched(connection, CHECK_SECONDS, "the pool"):
        connection.execute("")


async def check_connection_async(connection: psycopg.AsyncConnection[Any]) -> None:
    """An async pool's `check`: the connection answers an empty query within `CHECK_SECONDS`, or is discarded."""
    async with watched_async(connection, CHECK_SECONDS, "the pool"):
        await connection.execute("")


def configure_session(connection: psycopg.Connection[Any]) -> None:
    """Apply `SESSION_SETTINGS` to a new blocking connection (within `CHECK_SECONDS`)."""
    with watched(connection, CHECK_SECONDS, "the pool"):
        connection.execute(_SET_SESSION, _SESSION_PARAMETERS)


async def configure_session_async(connection: psycopg.AsyncConnection[Any]) -> None:
    """Apply `SESSION_SETTINGS` to a new async connection (within `CHECK_SECONDS`)."""
    async with watched_async(connection, CHECK_SECONDS, "the pool"):
        await connection.execute(_SET_SESSION, _SESSION_PARAMETERS)
