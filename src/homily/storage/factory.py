"""Choose and open the `Store` backend named by the settings."""

from __future__ import annotations

from homily.settings import Settings
from homily.storage.base import Store
from homily.storage.sqlite import SqliteStore


async def open_store(settings: Settings) -> Store:
    """The opened (created or migrated) store for `HOMILY_DATABASE_URL`; SQLite in the data dir by default.

    Raises `ValueError` naming the setting when the URL is not one this build can serve.
    """
    url = settings.database_url
    if url and not url.startswith("sqlite:///"):
        scheme = url.split(":", 1)[0] if ":" in url else url[:20]
        if scheme in {"postgresql", "postgres"}:
            raise ValueError(
                "HOMILY_DATABASE_URL: the PostgreSQL backend is not available in this version of Homily; "
                "unset HOMILY_DATABASE_URL to use the embedded SQLite database in HOMILY_DATA_DIR"
            )
        raise ValueError(
            f"HOMILY_DATABASE_URL: unsupported scheme {scheme!r}; use sqlite:///<path> "
            "(or leave it unset for <HOMILY_DATA_DIR>/homily.db)"
        )
    store = SqliteStore(settings.sqlite_path)
    await store.open()
    return store
