"""The SQLite content store passes the backend-neutral contract; prebuilt library items install idempotently."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from homily.content.embedding import EmbeddingRunner
from homily.content.ingestion import IngestionWorker, UnembeddedChunks, open_chunk_index
from homily.content.library import ensure_shared_publisher, install_prebuilt
from homily.content.service import ContentService, UploadedFile
from homily.embeddings import load_local_embedder
from homily.grounding.fusion import RetrievalParams
from homily.storage.base import Store
from homily.storage.content import ContentStore, ItemStatus
from homily.storage.sqlite import SqliteStore
from homily.storage.sqlite.content import SqliteContentStore
from tests.content_store_contract import ContentStoreContract
from tests.store_contract import present
from tests.support.content import prebuilt_item


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


def test_prebuilt_library_installs_completed_items_once(tmp_path: Path) -> None:
    paragraphs = [
        f"Paragraph {n} of the prayer book speaks of morning and evening prayer and psalms." for n in range(8)
    ]
    items = [
        prebuilt_item("item-a", "Morning Prayer", paragraphs, 1),
        prebuilt_item("item-b", "Evening Prayer", paragraphs[:3], 2),
    ]

    async def scenario() -> tuple[int, int, int, list[ItemStatus], int]:
        store = SqliteStore(tmp_path / "homily.db")
        await store.open()
        content = SqliteContentStore(tmp_path / "homily.db")
        await content.open()
        index = await asyncio.to_thread(open_chunk_index, tmp_path / "homily.db")
        try:
            publisher = await ensure_shared_publisher(store)
            assert (await ensure_shared_publisher(store)).publisher_id == publisher.publisher_id
            first = await install_prebuilt(content, index, publisher, items, total=len(items))
            second = await install_prebuilt(content, index, publisher, items, total=len(items))
            found = await store.find_publisher("org_anyone", "GlooGrounded")
            assert found is not None
            assert found.shared
            stored = await content.get_content("item-a")
            assert stored is not None
            assert b"Paragraph 7" in stored
            assert stored.count(b"Paragraph 3 ") == 1
            hits = index.search("evening prayer", present(items[1].chunks[0].vector), publisher.publisher_id, limit=3)
            return (
                first,
                second,
                index.count(publisher.publisher_id),
                sorted(row.status for row in await content.list_items(publisher.publisher_id)),
                len(hits.hits),
            )
        finally:
            await asyncio.to_thread(index.close)
            await content.close()
            await store.close()

    first, second, vectors, counts, hits = asyncio.run(scenario())
    assert (first, second) == (2, 0)
    assert vectors == sum(len(item.chunks) for item in items)
    assert counts == [ItemStatus.COMPLETED, ItemStatus.COMPLETED]
    assert hits > 0


QUOTATION = "Be still and know that I am God"
NOTICES = (
    "Parking notes for the autumn term: the north lot closes at nine for resurfacing, volunteers for the potluck "
    "should bring folding tables, the youth band rehearses on Thursday evenings in the gym, the treasurer asks that "
    "receipts be handed in before the end of the month, and the sign above the nursery door, painted by the "
    "children, reads: be still and know that I am God. Coffee hour moves to the fellowship hall until spring."
)


def test_text_only_library_is_keyword_searchable_at_once_and_embedded_in_the_background(tmp_path: Path) -> None:
    paragraphs = [
        "Blessed are the poor in spirit, for theirs is the Kingdom of Heaven.",
        "Blessed are those who mourn, for they shall be comforted.",
        "Blessed are the gentle, for they shall inherit the earth.",
    ]
    items = [
        prebuilt_item("beatitudes", "The Beatitudes", paragraphs, None),
        prebuilt_item("notices", "Parish notices", [NOTICES], None, whole=True),
    ]
    path = tmp_path / "homily.db"

    async def scenario() -> tuple[ItemStatus, ItemStatus, int, int, float]:
        store = SqliteStore(path)
        await store.open()
        content = SqliteContentStore(path)
        await content.open()
        index = await asyncio.to_thread(open_chunk_index, path)
        unembedded = UnembeddedChunks(path)
        embedder = EmbeddingRunner(load_local_embedder)
        worker = IngestionWorker(content, index, embedder, unembedded)
        try:
            publisher = await ensure_shared_publisher(store)
            await install_prebuilt(content, index, publisher, items, total=1)
            before = present(await content.get_item("beatitudes")).status
            keyword_hits = index.search("mourn comforted", np.zeros(384, np.float32), publisher.publisher_id)
            service = ContentService(store, content, index, embedder, worker)
            early = await service.retrieve(publisher, "Blessed are those who mourn", limit=3)
            assert early[0].hit.relevant  # judged on the fly although its chunk has no vector yet
            quoted = await service.retrieve(publisher, QUOTATION, limit=1)
            assert quoted[0].hit.similarity < RetrievalParams().relevance_threshold  # far from the short quotation
            assert quoted[0].hit.relevant  # but it holds the quotation
            assert "mourn" in early[0].hit.text
            worker.start()
            worker.notify()
            await asyncio.wait_for(worker.wait_idle(), timeout=120)
            after = present(await content.get_item("beatitudes")).status
            vector = await embedder.embed_one("those who mourn will be comforted")
            dense = index.search("those who mourn", vector, publisher.publisher_id, limit=1)
            pending, _ = await asyncio.to_thread(unembedded.of_item, "beatitudes")
            return before, after, len(keyword_hits.hits), pending, dense.hits[0].similarity
        finally:
            await worker.stop()
            await embedder.close()
            await asyncio.to_thread(index.close)
            unembedded.close()
            await content.close()
            await store.close()

    before, after, keyword_hits, chunks, similarity = asyncio.run(scenario())
    assert before is ItemStatus.EMBEDDING
    assert keyword_hits > 0
    assert after is ItemStatus.COMPLETED
    assert chunks > 0
    assert similarity > 0.5


def test_uploads_overtake_the_background_library(tmp_path: Path) -> None:
    verses = [
        f"Verse {n}: the word of the Lord endures for ever, and his mercy is new every morning." for n in range(400)
    ]
    library = [prebuilt_item("long-library-item", "A Long Book", verses, None)]
    path = tmp_path / "homily.db"

    async def scenario() -> tuple[float, float, int]:
        store = SqliteStore(path)
        await store.open()
        content = SqliteContentStore(path)
        await content.open()
        index = await asyncio.to_thread(open_chunk_index, path)
        unembedded = UnembeddedChunks(path)
        embedder = EmbeddingRunner(load_local_embedder)
        await embedder.ready()
        worker = IngestionWorker(content, index, embedder, unembedded)
        service = ContentService(store, content, index, embedder, worker)
        try:
            shared = await ensure_shared_publisher(store)
            await install_prebuilt(content, index, shared, library, total=1)
            organisation = await store.create_organisation("Parish")
            own = await store.create_publisher(organisation.org_id, "Notes")
            worker.start()
            worker.notify()
            total = len(library[0].chunks)
            for _ in range(6000):  # until the library item's embedding has begun
                if len((await unembedded.of_item_async("long-library-item"))[1]) < total:
                    break
                await asyncio.sleep(0.05)
            upload = await service.upload(own, [UploadedFile("note.txt", b"The vestry meets on the first Monday.")])
            await asyncio.wait_for(worker.wait_idle(), timeout=300)
            items = await content.get_items(["long-library-item", upload.ingesting[0]])
            library_item, note = items["long-library-item"], items[upload.ingesting[0]]
            assert library_item.status is note.status is ItemStatus.COMPLETED
            return note.updated_at, library_item.updated_at, library_item.attempts
        finally:
            await worker.stop()
            await embedder.close()
            await asyncio.to_thread(index.close)
            unembedded.close()
            await content.close()
            await store.close()

    note_done, library_done, attempts = asyncio.run(scenario())
    assert note_done < library_done
    assert attempts == 0
