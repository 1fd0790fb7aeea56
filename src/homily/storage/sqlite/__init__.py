"""Embedded SQLite backend of the `Store` protocol."""

from homily.storage.sqlite.migrations import MIGRATIONS, Migration, SchemaVersionError
from homily.storage.sqlite.store import SqliteStore

__all__ = ["MIGRATIONS", "Migration", "SchemaVersionError", "SqliteStore"]
