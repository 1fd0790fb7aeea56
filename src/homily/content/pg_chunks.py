"""The PostgreSQL side of the chunk index's lifecycle: open it ready to search, keep its vectors in the retrieval
embedder's space, and read the chunks still waiting for a vector (the counterparts of `open_chunk_index`,
`adopt_embedding_space` and `UnembeddedChunks`, which serve SQLite).

Replicas share the database, so: the embedding-space change runs under the chunk index's advisory lock in one
transaction (one replica re-queues, the others then find the space already recorded); orphan cleanup spares
chunks written in the last `ORPHAN_GRACE` (another replica may be installing the library, whose chunks precede
their item row), and only runs when the store's `items` table exists.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from homily.content.embedding_space import LIBRARY_PRIORITY, LOCAL_SPACE, EmbeddingSpace, announce_space_change
from homily.content.ingestion import embedding_text
from homily.grounding.pg_index import PostgresChunkIndex
from homily.grounding.pg_schema import CHUNK_INDEX_LOCK, column_dimension, retype_embedding
from homily.storage.postgres.deadline import BATCH_SECONDS

if TYPE_CHECKING:
    from psycopg import Connection

log = logging.getLogger("homily.content.pg_chunks")

ORPHAN_GRACE = timedelta(hours=1)
"""Chunks without an item are removed at start only once older than this (a live replica may be writing)."""


def stored_pg_space(connection: Connection[Any]) -> EmbeddingSpace | None:
    row = connection.execute("SELECT model, dimension FROM embedding_space WHERE id = 1").fetchone()
    return None if row is None else EmbeddingSpace(str(row[0]), int(row[1]))


def _items_table_exists(connection: Connection[Any]) -> bool:
    row = connection.execute("SELECT to_regclass('items') IS NOT NULL").fetchone()
    return bool(row and row[0])


def adopt_pg_embedding_space(connection: Connection[Any], space: EmbeddingSpace) -> int:
    """Make `space` the database's embedding space; returns how many items were queued to be embedded again.

    When another space was recorded, every stored vector is cleared and the COMPLETED items that had chunks go
    back to EMBEDDING at library priority (when the store's `items` table exists); a new dimension also re-types
    the vector column and rebuilds its HNSW index. All in one transaction under the advisory lock, so a crash or
    a concurrent replica leaves either the old space intact or the new one fully recorded."""
    if stored_pg_space(connection) == space and column_dimension(connection) == space.dimension:
        return 0
    # No space recorded yet (a new database, or one written by `PostgresChunkIndex.open` alone): its vectors,
    # if any, are taken to be in `space` unless their dimension says otherwise.
    requeued = 0
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (CHUNK_INDEX_LOCK,))
        previous = stored_pg_space(connection)  # re-read under the lock
        changed = previous is not None and previous != space
        retype = column_dimension(connection) != space.dimension
        if changed and _items_table_exists(connection):
            requeued = connection.execute(
                "UPDATE items SET status = 'EMBEDDING', priority = %s"
                " WHERE status = 'COMPLETED' AND item_id IN (SELECT item_id FROM chunks)",
                (LIBRARY_PRIORITY,),
            ).rowcount
        if changed or retype:
            connection.execute("UPDATE chunks SET embedding = NULL WHERE embedding IS NOT NULL")
        if retype:
            retype_embedding(connection, space.dimension)
        connection.execute(
            "INSERT INTO embedding_space (id, model, dimension) VALUES (1, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET model = EXCLUDED.model, dimension = EXCLUDED.dimension",
            (space.model, space.dimension),
        )
    if changed and previous is not None:
        announce_space_change(previous, space, requeued)
    return requeued


def remove_orphans(connection: Connection[Any], grace: timedelta = ORPHAN_GRACE) -> int:
    """Delete chunks whose item no longer exists and that are older than `grace` (none without `items`)."""
    if not _items_table_exists(connection):
        return 0
    return connection.execute(
        "DELETE FROM chunks c WHERE c.written_at < now() - %s"
        " AND NOT EXISTS (SELECT 1 FROM items i WHERE i.item_id = c.item_id)",
        (grace,),
    ).rowcount


def open_pg_chunk_index(url: str, space: EmbeddingSpace = LOCAL_SPACE, **options: Any) -> PostgresChunkIndex:
    """Open the shared chunk index at `url` (creating its schema), drop old orphan chunks, adopt the retrieval
    embedder's vector `space` (stored vectors of another model are queued to be embedded again). Ready to search
    on return. Blocking; call it in a thread. `options` go to `PostgresChunkIndex.open`."""
    index = PostgresChunkIndex.open(url, space.dimension, **options)
    try:
        with index.connection(budget=None) as connection:  # once at start, may re-queue every vector: no deadline
            orphans = remove_orphans(connection)
            if orphans:
                log.info("removed %d chunks of deleted items", orphans)
            adopt_pg_embedding_space(connection, space)
    except BaseException:
        index.close()
        raise
    return index


class PostgresUnembeddedChunks:
    """Reads chunks still waiting for a vector through the index's pool (no connection of its own)."""

    def __init__(self, index: PostgresChunkIndex) -> None:
        self._index = index

    def of_item(self, item_id: str) -> tuple[int, list[tuple[str, str]]]:
        """(chunk count, [(chunk_id, embedding text)] of the chunks without a vector), in chunk order."""
        with self._index.connection(BATCH_SECONDS) as connection, connection.transaction():
            total = connection.execute("SELECT count(*) FROM chunks WHERE item_id = %s", (item_id,)).fetchone()
            rows = connection.execute(
                "SELECT chunk_id, title, heading, text FROM chunks WHERE item_id = %s AND embedding IS NULL"
                " ORDER BY ordinal, chunk_id",
                (item_id,),
            ).fetchall()
        return int(total[0]) if total else 0, [
            (str(chunk_id), embedding_text(title, heading, text)) for chunk_id, title, heading, text in rows
        ]

    async def of_item_async(self, item_id: str) -> tuple[int, list[tuple[str, str]]]:
        return await asyncio.to_thread(self.of_item, item_id)

    def close(self) -> None:
        """Nothing to release: the pool belongs to the index (closed with it)."""
