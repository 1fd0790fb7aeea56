"""Two processes filling the shared library of one embedded database (a server starting and `homily search`)
take turns: the second waits, then finds nothing left to install; and opening the chunk index meanwhile spares
the chunks of the item being installed (their item row comes right after them)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import numpy as np

from homily.content.embedding import EmbeddingRunner
from homily.content.ingestion import open_chunk_index
from homily.content.install_lock import lock_if_free
from homily.content.library import LibraryHooks, LibraryOutcome, ensure_shared_publisher, fill_shared_library
from homily.content.service import ContentService
from homily.embeddings import load_local_embedder
from homily.grounding.index import ChunkRecord
from homily.grounding.library import write_library
from homily.storage.content import ItemStatus
from homily.storage.sqlite import SqliteStore
from homily.storage.sqlite.content import SqliteContentStore

_ITEMS, _CHUNKS = 12, 5


def _library(directory: Path) -> Path:
    rows: list[dict[str, Any]] = [
        {
            "item_id": f"work-{n}",
            "title": f"Work {n}",
            "author": None,
            "tradition": "catholic",
            "tags": [],
            "source": "test",
            "filename": f"work-{n}.txt",
            "chunks": [
                {
                    "text": f"Work {n}, part {part}: on prayer, fasting and almsgiving.",
                    "heading_path": [],
                    "char_start": 60 * part,
                    "char_end": 60 * part + 55,
                    "token_count": 12,
                }
                for part in range(_CHUNKS)
            ],
        }
        for n in range(_ITEMS)
    ]
    vectors = np.random.default_rng(5).normal(size=(_ITEMS * _CHUNKS, 384)).astype(np.float32)
    write_library(directory, rows, vectors / np.linalg.norm(vectors, axis=1, keepdims=True), model="all-MiniLM-L6-v2")
    return directory


@asynccontextmanager
async def _process(database: Path) -> AsyncIterator[ContentService]:
    """What one process opens on the database: its own store, content store and chunk index connections."""
    store, content = SqliteStore(database), SqliteContentStore(database)
    await store.open()
    await content.open()
    index = await asyncio.to_thread(open_chunk_index, database)
    try:
        yield ContentService(store, content, index, EmbeddingRunner(load_local_embedder), None)
    finally:
        await asyncio.to_thread(index.close)
        await content.close()
        await store.close()


def test_two_installers_take_turns_and_install_each_item_once(tmp_path: Path) -> None:
    library, database = _library(tmp_path / "library"), tmp_path / "homily.db"
    waited: list[str] = []

    async def fill(name: str, service: ContentService) -> LibraryOutcome:
        hooks = LibraryHooks(waiting=lambda: waited.append(name))
        return await fill_shared_library(
            service, service.content, service.index, library, "all-MiniLM-L6-v2", lock_database=database, hooks=hooks
        )

    async def scenario() -> tuple[list[LibraryOutcome], list[ItemStatus], int]:
        async with _process(database) as server, _process(database) as cli:
            outcomes = list(await asyncio.gather(fill("server", server), fill("cli", cli)))
            publisher = await ensure_shared_publisher(cli.store)
            items = await cli.content.list_items(publisher.publisher_id)
            return outcomes, [item.status for item in items], cli.index.count(publisher.publisher_id)

    outcomes, statuses, chunks = asyncio.run(scenario())
    assert len(waited) == 1  # either may come first
    installed = dict(zip(("server", "cli"), (outcome.installed for outcome in outcomes), strict=True))
    assert installed.pop(waited[0]) == 0
    assert list(installed.values()) == [_ITEMS]
    assert statuses == [ItemStatus.COMPLETED] * _ITEMS
    assert chunks == _ITEMS * _CHUNKS


def test_opening_the_index_spares_orphan_chunks_while_another_process_installs(tmp_path: Path) -> None:
    database = tmp_path / "homily.db"

    async def orphan_written() -> None:  # chunks written, their item row not yet (or never: a crash)
        async with _process(database) as service:
            record = ChunkRecord(
                "chunk-1", "item-being-installed", "publisher", 0, "Title", (), "Grace.", 0, 6, 2, "h", None, None
            )
            await asyncio.to_thread(service.index.add, [record])

    def chunks_left() -> int:
        open_chunk_index(database).close()
        with closing(sqlite3.connect(database)) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    asyncio.run(orphan_written())
    with lock_if_free(database) as locked:
        assert locked
        assert chunks_left() == 1
    assert chunks_left() == 0
