"""Connection pools for the PostgreSQL backend, and the mapping of driver failures to store errors.

Every PostgreSQL store owns one `psycopg_pool.AsyncConnectionPool` of autocommit connections: a single statement
is its own transaction, and a write of several statements opens `connection.transaction()` explicitly. Pools are
opened and closed on the event loop that uses them (never in a constructor), and a connection is checked before it
is handed out, so a database restart costs a reconnect rather than an error per stale connection. Every use of a
connection, and every check, has a deadline (`homily.storage.postgres.deadline`), so a server that stalls without
closing its connections costs a request a few seconds, not the length of the stall.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from homily.storage.base import AlreadyExistsError, ReferenceNotFoundError, StoreError
from homily.storage.postgres.deadline import (
    KEEPALIVES,
    REQUEST_SECONDS,
    DatabaseUnavailableError,
    check_connection_async,
    configure_session_async,
    watched_async,
)
from homily.storage.postgres.text import nul_free_text_async

log = logging.getLogger("homily.storage.postgres")

CONNECT_TIMEOUT_SECONDS = 5
"""libpq's `connect_timeout` for every new connection: an unreachable server fails fast instead of hanging."""

CHECKOUT_TIMEOUT_SECONDS = 5.0
"""How long a query waits for a pooled connection before the database counts as unavailable."""

PING_TIMEOUT_SECONDS = 2.0

RECONNECT_SECONDS = 2.0
"""psycopg_pool's `reconnect_timeout`: how long one attempt to replace a lost connection keeps retrying. The pool
retries with doubling delays (about 1, 3, 7, 15, 31 ... s after the loss) and, while those attempts wait, starts no
other; with its default (five minutes) a pool went on refusing requests for about as long as the outage had lasted
after the server was back. Given up quickly, the slot is freed and the next request starts a fresh attempt at once,
so a pool is back within a couple of seconds of its server."""

Row = tuple[Any, ...]
Connection = psycopg.AsyncConnection[Row]
Params = Sequence[object] | Mapping[str, object]


def describe_url(url: str) -> str:
    """`host:port/database` of a libpq URL, for messages and logs (no user name or password)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: say so rather than fail while reporting another error
        port = ":<invalid port>"
    return f"{parts.hostname or 'localhost'}{port}{parts.path or '/'}"


class PostgresPool:
    """One `AsyncConnectionPool` with the store conventions above. Invariant: `connection()` yields an autocommit
    connection or raises `DatabaseUnavailableError`; it raises `StoreError` when the pool is not open."""

    def __init__(self, url: str, *, name: str, max_size: int = 10) -> None:
        self.url = url
        self._name = name
        self._max_size = max_size
        self._pool: AsyncConnectionPool[Connection] | None = None

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    async def open(self) -> None:
        """Open the pool with its first connection; `DatabaseUnavailableError` at once when the server refuses."""
        if self._pool is not None:
            return
        try:  # one direct attempt first: a refused or misconfigured connection fails now, with libpq's reason
            probe = await psycopg.AsyncConnection.connect(
                self.url, connect_timeout=CONNECT_TIMEOUT_SECONDS, **KEEPALIVES
            )
        except psycopg.OperationalError as exc:
            raise unavailable(self.url, exc) from exc
        await probe.close()
        pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=self._max_size,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS, **KEEPALIVES},
            check=check_connection_async,
            configure=_configure,
            timeout=CHECKOUT_TIMEOUT_SECONDS,
            reconnect_timeout=RECONNECT_SECONDS,
            name=f"homily-{self._name}",
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS + 1)
        except PoolTimeout as exc:
            await pool.close()
            raise unavailable(self.url) from exc
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @asynccontextmanager
    async def connection(
        self, wait_seconds: float | None = None, *, budget: float | None = REQUEST_SECONDS
    ) -> AsyncIterator[Connection]:
        """A pooled connection, waited for up to `wait_seconds` (default `CHECKOUT_TIMEOUT_SECONDS`), whose work
        in the block must end within `budget` seconds (None: no deadline; see `deadline` for the budgets)."""
        pool = self._pool
        if pool is None:
            raise StoreError(f"the {self._name} store is not open; call `await store.open()` first")
        with driver_errors(self.url):
            async with (
                pool.connection(timeout=wait_seconds) as connection,
                watched_async(connection, budget, describe_url(self.url)),
            ):
                yield connection

    async def fetch_one(self, sql: str, params: Params = (), *, budget: float = REQUEST_SECONDS) -> Row | None:
        async with self.connection(budget=budget) as connection:
            cursor = await connection.execute(sql, params)
            return await cursor.fetchone()

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        async with self.connection() as connection:
            cursor = await connection.execute(sql, params)
            return await cursor.fetchall()

    async def changes(self, sql: str, params: Params = ()) -> int:
        """Run one write statement; the number of rows it touched."""
        async with self.connection() as connection:
            cursor = await connection.execute(sql, params)
            return cursor.rowcount

    async def ping(self) -> bool:
        """True when the server answers `SELECT 1` within a couple of seconds; never raises for a lost server."""
        if self._pool is None:
            return False
        try:
            async with self.connection(PING_TIMEOUT_SECONDS, budget=PING_TIMEOUT_SECONDS) as connection:
                cursor = await connection.execute("SELECT 1")
                return await cursor.fetchone() == (1,)
        except StoreError:
            log.warning("postgres ping failed", extra={"database": describe_url(self.url)})
            return False


async def _configure(connection: Connection) -> None:
    await nul_free_text_async(connection)
    await configure_session_async(connection)


def unavailable(url: str, cause: Exception | None = None) -> DatabaseUnavailableError:
    """The error for a server that cannot be reached; libpq's reason (which never holds the password) when known."""
    lines = str(cause).strip().splitlines() if cause is not None else []
    reason = f": {lines[0].strip()}" if lines else f" within {CONNECT_TIMEOUT_SECONDS} s"
    return DatabaseUnavailableError(f"HOMILY_DATABASE_URL: cannot connect to PostgreSQL at {describe_url(url)}{reason}")


@contextmanager
def driver_errors(url: str) -> Iterator[None]:
    """Map a lost or unreachable server (and a pool that found no connection in time) to
    `DatabaseUnavailableError`; other driver errors pass through."""
    try:
        yield
    except PoolTimeout as exc:
        raise unavailable(url) from exc
    except psycopg.OperationalError as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DatabaseUnavailableError(
            f"the PostgreSQL server at {describe_url(url)} (HOMILY_DATABASE_URL) failed: {reason}"
        ) from exc


@contextmanager
def constraint_errors(duplicate_message: str, missing_reference_message: str) -> Iterator[None]:
    """Translate unique and foreign-key violations into the backend-neutral store errors."""
    try:
        yield
    except pg_errors.UniqueViolation as exc:
        raise AlreadyExistsError(duplicate_message) from exc
    except pg_errors.ForeignKeyViolation as exc:
        raise ReferenceNotFoundError(missing_reference_message or str(exc)) from exc
    except pg_errors.IntegrityError as exc:
        raise StoreError(f"constraint violated: {exc}") from exc
