"""The SQLite content store passes the backend-neutral contract; prebuilt library items install idempotently."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from homily.content.ingestion import open_chunk_index
from homily.content.library import ensure_shared_publisher, install_prebuilt
from homily.grounding.chunking import chunk_document, content_hash
from homily.grounding.document import DocumentMetadata, ParsedDocument, Section
from homily.grounding.embedder import FloatMatrix
from homily.storage.base import Store
from homily.storage.content import ContentStore, ItemStatus
from homily.storage.sqlite import SqliteStore
from homily.storage.sqlite.content import SqliteContentStore
from tests.content_store_contract import ContentStoreContract


class TestSqliteContentStoreContract(ContentStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path, runner: asyncio.Runner) -> Iterator[Store]:
        store = SqliteStore(tmp_path / "homily.db")
        runner.run(store.open())
        yield store
        runner.run(store.close())

    @pytest.fixture
    def content(self, tmp_path: Path, store: Store, runner: asyncio.Runner) -> Iterator[ContentStore]:
        content = SqliteContentStore(tmp_path / "homily.db")
        runner.run(content.open())
        yield content
        runner.run(content.close())


@dataclass(frozen=True)
class PrebuiltChunk:
    text: str
    heading_path: tuple[str, ...]
    char_start: int
    char_end: int
    token_count: int
    content_hash: str
    vector: FloatMatrix


@dataclass(frozen=True)
class PrebuiltItem:
    item_id: str
    title: str
    author: str | None
    tradition: str
    tags: tuple[str, ...]
    source: str
    filename: str
    chunks: tuple[PrebuiltChunk, ...]


def _prebuilt(item_id: str, title: str, paragraphs: list[str], seed: int) -> PrebuiltItem:
    document = ParsedDocument(title, (Section((title,), "\n\n".join(paragraphs)),), DocumentMetadata())
    generator = np.random.default_rng(seed)
    chunks = []
    for chunk in chunk_document(document, target_tokens=20, max_tokens=30, min_tokens=5, overlap_tokens=8):
        vector = generator.standard_normal(384).astype(np.float32)
        chunks.append(
            PrebuiltChunk(
                chunk.text,
                chunk.heading_path,
                chunk.char_start,
                chunk.char_end,
                chunk.token_count,
                content_hash(chunk.text),
                vector / np.linalg.norm(vector),
            )
        )
    return PrebuiltItem(item_id, title, "Anon", "catholic", ("Prayer",), "test", f"{item_id}.md", tuple(chunks))


def test_prebuilt_library_installs_completed_items_once(tmp_path: Path) -> None:
    paragraphs = [
        f"Paragraph {n} of the prayer book speaks of morning and evening prayer and psalms." for n in range(8)
    ]
    items = [
        _prebuilt("item-a", "Morning Prayer", paragraphs, 1),
        _prebuilt("item-b", "Evening Prayer", paragraphs[:3], 2),
    ]

    async def scenario() -> tuple[int, int, int, dict[ItemStatus, int], int]:
        store = SqliteStore(tmp_path / "homily.db")
        await store.open()
        content = SqliteContentStore(tmp_path / "homily.db")
        await content.open()
        index = await asyncio.to_thread(open_chunk_index, tmp_path / "homily.db")
        try:
            publisher = await ensure_shared_publisher(store)
            assert (await ensure_shared_publisher(store)).publisher_id == publisher.publisher_id
            first = await install_prebuilt(content, index, publisher, items, len(items))
            second = await install_prebuilt(content, index, publisher, items, len(items))
            found = await store.find_publisher("org_anyone", "GlooGrounded")
            assert found is not None
            assert found.shared
            stored = await content.get_content("item-a")
            assert stored is not None
            assert b"Paragraph 7" in stored
            assert stored.count(b"Paragraph 3 ") == 1
            hits = index.search("evening prayer", items[1].chunks[0].vector, publisher.publisher_id, limit=3)
            return (
                first,
                second,
                index.count(publisher.publisher_id),
                await content.count_items(publisher.publisher_id),
                len(hits.hits),
            )
        finally:
            await asyncio.to_thread(index.close)
            await content.close()
            await store.close()

    first, second, vectors, counts, hits = asyncio.run(scenario())
    assert (first, second) == (2, 0)
    assert vectors == sum(len(item.chunks) for item in items)
    assert counts == {ItemStatus.COMPLETED: 2}
    assert hits > 0
