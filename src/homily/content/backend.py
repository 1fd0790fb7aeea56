"""Open the content side's storage on the configured database: the item store, the chunk index and the reader of
chunks still awaiting vectors. The server's `ContentRuntime` and the CLI's content commands both open it here.

SQLite (the embedded default): items in the store's file, chunks in the same file (FTS5 + an in-process dense
index). PostgreSQL (`HOMILY_DATABASE_URL=postgresql://...`): items and chunks (tsvector + pgvector) in the shared
database, so every replica searches the same index and sees another replica's uploads at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from homily.content.embedding_space import EmbeddingSpace
from homily.content.ingestion import UnembeddedChunks, open_chunk_index
from homily.grounding.index_protocol import ChunkIndexProtocol, UnembeddedChunksProtocol
from homily.settings import Settings
from homily.storage.factory import ClosableContentStore, database_backend, open_content_store

SHARED_QUEUE_POLL_SECONDS = 5.0
"""How often an idle ingestion worker looks for work other replicas queued (or left behind) in a shared database."""


@dataclass(slots=True)
class ContentBackend:
    """Invariant: all three work on the same database; `close()` releases them in reverse order of opening.
    `poll_seconds` is what the ingestion worker needs: None for a database only this process writes."""

    store: ClosableContentStore
    index: ChunkIndexProtocol
    unembedded: UnembeddedChunksProtocol
    poll_seconds: float | None = None

    async def close(self) -> None:
        self.unembedded.close()
        await asyncio.to_thread(self.index.close)
        await self.store.close()


async def open_content_backend(settings: Settings, space: EmbeddingSpace) -> ContentBackend:
    """Opened storage for content in the retrieval embedding `space`. The item store opens first: it creates (or
    migrates) the items table, which the chunk index consults to drop chunks of deleted items."""
    store = await open_content_store(settings)
    try:
        if database_backend(settings) == "postgres":
            from homily.content.pg_chunks import PostgresUnembeddedChunks, open_pg_chunk_index

            assert settings.database_url is not None
            shared = await asyncio.to_thread(open_pg_chunk_index, settings.database_url, space)
            return ContentBackend(store, shared, PostgresUnembeddedChunks(shared), SHARED_QUEUE_POLL_SECONDS)
        local = await asyncio.to_thread(open_chunk_index, settings.sqlite_path, space)
        return ContentBackend(store, local, UnembeddedChunks(settings.sqlite_path))
    except BaseException:
        await store.close()
        raise


def library_lock_database(settings: Settings) -> Path | None:
    """The database whose library lock installers of the shared library hold (`install_lock`): the SQLite file,
    or None on PostgreSQL, whose orphan cleanup spares chunks being written."""
    return settings.sqlite_path if database_backend(settings) == "sqlite" else None
