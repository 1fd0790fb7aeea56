"""Retrieval on an OpenAI-compatible embeddings endpoint: uploads embedded remotely, an outage loses nothing,
and switching models re-embeds stored content in the background."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from homily.content.embedding_space import (
    LOCAL_SPACE,
    EmbeddingSpace,
    retrieval_embedding_runner,
    stored_space,
)
from homily.content.ingestion import IngestionWorker, UnembeddedChunks, open_chunk_index
from homily.content.library import ensure_shared_publisher, install_prebuilt, packaged_library
from homily.grounding.index import ChunkIndex
from homily.storage.content import ItemStatus
from homily.storage.sqlite import SqliteStore
from homily.storage.sqlite.content import SqliteContentStore
from homily.storage.sqlite.migrations import MIGRATIONS
from tests.store_contract import present
from tests.support.content import prebuilt_item, wait_for_statuses
from tests.support.embeddings import FakeEmbeddingsServer, serve_embeddings, word_vector
from tests.support.http import assert_envelope, auth_headers
from tests.support.live import LiveHomily, make_settings, start_homily

DIMENSION = 64
REMOTE = EmbeddingSpace("fake-words", DIMENSION)
BEES = b"The monks keep forty hives of bees on the chalk downs and sell heather honey at the abbey gate."
CHOIR = b"The parish choir rehearses motets by Thomas Tallis every Thursday evening before Advent."


@pytest.fixture
def fake() -> Iterator[FakeEmbeddingsServer]:
    with serve_embeddings(DIMENSION, word_vector) as server:
        yield server


def _remote_settings(data_dir: Path, fake: FakeEmbeddingsServer) -> dict[str, object]:
    return {
        "retrieval_embeddings": "openai",
        "retrieval_embeddings_url": fake.url,
        "retrieval_embeddings_model": REMOTE.model,
        "retrieval_embeddings_dimension": DIMENSION,
        "retrieval_embeddings_api_key": "sk-embeddings",
        "data_dir": data_dir,
    }


def _upload(live: LiveHomily, client: httpx.Client, publisher_id: str, name: str, data: bytes) -> str:
    response = client.post(
        "/ingestion/v2/files", data={"publisher_id": publisher_id}, files=[("files", (name, data))]
    )
    assert response.status_code == 200, response.text
    item_id: str = response.json()["ingesting"][0]
    return item_id


def _vector_bytes(database: Path) -> set[int]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT DISTINCT length(vector) FROM chunks WHERE vector IS NOT NULL").fetchall()
    return {int(row[0]) for row in rows}


def test_uploads_are_embedded_remotely_and_survive_an_outage(tmp_path: Path, fake: FakeEmbeddingsServer) -> None:
    settings = make_settings(**_remote_settings(tmp_path / "data", fake))  # type: ignore[arg-type]
    live = start_homily(settings)
    try:
        admin = httpx.Client(base_url=live.base_url, headers=live.admin_headers())
        publisher = admin.post(
            "/admin/v1/publishers", json={"org_id": live.credential.org_id, "name": "Abbey"}
        ).json()
        admin.close()
        with httpx.Client(base_url=live.base_url, headers=auth_headers(live.token()), timeout=60) as client:
            bees = _upload(live, client, publisher["publisher_id"], "bees.txt", BEES)
            assert wait_for_statuses(client, publisher["publisher_id"], [bees], timeout=60)[bees]["status"] == (
                "COMPLETED"
            )
            fake.fail_next = 2  # the endpoint is down for the next two calls: the item waits, it does not fail
            choir = _upload(live, client, publisher["publisher_id"], "choir.txt", CHOIR)
            rows = wait_for_statuses(client, publisher["publisher_id"], [choir], timeout=60)
            assert rows[choir]["status"] == "COMPLETED", rows
            search = client.post(
                "/ai/data/v1/search", json={"query": "bees and honey", "tenant": "Abbey", "limit": 2}
            )
            assert search.status_code == 200, search.text
            results = search.json()["data"]
            assert results[0]["item_id"] == bees, results
            # the dense side (remote vectors) agrees: cosine (2 * certainty - 1) well above the unrelated item's
            assert 2 * results[0]["certainty"] - 1 > 0.3
            assert all(row["certainty"] < results[0]["certainty"] - 0.1 for row in results[1:])
            fake.fail_next = 1
            outage = client.post("/ai/data/v1/search", json={"query": "honey", "tenant": "Abbey", "limit": 2})
            message = assert_envelope(outage, 503, 2002)["message"]
            assert "embeddings service is unavailable" in message
            assert fake.url not in message  # the endpoint stays in the log
    finally:
        live.stop()
    assert fake.fail_next == 0
    assert {request["model"] for request in fake.requests} == {REMOTE.model}
    assert all(headers["Authorization"] == "Bearer sk-embeddings" for headers in fake.headers)
    assert any("bees" in text for request in fake.requests for text in request["input"])
    assert _vector_bytes(settings.sqlite_path) == {DIMENSION * 4}


def test_switching_models_re_embeds_stored_content(tmp_path: Path, fake: FakeEmbeddingsServer) -> None:
    path = tmp_path / "homily.db"
    settings = make_settings(**_remote_settings(tmp_path, fake))  # type: ignore[arg-type]

    async def scenario() -> tuple[ItemStatus, int, ItemStatus, int, list[float]]:
        store = SqliteStore(path)
        await store.open()
        content = SqliteContentStore(path)
        await content.open()
        try:
            index = await asyncio.to_thread(open_chunk_index, path, LOCAL_SPACE)
            publisher = await ensure_shared_publisher(store)
            library = [prebuilt_item("bees", "Bees", [BEES.decode()], 7)]
            await install_prebuilt(content, index, publisher, library, total=1)
            await asyncio.to_thread(index.close)

            index = await asyncio.to_thread(open_chunk_index, path, REMOTE)  # the operator switched models
            switched = present(await content.get_item("bees")).status
            dense_rows = index.count(publisher.publisher_id)
            await asyncio.to_thread(index.close)
            index = await asyncio.to_thread(open_chunk_index, path, REMOTE)  # a second start changes nothing
            unembedded = UnembeddedChunks(path)
            embedder = retrieval_embedding_runner(settings)
            worker = IngestionWorker(content, index, embedder, unembedded)
            worker.start()
            worker.notify()
            try:
                await asyncio.wait_for(worker.wait_idle(), timeout=60)
                related = await embedder.embed_one("forty hives of bees")
                unrelated = await embedder.embed_one("motets rehearsed on Thursday")
                hits = [index.search("", q, publisher.publisher_id, limit=1).hits[0] for q in (related, unrelated)]
            finally:
                await worker.stop()
                await embedder.close()
                unembedded.close()
                await asyncio.to_thread(index.close)
            after = present(await content.get_item("bees")).status
            return switched, dense_rows, after, index.count(publisher.publisher_id), [hit.similarity for hit in hits]
        finally:
            await content.close()
            await store.close()

    switched, dense_rows, after, rows_after, (related, unrelated) = asyncio.run(scenario())
    assert (switched, dense_rows) == (ItemStatus.EMBEDDING, 0)
    assert after is ItemStatus.COMPLETED
    assert rows_after > 0
    assert related > 0.3 > unrelated + 0.1
    assert _vector_bytes(path) == {DIMENSION * 4}


def test_packaged_library_vectors_are_used_only_for_their_own_model() -> None:
    same = packaged_library(None, LOCAL_SPACE.model)
    other = packaged_library(None, REMOTE.model)
    assert same is not None
    assert other is not None
    first_same, first_other = next(iter(same[1])), next(iter(other[1]))
    assert all(chunk.vector is not None for chunk in first_same.chunks)
    assert all(chunk.vector is None for chunk in first_other.chunks)
    assert [chunk.text for chunk in first_same.chunks] == [chunk.text for chunk in first_other.chunks]


def test_a_database_from_before_the_space_was_recorded_knows_its_vectors_are_local(tmp_path: Path) -> None:
    path = tmp_path / "homily.db"

    async def write_v2_upgrade_and_switch() -> tuple[EmbeddingSpace | None, int, ItemStatus]:
        old = SqliteStore(path)
        await old.open()
        content = SqliteContentStore(path)
        await content.open()
        index = await asyncio.to_thread(open_chunk_index_unrecorded, path)
        publisher = await ensure_shared_publisher(old)
        library = [prebuilt_item("old", "Old", [BEES.decode()], 3)]
        await install_prebuilt(content, index, publisher, library, total=1)
        await asyncio.to_thread(index.close)
        await content.close()
        await old.close()
        with sqlite3.connect(path) as connection:  # back to what a Homily of schema version 2 left behind
            connection.execute("DROP TABLE embedding_space")
            connection.execute("ALTER TABLE organisations DROP COLUMN allowed_models")  # added by migration 4
            connection.execute(f"PRAGMA user_version = {len(MIGRATIONS[:2])}")
        content = SqliteContentStore(path)
        upgraded = SqliteStore(path)
        await upgraded.open()  # migration 3 records the space the old vectors are in ...
        await content.open()
        with sqlite3.connect(path) as connection:
            recorded = stored_space(connection)
        index = await asyncio.to_thread(open_chunk_index, path, REMOTE)  # ... so a new model re-embeds them
        try:
            return recorded, index.count(publisher.publisher_id), present(await content.get_item("old")).status
        finally:
            await asyncio.to_thread(index.close)
            await content.close()
            await upgraded.close()

    recorded, dense_rows, status = asyncio.run(write_v2_upgrade_and_switch())
    assert recorded == LOCAL_SPACE
    assert dense_rows == 0
    assert status is ItemStatus.EMBEDDING
    assert _vector_bytes(path) == set()


def open_chunk_index_unrecorded(path: Path) -> ChunkIndex:
    """The chunk index as Homily opened it before the embedding space was recorded (schema version 2)."""
    connection = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    index = ChunkIndex(connection, LOCAL_SPACE.dimension)
    index.load()
    return index


def test_concurrent_queries_reach_a_remote_endpoint_in_parallel(tmp_path: Path, fake: FakeEmbeddingsServer) -> None:
    settings = make_settings(**_remote_settings(tmp_path, fake))  # type: ignore[arg-type]
    fake.delay = 0.3

    async def four_queries_at_once() -> None:
        runner = retrieval_embedding_runner(settings)
        try:
            vectors = await asyncio.gather(*(runner.embed_one(f"question {n}") for n in range(4)))
            assert all(vector.shape == (DIMENSION,) for vector in vectors)
        finally:
            await runner.close()

    asyncio.run(four_queries_at_once())
    assert fake.max_in_flight >= 2  # a local model would take them one at a time; a remote endpoint need not
