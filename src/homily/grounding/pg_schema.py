"""DDL of the PostgreSQL chunks table (tsvector + pgvector) and its versioned, advisory-locked migrations.

Same columns as SQLite's `CHUNK_SCHEMA` (`homily.grounding.schema`), except: `embedding vector(N)` replaces the
float32 BLOB `vector`; `document` is a generated `tsvector` (title weight A, heading B, text D, English stemming)
with a GIN index, so keyword search needs no triggers; `written_at` lets start-up orphan cleanup spare chunks a
replica is writing right now (chunks are written before their item row). `scope` is kept for parity (keyword
search is scoped by `publisher_id` in the WHERE clause). `embedding_space` records the model and dimension the
stored vectors belong to (see `homily.content.pg_chunks.adopt_pg_embedding_space`).

Invariant: migrations run under `pg_advisory_xact_lock(CHUNK_INDEX_LOCK)` inside one transaction, recorded in
`chunk_index_migrations` (its own table, so the store's `schema_migrations` is never touched), so replicas
starting together apply each exactly once. psycopg is imported by the callers, lazily.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from homily.grounding.embedder import FloatMatrix
from homily.storage.base import StoreError

CHUNK_INDEX_LOCK = 0x686F6D696C79_01
"""Advisory lock key of the chunk index's migrations and embedding-space changes ("homily" + 1)."""

TEXT_SEARCH_CONFIG = "english"
"""Stemming and stopwords of the keyword index (as the SQLite index's porter tokenizer)."""

HNSW_INDEX = "chunks_embedding_hnsw"
CREATE_VECTOR_EXTENSION = "CREATE EXTENSION IF NOT EXISTS vector"


def hnsw_index_statement() -> str:
    return f"CREATE INDEX IF NOT EXISTS {HNSW_INDEX} ON chunks USING hnsw (embedding vector_cosine_ops)"


def _version_1(dimension: int) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE IF NOT EXISTS chunks (
            rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            chunk_id TEXT NOT NULL UNIQUE,
            item_id TEXT NOT NULL,
            publisher_id TEXT NOT NULL,
            scope TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            title TEXT NOT NULL,
            heading TEXT NOT NULL,
            text TEXT NOT NULL,
            char_start INTEGER NOT NULL,
            char_end INTEGER NOT NULL,
            token_count INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            tradition TEXT,
            embedding vector({int(dimension)}),
            written_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            document tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', title), 'A')
                || setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', heading), 'B')
                || setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', text), 'D')
            ) STORED
        )""",
        # Keep rows whole in the heap (up to a page): keyword matching and ranking read `document` of thousands of
        # rows per query and exact dense scans read `embedding`; out-of-line or compressed values made each read
        # a TOAST fetch or a decompression (2-3x slower keyword search on SciFact).
        "ALTER TABLE chunks SET (toast_tuple_target = 8160)",
        "ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE PLAIN",
        "CREATE INDEX IF NOT EXISTS chunks_by_item ON chunks (item_id, ordinal)",
        "CREATE INDEX IF NOT EXISTS chunks_by_publisher ON chunks (publisher_id)",
        "CREATE INDEX IF NOT EXISTS chunks_document ON chunks USING gin (document)",
        hnsw_index_statement(),
        """CREATE TABLE IF NOT EXISTS embedding_space (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            model TEXT NOT NULL,
            dimension INTEGER NOT NULL
        )""",
    )


MIGRATIONS = ((1, _version_1),)
"""(version, statements for a vector dimension), applied in order."""


def migrate(connection: Any, dimension: int) -> list[int]:
    """Apply the missing migrations on a psycopg connection (autocommit); returns the versions applied."""
    applied_now: list[int] = []
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (CHUNK_INDEX_LOCK,))
        connection.execute(
            "CREATE TABLE IF NOT EXISTS chunk_index_migrations ("
            " version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        applied = {int(row[0]) for row in connection.execute("SELECT version FROM chunk_index_migrations")}
        _create_vector_extension(connection)  # idempotent; needs no privilege once the extension exists
        for version, statements in MIGRATIONS:
            if version in applied:
                continue
            for statement in statements(dimension):
                connection.execute(statement)
            connection.execute("INSERT INTO chunk_index_migrations (version) VALUES (%s)", (version,))
            applied_now.append(version)
    return applied_now


def ensure_vector_extension(url: str) -> None:
    """Enable pgvector in the database at `url` (under the migrations' lock, as `migrate` does), or raise the
    `StoreError` of `_create_vector_extension`: `homily init` and `homily serve` check this before creating
    anything, so a server without pgvector is refused in one line rather than by a traceback at start."""
    import psycopg

    from homily.storage.postgres.deadline import KEEPALIVES
    from homily.storage.postgres.pool import CONNECT_TIMEOUT_SECONDS, driver_errors

    with (
        driver_errors(url),
        psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS, **KEEPALIVES) as connection,
        connection.transaction(),
    ):
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (CHUNK_INDEX_LOCK,))
        _create_vector_extension(connection)


def _create_vector_extension(connection: Any) -> None:
    """`CREATE EXTENSION IF NOT EXISTS vector`, or a `StoreError` saying what the operator must do when the server
    has no pgvector or this user may not install it (the driver's own error names neither remedy)."""
    from psycopg import errors

    try:
        connection.execute(CREATE_VECTOR_EXTENSION)
    except (errors.InsufficientPrivilege, errors.UndefinedFile, errors.FeatureNotSupported) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StoreError(
            f"HOMILY_DATABASE_URL: PostgreSQL cannot enable the pgvector extension ({reason}). Install pgvector on "
            "the database server (https://github.com/pgvector/pgvector) and run `CREATE EXTENSION vector;` in this "
            "database as a superuser once, or connect as a user allowed to create extensions."
        ) from exc


def column_dimension(connection: Any) -> int:
    """The declared dimension of `chunks.embedding` (pgvector stores it as the type modifier)."""
    row = connection.execute(
        "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'chunks'::regclass AND attname = 'embedding'"
    ).fetchone()
    return int(row[0])


def retype_embedding(connection: Any, dimension: int) -> None:
    """Change the vector column's dimension (every stored vector must already be NULL), rebuilding the HNSW
    index. Run inside the caller's transaction, under `CHUNK_INDEX_LOCK`."""
    connection.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")
    connection.execute(f"ALTER TABLE chunks ALTER COLUMN embedding TYPE vector({int(dimension)})")
    connection.execute(hnsw_index_statement())


def vector_literal(vector: FloatMatrix) -> str:
    """pgvector's text form of a float vector: `[x1,x2,...]` (floats print exactly, so float32 round-trips)."""
    return "[" + ",".join(map(repr, np.asarray(vector, dtype=np.float32).reshape(-1).tolist())) + "]"
