"""One SQLite connection on one dedicated thread: the event loop never blocks on the database."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from homily.storage.base import StoreError
from homily.storage.sqlite.migrations import MIGRATIONS, Migration, apply_migrations

ResultT = TypeVar("ResultT")
BUSY_TIMEOUT_SECONDS = 10.0  # several connections (store, content, chunk index) share one file


class SqliteWorker:
    """Invariant: the connection is created, used and closed only on this worker's single thread, in autocommit
    mode (multi-statement writes open an explicit transaction); WAL, synchronous=NORMAL and foreign keys are on,
    and the schema is migrated to the latest version before the first use."""

    def __init__(self, path: Path, name: str, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        self.path = path
        self._name = name
        self._migrations = tuple(migrations)
        self._executor: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None
        self.schema_version = 0

    @property
    def is_open(self) -> bool:
        return self._executor is not None

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"homily-{self._name}")
        loop = asyncio.get_running_loop()
        try:
            self._connection = await loop.run_in_executor(self._executor, self._connect)
        except BaseException:
            executor, self._executor = self._executor, None
            executor.shutdown(wait=False)
            raise

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
            self.schema_version = apply_migrations(connection, self._migrations)
        except BaseException:
            connection.close()
            raise
        return connection

    async def close(self) -> None:
        executor, connection = self._executor, self._connection
        self._executor, self._connection = None, None
        if executor is None:
            return
        loop = asyncio.get_running_loop()
        try:
            if connection is not None:
                await loop.run_in_executor(executor, connection.close)
        finally:
            executor.shutdown(wait=False)

    async def run(self, work: Callable[[sqlite3.Connection], ResultT]) -> ResultT:
        executor, connection = self._executor, self._connection
        if executor is None or connection is None:
            raise StoreError(f"the {self._name} store is not open; call `await store.open()` first")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, work, connection)
