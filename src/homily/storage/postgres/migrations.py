"""Versioned schema migrations for the PostgreSQL backend, recorded in a `schema_migrations` table.

To change the schema, append a `Migration` with the next version number to `MIGRATIONS`; never edit one that has
shipped. Invariants:
- Each migration runs in one transaction together with its `schema_migrations` row, so a failure leaves the
  database exactly at the previous version (PostgreSQL DDL is transactional).
- Every transaction that reads or changes the version first takes `pg_advisory_xact_lock(MIGRATION_LOCK)`, so any
  number of replicas starting at once against an empty database apply each migration exactly once; the others
  wait, re-read the version and find nothing left to do.
- The schema mirrors SQLite's (same tables, columns and meaning) except for what the scale-out needs: `text[]`
  allow-lists and tags, `bytea` content, the ingestion lease columns on `items`, and the `secrets` table. The
  `chunks` table is not created here (the PostgreSQL chunk index owns it and creates it itself).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from psycopg import AsyncConnection

from homily.storage.postgres.pool import PostgresPool
from homily.storage.sqlite.migrations import Migration, SchemaVersionError, check_migrations

log = logging.getLogger("homily.storage.postgres")

MIGRATION_LOCK = 0x486F6D696C79  # "Homily": the advisory lock every migrating transaction holds
"""Key of the transaction-scoped advisory lock around migrations (a constant shared by every replica)."""

_CREATE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    description text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""

_V1_ORGANISATIONS_CREDENTIALS_PUBLISHERS = """
CREATE TABLE organisations (
    org_id         text PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    created_at     double precision NOT NULL,
    -- The model ids the organisation may use, in order; NULL means every model in the catalog.
    allowed_models text[]
);

CREATE TABLE credentials (
    client_id   text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES organisations (org_id) ON DELETE CASCADE,
    name        text NOT NULL,
    secret_hash text NOT NULL,
    created_at  double precision NOT NULL,
    disabled    boolean NOT NULL DEFAULT false
);
CREATE INDEX credentials_org_id ON credentials (org_id);

CREATE TABLE publishers (
    publisher_id text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES organisations (org_id) ON DELETE CASCADE,
    name         text NOT NULL,
    shared       boolean NOT NULL DEFAULT false,
    created_at   double precision NOT NULL,
    UNIQUE (org_id, name)
);
-- A shared publisher is addressed by name from every organisation, so its name must be unambiguous.
CREATE UNIQUE INDEX publishers_shared_name ON publishers (name) WHERE shared;
"""

_V2_ITEMS = """
CREATE TABLE items (
    item_id          text PRIMARY KEY,
    publisher_id     text NOT NULL REFERENCES publishers (publisher_id) ON DELETE CASCADE,
    org_id           text NOT NULL,
    filename         text NOT NULL,
    producer_id      text,
    title            text,
    subtitle         text,
    summary          text,
    url              text,
    tags             text[] NOT NULL DEFAULT '{}',
    author           text,
    publication_date text,
    tradition        text,
    evergreen        boolean,
    type             text NOT NULL,
    content_hash     text NOT NULL,
    size_bytes       bigint NOT NULL,
    status           text NOT NULL,
    failure_reason   text,
    generation       integer NOT NULL DEFAULT 1,
    attempts         integer NOT NULL DEFAULT 0,
    chunk_count      integer NOT NULL DEFAULT 0,
    priority         integer NOT NULL DEFAULT 0,
    created_at       double precision NOT NULL,
    updated_at       double precision NOT NULL,
    -- The ingestion lease: which store instance (one per replica) works on the item, and until when (the
    -- database's clock). Another replica takes the item over only once the lease has run out.
    lease_owner      text,
    lease_until      timestamptz
);
-- Identical content is stored once per publisher: the unique index makes concurrent duplicate uploads safe.
CREATE UNIQUE INDEX items_publisher_content ON items (publisher_id, content_hash);
CREATE INDEX items_publisher_created ON items (publisher_id, created_at);
CREATE INDEX items_producer ON items (publisher_id, producer_id) WHERE producer_id IS NOT NULL;
CREATE INDEX items_unfinished ON items (priority DESC, created_at)
    WHERE status IN ('QUEUED', 'CHUNKING', 'EMBEDDING');
CREATE INDEX items_lease_owner ON items (lease_owner) WHERE lease_owner IS NOT NULL;

-- The uploaded bytes, written in the same transaction as the item row (before the 2xx), so any replica can
-- always re-run ingestion from them.
CREATE TABLE item_contents (
    item_id text PRIMARY KEY REFERENCES items (item_id) ON DELETE CASCADE,
    data    bytea NOT NULL
);
"""

_V3_SECRETS = """
-- Secrets every replica must agree on (the token signing key), created once by whichever replica starts first.
CREATE TABLE secrets (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "organisations, credentials, publishers", _V1_ORGANISATIONS_CREDENTIALS_PUBLISHERS),
    Migration(2, "items with their raw content and ingestion leases", _V2_ITEMS),
    Migration(3, "secrets shared by replicas", _V3_SECRETS),
)
"""Every schema version in order. Append new versions here."""


async def schema_version(connection: AsyncConnection[tuple[object, ...]]) -> int:
    """The highest applied version (0 for an empty database). Takes no lock."""
    await connection.execute(_CREATE_SCHEMA_MIGRATIONS)
    cursor = await connection.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
    row = await cursor.fetchone()
    version = 0 if row is None else row[0]
    if not isinstance(version, int):
        raise TypeError(f"unexpected schema version {version!r}")
    return version


async def apply_migrations(
    connection: AsyncConnection[tuple[object, ...]], migrations: Sequence[Migration] = MIGRATIONS
) -> int:
    """Bring the database up to the last migration; returns the resulting version.

    `connection` must be in autocommit mode so each migration gets its own explicit transaction. Raises
    `SchemaVersionError` for a database written by a newer Homily.
    """
    check_migrations(migrations)
    latest = len(migrations)
    while True:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            current = await schema_version(connection)  # read under the lock
            if current > latest:
                raise SchemaVersionError(
                    f"the database schema is version {current} but this Homily knows only up to {latest}; "
                    "upgrade Homily (downgrading a database is not supported)"
                )
            if current == latest:
                return current
            migration = migrations[current]
            await connection.execute(migration.script)
            await connection.execute(
                "INSERT INTO schema_migrations (version, description) VALUES (%s, %s)",
                (migration.version, migration.description),
            )
        log.info("applied schema migration", extra={"version": migration.version, "description": migration.description})


async def open_migrated(pool: PostgresPool, migrations: Sequence[Migration]) -> int:
    """Open `pool` and bring its database to the last of `migrations` (the pool is closed again on failure);
    returns the schema version."""
    await pool.open()
    try:
        async with pool.connection(budget=None) as connection:  # a migration may build an index: no deadline
            return await apply_migrations(connection, migrations)
    except BaseException:
        await pool.close()
        raise
