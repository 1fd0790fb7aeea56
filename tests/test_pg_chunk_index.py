"""The PostgreSQL chunk index as replicas use it: one database, several index objects, no per-process copy.

The ranking itself is tested on both backends in test_grounding_retrieval.py; here: what only a shared database
can get wrong (visibility across replicas, concurrent start), the dense paths (exact scan, HNSW with iterative
scan under a publisher filter), the embedding-space change, orphan cleanup and an unreachable server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import psycopg
import pytest

from homily.content.embedding import EmbeddingRunner
from homily.content.embedding_space import LIBRARY_PRIORITY, LOCAL_SPACE, EmbeddingSpace
from homily.content.ingestion import IngestionWorker
from homily.content.library import ensure_shared_publisher, install_prebuilt
from homily.content.pg_chunks import (
    PostgresUnembeddedChunks,
    adopt_pg_embedding_space,
    open_pg_chunk_index,
    remove_orphans,
    stored_pg_space,
)
from homily.content.service import ContentService
from homily.embeddings import load_local_embedder
from homily.grounding import pg_keyword
from homily.grounding.embedder import FloatMatrix
from homily.grounding.evaluation import BeirDataset, build_index, build_pg_index, embed_queries, evaluate
from homily.grounding.fusion import RetrievalParams
from homily.grounding.index import ChunkRecord, SearchResult
from homily.grounding.index_protocol import ChunkIndexProtocol, UnembeddedChunksProtocol
from homily.grounding.pg_index import PostgresChunkIndex
from homily.grounding.pg_keyword import matched
from homily.grounding.pg_schema import column_dimension
from homily.storage.base import StoreError
from homily.storage.content import Item, ItemStatus
from homily.storage.postgres import DatabaseUnavailableError, PostgresContentStore, PostgresStore
from homily.storage.postgres.pool import CHECKOUT_TIMEOUT_SECONDS
from homily.storage.sqlite import SqliteStore
from homily.storage.sqlite.content import SqliteContentStore
from tests.store_contract import present
from tests.support.content import prebuilt_item
from tests.support.services import allow_connections, free_port, plain_role

PUBLISHER = "pub-1"
OTHER = "pub-2"
DENSE = RetrievalParams(dense_weight=1.0, keyword_candidates=0)
KEYWORD = RetrievalParams(dense_weight=0.0)
OUTAGE_SECONDS = 9.0
"""Long enough for psycopg_pool's reconnection backoff to reach an 8 s delay (attempts ~1, 3, 7, 15 s)."""
RECOVERY_SECONDS = 2.5
"""Measured: ~0.01 s now; 4.5-4.9 s with psycopg_pool's default five-minute reconnection attempts."""


