"""Choose and open the `Store` and `ContentStore` backends named by the settings.

`HOMILY_DATABASE_URL` unset or `sqlite:///<path>`: the embedded SQLite database (one process).
`postgresql://...` or `postgres://...`: PostgreSQL, shared by any number of replicas. The PostgreSQL package (and
psycopg) is imported only for such a URL, so the embedded default never needs a database server or its driver.
"""

from __future__ import annotations

from typing import Protocol

from homily.settings import Settings
from homily.storage.base import Store
from homily.storage.content import ContentStore
from homily.storage.sqlite import SqliteStore
from homily.storage.sqlite.content import SqliteContentStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class ClosableContentStore(ContentStore, Protocol):
    """A `ContentStore` its opener must close (what `open_content_store` returns)."""

    async def close(self) -> None: ...


def database_backend(settings: Settings) -> str:
    """ "sqlite" or "postgres" for `HOMILY_DATABASE_URL`.

    Raises `ValueError` naming the setting (never echoing the URL, which may hold a password) for other schemes.
    """
    url = settings.database_url
    if not url or url.startswith("sqlite:///"):
        return "sqlite"
    if url.startswith(POSTGRES_SCHEMES):
        return "postgres"
    scheme = url.split(":", 1)[0] if ":" in url else url[:20]
    raise ValueError(
        f"HOMILY_DATABASE_URL: unsupported scheme {scheme!r}; use postgresql://user:password@host:port/database, "
        "sqlite:///<path> (or leave it unset for <HOMILY_DATA_DIR>/homily.db)"
    )


async def open_store(settings: Settings) -> Store:
    """The opened (created or migrated) store for `HOMILY_DATABASE_URL`; SQLite in the data dir by default.

    Raises `ValueError` naming the setting when the URL is not one this build can serve, and
    `DatabaseUnavailableError` (a `StoreError`) when the PostgreSQL server cannot be reached.
    """
    store: Store
    if database_backend(settings) == "postgres":
        from homily.storage.postgres import PostgresStore

        assert settings.database_url is not None
        store = PostgresStore(settings.database_url)
    else:
        store = SqliteStore(settings.sqlite_path)
    await store.open()
    return store


async def open_content_store(settings: Settings) -> ClosableContentStore:
    """The opened `ContentStore` on the same database as `open_store` (same URL rules and errors); the caller
    closes it."""
    if database_backend(settings) == "postgres":
        from homily.storage.postgres import PostgresContentStore

        assert settings.database_url is not None
        postgres = PostgresContentStore(settings.database_url)
        await postgres.open()
        return postgres
    sqlite = SqliteContentStore(settings.sqlite_path)
    await sqlite.open()
    return sqlite
