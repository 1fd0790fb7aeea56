"""Versioned schema migrations for the SQLite store, tracked with `PRAGMA user_version`.

To change the schema, append a `Migration` with the next version number to `MIGRATIONS`; never edit one that
has shipped. Each migration runs in one transaction together with the `user_version` bump, so a failure leaves
the database exactly at the previous version. The SQL is kept to the subset PostgreSQL shares (TEXT, REAL,
INTEGER, foreign keys, plain and partial indexes) so the later PostgreSQL backend can mirror it closely.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from homily.grounding.schema import CHANGE_LOG_SCHEMA, CHUNK_SCHEMA

log = logging.getLogger("homily.storage.sqlite")


def chunk_schema_script(statements: Sequence[str] = CHUNK_SCHEMA) -> str:
    """`CHUNK_SCHEMA` or another statement list of `homily.grounding.schema` as one migration script."""
    return "\n".join(statement.strip() + ";" for statement in statements) + "\n"


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step. `version` values are 1, 2, 3... in order; `script` is one or more SQL statements."""

    version: int
    description: str
    script: str


class SchemaVersionError(RuntimeError):
    """The database was written by a newer Homily (its schema version is above every known migration)."""


_V1_ORGANISATIONS_CREDENTIALS_PUBLISHERS = """
CREATE TABLE organisations (
    org_id      TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  REAL NOT NULL
);

CREATE TABLE credentials (
    client_id   TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organisations (org_id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  REAL NOT NULL,
    disabled    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX credentials_org_id ON credentials (org_id);

CREATE TABLE publishers (
    publisher_id TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organisations (org_id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    shared       INTEGER NOT NULL DEFAULT 0,
    created_at   REAL NOT NULL,
    UNIQUE (org_id, name)
);
-- A shared publisher is addressed by name from every organisation, so its name must be unambiguous.
CREATE UNIQUE INDEX publishers_shared_name ON publishers (name) WHERE shared = 1;
"""

_V2_ITEMS = """
CREATE TABLE items (
    item_id          TEXT PRIMARY KEY,
    publisher_id     TEXT NOT NULL REFERENCES publishers (publisher_id) ON DELETE CASCADE,
    org_id           TEXT NOT NULL,
    filename         TEXT NOT NULL,
    producer_id      TEXT,
    title            TEXT,
    subtitle         TEXT,
    summary          TEXT,
    url              TEXT,
    tags             TEXT NOT NULL DEFAULT '[]',
    author           TEXT,
    publication_date TEXT,
    tradition        TEXT,
    evergreen        INTEGER,
    type             TEXT NOT NULL,
    content_hash     TEXT NOT NULL,
    size_bytes       INTEGER NOT NULL,
    status           TEXT NOT NULL,
    failure_reason   TEXT,
    generation       INTEGER NOT NULL DEFAULT 1,
    attempts         INTEGER NOT NULL DEFAULT 0,
    chunk_count      INTEGER NOT NULL DEFAULT 0,
    priority         INTEGER NOT NULL DEFAULT 0,
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL
);
-- Identical content is stored once per publisher: the unique index makes concurrent duplicate uploads safe.
CREATE UNIQUE INDEX items_publisher_content ON items (publisher_id, content_hash);
CREATE INDEX items_publisher_created ON items (publisher_id, created_at);
CREATE INDEX items_producer ON items (publisher_id, producer_id) WHERE producer_id IS NOT NULL;
CREATE INDEX items_unfinished ON items (priority DESC, created_at)
    WHERE status IN ('QUEUED', 'CHUNKING', 'EMBEDDING');

-- The uploaded bytes, written in the same transaction as the item row (before the 2xx), so a restart can
-- always re-run ingestion from them.
CREATE TABLE item_contents (
    item_id TEXT PRIMARY KEY REFERENCES items (item_id) ON DELETE CASCADE,
    data    BLOB NOT NULL
);
"""

_V3_EMBEDDING_SPACE = """
-- Which model produced the stored chunk vectors (one row). A database written before this table existed could
-- only hold all-MiniLM-L6-v2 vectors.
CREATE TABLE embedding_space (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    model     TEXT NOT NULL,
    dimension INTEGER NOT NULL
);
INSERT INTO embedding_space (id, model, dimension)
    SELECT 1, 'all-MiniLM-L6-v2', 384 WHERE EXISTS (SELECT 1 FROM chunks WHERE vector IS NOT NULL);
"""

_V4_ORGANISATION_MODEL_ALLOW_LISTS = """
-- The model ids an organisation may use, as a JSON array of strings; NULL (every existing row) means every model.
ALTER TABLE organisations ADD COLUMN allowed_models TEXT;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "organisations, credentials, publishers", _V1_ORGANISATIONS_CREDENTIALS_PUBLISHERS),
    Migration(2, "items, item contents, chunks with their FTS5 index", _V2_ITEMS + chunk_schema_script()),
    Migration(3, "the embedding space of the stored chunk vectors", _V3_EMBEDDING_SPACE),
    Migration(4, "per-organisation model allow-lists", _V4_ORGANISATION_MODEL_ALLOW_LISTS),
    Migration(5, "the chunk change log other processes' dense indexes follow", chunk_schema_script(CHANGE_LOG_SCHEMA)),
)
"""Every schema version in order. Append new versions here."""


def check_migrations(migrations: Sequence[Migration]) -> None:
    """Versions must be exactly 1..N in order, so `user_version` always names a unique prefix of the list."""
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise ValueError(
                f"migration versions must be consecutive from 1: found {migration.version} at position {expected}"
            )


def schema_version(connection: sqlite3.Connection) -> int:
    row = connection.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def apply_migrations(connection: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database up to the last migration; returns the resulting version.

    The connection must be in autocommit mode (`isolation_level=None`) so the explicit BEGIN/COMMIT here are
    the only transaction boundaries. `BEGIN IMMEDIATE` takes the write lock before reading the version, so two
    processes opening the same new data directory cannot both apply the same migration.
    """
    check_migrations(migrations)
    latest = len(migrations)
    current = schema_version(connection)
    if current > latest:
        raise SchemaVersionError(
            f"the database schema is version {current} but this Homily knows only up to {latest}; "
            "upgrade Homily (downgrading a data directory is not supported)"
        )
    while current < latest:
        connection.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(connection)  # re-read under the write lock
            if current >= latest:
                connection.execute("COMMIT")
                break
            migration = migrations[current]
            _run_script(connection, migration.script)
            connection.execute(f"PRAGMA user_version = {int(migration.version)}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        log.info(
            "applied schema migration",
            extra={"version": migration.version, "description": migration.description},
        )
        current = migration.version
    return current


def _run_script(connection: sqlite3.Connection, script: str) -> None:
    """Execute each statement of `script` inside the caller's transaction.

    `Connection.executescript` would COMMIT the open transaction first, so statements are split with
    `sqlite3.complete_statement`, which understands quoting and comments.
    """
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            if statement and not _is_only_comments(statement):
                connection.execute(statement)
            pending = ""
    if pending.strip() and not _is_only_comments(pending.strip()):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {pending.strip()[:80]!r}")


def _is_only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())