def _unit(values: Sequence[float], dimension: int = 384) -> FloatMatrix:
    vector = np.zeros(dimension, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def _record(
    n: int, text: str = "", *, item: str | None = None, publisher: str = PUBLISHER, vector: bool = True
) -> ChunkRecord:
    return ChunkRecord(
        f"c{n}",
        item or f"item{n}",
        publisher,
        n,
        f"Title {n}",
        ("Part", f"Section {n}"),
        text or f"chunk number {n}",
        0,
        10,
        3,
        "h",
        None,
        _unit([1.0, n / 10.0]) if vector else None,
    )


@pytest.fixture
def replicas(postgres_url: str) -> Iterator[tuple[PostgresChunkIndex, PostgresChunkIndex]]:
    """Two index objects on one database, as two replicas would open them."""
    first = PostgresChunkIndex.open(postgres_url)
    second = PostgresChunkIndex.open(postgres_url)
    yield first, second
    first.close()
    second.close()


def test_a_write_by_one_replica_is_searchable_by_the_other_at_once(
    replicas: tuple[PostgresChunkIndex, PostgresChunkIndex],
) -> None:
    writer, reader = replicas
    assert reader.search("zwinglian", _unit([1.0]), PUBLISHER).hits == []  # the reader's statistics now exist
    writer.add([_record(1, "the Zwinglian memorialist view", vector=False)])
    assert reader.search("zwinglian", _unit([1.0]), PUBLISHER).hits[0].chunk_id == "c1"
    assert reader.count(PUBLISHER) == 0
    writer.set_vectors(["c1"], _unit([1.0, 0.1])[None, :])
    assert reader.count(PUBLISHER) == 1
    dense = reader.search("", _unit([1.0, 0.1]), PUBLISHER, params=DENSE).hits
    assert dense[0].chunk_id == "c1"
    assert dense[0].similarity == pytest.approx(1.0, abs=1e-5)
    assert dense[0].heading_path == ("Part", "Section 1")


def test_a_deletion_by_one_replica_is_gone_from_the_other_at_once(
    replicas: tuple[PostgresChunkIndex, PostgresChunkIndex],
) -> None:
    writer, reader = replicas
    writer.add([_record(n, f"psalm of ascent {n}") for n in range(4)])
    vector = _unit([1.0, 0.2])
    assert "item2" in {hit.item_id for hit in reader.search("psalm", vector, PUBLISHER).hits}
    assert writer.delete_items(["item2", "missing"]) == 1
    for params in (KEYWORD, DENSE, RetrievalParams()):
        hits = reader.search("psalm ascent", vector, PUBLISHER, params=params).hits
        assert hits
        assert "item2" not in {hit.item_id for hit in hits}
    assert reader.count() == 3


def test_title_and_tradition_updates_reach_the_other_replica(
    replicas: tuple[PostgresChunkIndex, PostgresChunkIndex],
) -> None:
    writer, reader = replicas
    writer.add([_record(1, "same words"), _record(2, "same words")])
    writer.update_item("item2", tradition="anglican", title="Evensong")
    hit = reader.search("evensong", _unit([1.0, 0.15]), PUBLISHER, tradition="anglican", params=KEYWORD).hits[0]
    assert (hit.item_id, hit.title, hit.tradition) == ("item2", "Evensong", "anglican")


def test_replacing_a_chunk_keeps_one_row(replicas: tuple[PostgresChunkIndex, PostgresChunkIndex]) -> None:
    writer, reader = replicas
    writer.add([_record(1, "first wording")])
    reader.add([_record(1, "second wording", vector=False)])
    assert writer.count() == 0
    hits = writer.search("wording", _unit([1.0]), PUBLISHER).hits
    assert [hit.text for hit in hits] == ["second wording"]


@pytest.mark.parametrize("exact_scan_rows", [0, 1_000_000], ids=["hnsw", "exact"])
def test_dense_top_k_of_a_small_publisher_is_not_starved(postgres_url: str, exact_scan_rows: int) -> None:
    """A publisher with a handful of chunks inside a large index still gets its full top-k, nearest first,
    whichever dense path runs (HNSW's plain scan would stop at ef_search rows, mostly other publishers')."""
    index = PostgresChunkIndex.open(postgres_url, exact_scan_rows=exact_scan_rows)
    try:
        rng = np.random.default_rng(7)
        crowd = rng.standard_normal((600, 384)).astype(np.float32)
        crowd /= np.linalg.norm(crowd, axis=1, keepdims=True)
        index.add([_record(n, publisher=OTHER) for n in range(600)])
        index.set_vectors([f"c{n}" for n in range(600)], crowd)
        query = crowd[0]
        own = rng.standard_normal((5, 384)).astype(np.float32) + query  # near the query, at distinct distances
        own /= np.linalg.norm(own, axis=1, keepdims=True)
        mine = [replace(_record(1000 + n, item=f"mine{n}"), vector=own[n]) for n in range(5)]
        index.add(mine)
        params = RetrievalParams(dense_weight=1.0, keyword_candidates=0, dense_candidates=5, per_item_limit=5)
        hits = index.search("", query, PUBLISHER, limit=5, params=params).hits
        assert sorted(hit.item_id for hit in hits) == [f"mine{n}" for n in range(5)]
        expected = sorted((float(np.dot(query, r.vector)), r.item_id) for r in mine if r.vector is not None)
        assert [hit.item_id for hit in hits] == [item for _, item in reversed(expected)]
        other = index.search("", query, OTHER, limit=1, params=params).hits
        assert other[0].chunk_id == "c0"
    finally:
        index.close()


def test_reopened_index_serves_what_was_written(postgres_url: str) -> None:
    first = PostgresChunkIndex.open(postgres_url)
    first.add([_record(n) for n in range(5)])
    first.delete_items(["item3"])
    first.close()
    reopened = PostgresChunkIndex.open(postgres_url)
    try:
        assert reopened.load() == 4
        assert reopened.graphs_current()
        assert reopened.extend_graphs() == 0
        hits = reopened.search("", _unit([1.0, 0.4]), PUBLISHER, params=DENSE).hits
        assert hits[0].item_id == "item4"
        assert "item3" not in {hit.item_id for hit in hits}
    finally:
        reopened.close()


def test_replicas_starting_together_create_the_schema_once(postgres_url: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        opened = list(pool.map(lambda _: open_pg_chunk_index(postgres_url, LOCAL_SPACE), range(4)))
    try:
        opened[0].add([_record(1)])
        assert all(index.count() == 1 for index in opened)
    finally:
        for index in opened:
            index.close()
    with psycopg.connect(postgres_url) as connection:
        assert connection.execute("SELECT version FROM chunk_index_migrations").fetchall() == [(1,)]
        assert stored_pg_space(connection) == LOCAL_SPACE


def _items_table(url: str, *rows: tuple[str, str]) -> None:
    """A minimal stand-in for the store's items table (only the columns the chunk index touches)."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE TABLE items (item_id text PRIMARY KEY, status text NOT NULL, priority int NOT NULL)")
        for item_id, status in rows:
            connection.execute("INSERT INTO items VALUES (%s, %s, 0)", (item_id, status))


def test_switching_models_clears_vectors_requeues_items_and_retypes_the_column(postgres_url: str) -> None:
    _items_table(postgres_url, ("item1", "COMPLETED"), ("item2", "COMPLETED"), ("other", "COMPLETED"))
    index = open_pg_chunk_index(postgres_url, LOCAL_SPACE)
    index.add([_record(1), _record(2, vector=False)])
    index.close()
    remote = EmbeddingSpace("text-embedding-3-small", 8)
    index = open_pg_chunk_index(postgres_url, remote)
    try:
        assert index.count() == 0
        with index.connection() as connection:
            assert column_dimension(connection) == 8
            assert stored_pg_space(connection) == remote
            statuses = dict(connection.execute("SELECT item_id, status || ':' || priority FROM items").fetchall())
            assert adopt_pg_embedding_space(connection, remote) == 0  # a second start changes nothing
        assert statuses == {
            "item1": f"EMBEDDING:{LIBRARY_PRIORITY}",
            "item2": f"EMBEDDING:{LIBRARY_PRIORITY}",
            "other": "COMPLETED:0",
        }
        unembedded: UnembeddedChunksProtocol = PostgresUnembeddedChunks(index)
        total, pending = unembedded.of_item("item1")
        assert (total, [chunk_id for chunk_id, _ in pending]) == (1, ["c1"])
        assert pending[0][1] == "Title 1 > Part > Section 1\nchunk number 1"
        index.set_vectors(["c1", "c2"], np.stack([_unit([1.0], 8), _unit([0.0, 1.0], 8)]))
        assert unembedded.of_item("item1") == (1, [])
        hits = index.search("", _unit([0.1, 1.0], 8), PUBLISHER, params=DENSE).hits
        assert hits[0].item_id == "item2"
        unembedded.close()
    finally:
        index.close()


def test_orphan_cleanup_spares_chunks_a_live_replica_may_be_writing(postgres_url: str) -> None:
    index = open_pg_chunk_index(postgres_url)  # no items table yet: nothing is an orphan
    try:
        index.add([_record(1), _record(2), _record(3)])
        _items_table(postgres_url, ("item1", "COMPLETED"))
        with index.connection() as connection:
            connection.execute("UPDATE chunks SET written_at = now() - interval '2 hours' WHERE chunk_id <> 'c3'")
            assert remove_orphans(connection) == 1  # item2's old chunk; item3's is fresh
        assert sorted(hit.item_id for hit in index.search("chunk", _unit([1.0]), PUBLISHER).hits) == [
            "item1",
            "item3",
        ]
    finally:
        index.close()


def test_an_unreachable_database_raises_a_store_error() -> None:
    url = f"postgresql://homily@127.0.0.1:{free_port()}/none"
    with pytest.raises(DatabaseUnavailableError, match="HOMILY_DATABASE_URL"):
        PostgresChunkIndex.open(url, timeout=1.0)


def test_a_database_gone_after_start_raises_a_store_error(postgres_url: str) -> None:
    index: ChunkIndexProtocol = PostgresChunkIndex.open(postgres_url, timeout=1.0)
    index.add([_record(1)])
    allow_connections(postgres_url, False)
    try:
        with pytest.raises(DatabaseUnavailableError):
            index.search("anything", _unit([1.0]), PUBLISHER)
    finally:
        allow_connections(postgres_url, True)
    try:
        assert _search_when_back(index, "chunk").hits[0].item_id == "item1"  # the pool reconnects by itself
    finally:
        index.close()


def test_a_search_while_the_database_is_gone_fails_within_the_documented_wait(postgres_url: str) -> None:
    """The README promises a database outage costs a request at most a 5 s connection wait. The chunk index as
    the server opens it (`open_pg_chunk_index` with its defaults) once waited 10 s for a connection, so grounded
    requests and searches took twice the documented time to get their retryable error."""
    index = open_pg_chunk_index(postgres_url, LOCAL_SPACE)
    allow_connections(postgres_url, False)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailableError):
            index.keyword_candidates("anything", PUBLISHER)
        waited = time.monotonic() - started
    finally:
        allow_connections(postgres_url, True)
        index.close()
    assert waited < CHECKOUT_TIMEOUT_SECONDS + 1.0


def test_the_index_is_back_within_seconds_of_the_database_after_an_outage(postgres_url: str) -> None:
    """psycopg_pool retries a lost connection with doubling delays (about 1, 3, 7, 15 s after the loss, for up
    to five minutes): after an outage of a few seconds the index kept failing for as long again once the server
    was back (about 20 s after a 40 s outage in the soak). Attempts now give up after a few seconds, so the next
    request starts a fresh one."""
    index = PostgresChunkIndex.open(postgres_url, timeout=1.0)
    try:
        index.count()
        allow_connections(postgres_url, False)
        try:
            outage_ends = time.monotonic() + OUTAGE_SECONDS
            while time.monotonic() < outage_ends:
                with pytest.raises(DatabaseUnavailableError):
                    index.count()
        finally:
            allow_connections(postgres_url, True)
        back = time.monotonic()
        while True:
            try:
                index.count()
                break
            except DatabaseUnavailableError:
                assert time.monotonic() - back < 30
        recovered = time.monotonic() - back
    finally:
        index.close()
    assert recovered < RECOVERY_SECONDS


def _search_when_back(index: ChunkIndexProtocol, query: str, seconds: float = 20.0) -> SearchResult:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return index.search(query, _unit([1.0]), PUBLISHER)
        except DatabaseUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_ingestion_worker_and_retrieval_run_on_the_postgres_index(tmp_path: Path, postgres_url: str) -> None:
    """The content pipeline through the protocols: a text-only library item is keyword-searchable at once, the
    worker embeds it from `PostgresUnembeddedChunks`, and a second replica's index serves the vectors."""
    paragraphs = [
        "Blessed are the poor in spirit, for theirs is the Kingdom of Heaven.",
        "Blessed are those who mourn, for they shall be comforted.",
        "Blessed are the gentle, for they shall inherit the earth.",
    ]
    path = tmp_path / "homily.db"

    async def scenario() -> tuple[ItemStatus, str, ItemStatus, int, float]:
        store = SqliteStore(path)
        await store.open()
        content = SqliteContentStore(path)
        await content.open()
        index = await asyncio.to_thread(open_pg_chunk_index, postgres_url, LOCAL_SPACE)
        replica = await asyncio.to_thread(open_pg_chunk_index, postgres_url, LOCAL_SPACE)
        unembedded = PostgresUnembeddedChunks(index)
        embedder = EmbeddingRunner(load_local_embedder)
        worker = IngestionWorker(content, index, embedder, unembedded)
        try:
            publisher = await ensure_shared_publisher(store)
            items = [prebuilt_item("beatitudes", "The Beatitudes", paragraphs, None)]
            await install_prebuilt(content, index, publisher, items, total=1)
            before = present(await content.get_item("beatitudes")).status
            service = ContentService(store, content, replica, embedder, None)
            early = await service.retrieve(publisher, "Blessed are those who mourn", limit=3)
            worker.start()
            worker.notify()
            await asyncio.wait_for(worker.wait_idle(), timeout=120)
            after = present(await content.get_item("beatitudes")).status
            vector = await embedder.embed_one("those who mourn will be comforted")
            dense = await asyncio.to_thread(replica.search, "", vector, publisher.publisher_id, limit=1, params=DENSE)
            pending = len((await unembedded.of_item_async("beatitudes"))[1])
            return before, early[0].hit.text, after, pending, dense.hits[0].similarity
        finally:
            await worker.stop()
            await embedder.close()
            unembedded.close()
            await asyncio.to_thread(index.close)
            await asyncio.to_thread(replica.close)
            await content.close()
            await store.close()

    before, early, after, pending, similarity = asyncio.run(scenario())
    assert before is ItemStatus.EMBEDDING
    assert "mourn" in early
    assert after is ItemStatus.COMPLETED
    assert pending == 0
    assert similarity > 0.5


def test_the_retrieval_evaluation_runs_on_both_backends(tmp_path: Path, postgres_url: str) -> None:
    """`homily eval retrieval --database-url` builds the same BEIR index on PostgreSQL and scores it alike."""
    dataset = BeirDataset(
        corpus={
            "d1": ("Baptism", "Washing with water in the name of the Father, the Son and the Holy Spirit."),
            "d2": ("Prayer", "Lifting up the heart to God in praise, thanksgiving and asking."),
            "d3": ("Creation", "In the beginning God created the heavens and the earth."),
        },
        queries={"q1": "What is baptism with water?", "q2": "How do I pray with thanksgiving?"},
        qrels={"q1": {"d1": 1}, "q2": {"d2": 1}},
    )
    embedder = load_local_embedder()
    vectors = embed_queries(embedder, dataset.queries, tmp_path)
    params = RetrievalParams()
    sqlite_index = build_index(dataset, embedder, tmp_path)
    pg_index = build_pg_index(dataset, embedder, tmp_path, postgres_url)
    try:
        for index in (sqlite_index, pg_index):
            assert evaluate(index, dataset, vectors, params).ndcg_at_10 == pytest.approx(1.0)
    finally:
        sqlite_index.close()
        pg_index.close()


def test_keyword_search_scores_the_rows_of_the_rarest_lexemes_within_the_budget() -> None:
    frequencies = {"common": 900, "rare": 3, "middle": 300, "other": 200}
    assert matched(frequencies, list(frequencies), 503) == ["rare", "other", "middle"]
    assert matched(frequencies, list(frequencies), 502) == ["rare", "other"]
    assert matched(frequencies, list(frequencies), 10_000) == ["rare", "other", "middle", "common"]
    assert matched(frequencies, ["common", "middle"], 10) == ["middle"]  # at least the rarest one
    assert matched(frequencies, [], 10) == []


def test_beyond_the_row_budget_only_rows_with_the_rarer_lexemes_are_scored_with_every_lexeme(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = PostgresChunkIndex.open(postgres_url)
    try:
        texts = ["zwinglian sacrament", "sacrament", "sacrament liturgy", "the sacrament"]
        index.add([_record(n, text) for n, text in enumerate(texts)])
        everything = index.keyword_candidates("zwinglian sacrament", PUBLISHER, KEYWORD)
        assert len(everything) == 4
        monkeypatch.setattr(pg_keyword, "MATCH_ROWS", 1)
        monkeypatch.setattr(pg_keyword, "MATCH_SHARE", 0.0)
        # the Zwinglian row alone, with the same score: "sacrament" still counts in it
        assert index.keyword_candidates("zwinglian sacrament", PUBLISHER, KEYWORD) == everything[:1]
    finally:
        index.close()


def test_a_user_who_may_not_install_pgvector_is_told_what_to_do(postgres_url: str) -> None:
    with plain_role(postgres_url) as as_plain:
        with pytest.raises(StoreError, match=r"pgvector.*CREATE EXTENSION vector"):
            PostgresChunkIndex.open(as_plain, timeout=2.0)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("CREATE EXTENSION vector")  # what the message asks a superuser to do once
        index = PostgresChunkIndex.open(as_plain, timeout=2.0)
        try:
            index.add([_record(1)])
            assert index.count(PUBLISHER) == 1
        finally:
            index.close()


class _ListedBeforeTheOtherInstalled(PostgresContentStore):
    """A replica whose look at the installed items came before the other replica's install (starting together)."""

    async def list_items(self, publisher_id: str) -> list[Item]:
        return []


def test_replicas_installing_the_library_together_keep_every_items_chunks(postgres_url: str) -> None:
    """The second replica to install an item finds it already there (DuplicateContentError on its own item id):
    the chunks it wrote are the same rows as the first replica's, so they must stay; it once deleted them all,
    leaving the whole GlooGrounded library COMPLETED without a single searchable chunk."""
    items = [
        prebuilt_item("beatitudes", "The Beatitudes", ["Blessed are the meek, they shall inherit the earth."] * 3, 1),
        prebuilt_item("lords-prayer", "The Lord's Prayer", ["Give us this day our daily bread."] * 3, 2),
    ]

    async def scenario() -> tuple[dict[str, int], dict[str, int], int]:
        store = PostgresStore(postgres_url)
        await store.open()
        first, second = PostgresContentStore(postgres_url), _ListedBeforeTheOtherInstalled(postgres_url)
        await first.open()
        await second.open()
        index = await asyncio.to_thread(open_pg_chunk_index, postgres_url, LOCAL_SPACE)
        try:
            publisher = await ensure_shared_publisher(store)
            await install_prebuilt(first, index, publisher, items, total=len(items))
            installed_again = await install_prebuilt(second, index, publisher, items, total=len(items))
            expected = {item.item_id: present(await first.get_item(item.item_id)).chunk_count for item in items}
            with index.connection() as connection:
                rows = connection.execute("SELECT item_id, count(*) FROM chunks GROUP BY item_id").fetchall()
            return expected, {str(item_id): int(count) for item_id, count in rows}, installed_again
        finally:
            await asyncio.to_thread(index.close)
            await second.close()
            await first.close()
            await store.close()

    expected, stored, installed_again = asyncio.run(scenario())
    assert installed_again == 0
    assert all(count > 0 for count in expected.values())
    assert stored == expected
