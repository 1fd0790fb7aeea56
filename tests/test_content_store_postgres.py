"""The PostgreSQL content store passes the backend-neutral contract, and replicas share its queue safely."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import pytest

from homily.content.embedding import EmbeddingRunner
from homily.content.ingestion import IngestionWorker, UnembeddedChunks, open_chunk_index
from homily.metrics import Metrics
from homily.storage.base import Publisher, Store
from homily.storage.content import (
    UNFINISHED_STATUSES,
    ContentStore,
    DuplicateContentError,
    Item,
    ItemStatus,
)
from homily.storage.postgres import DatabaseUnavailableError, PostgresContentStore, PostgresStore
from homily.storage.sqlite import SqliteStore
from tests.content_store_contract import ContentStoreContract, new_item
from tests.store_contract import present


class TestPostgresContentStoreContract(ContentStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str, runner: asyncio.Runner) -> Iterator[Store]:
        store = PostgresStore(postgres_url)
        runner.run(store.open())
        yield store
        runner.run(store.close())

    @pytest.fixture
    def content(self, postgres_url: str, store: Store, runner: asyncio.Runner) -> Iterator[ContentStore]:
        content = PostgresContentStore(postgres_url)
        runner.run(content.open())
        yield content
        runner.run(content.close())


# -- several replicas on one database -------------------------------------------------------------------------


async def _publisher(url: str) -> Publisher:
    store = PostgresStore(url)
    await store.open()
    try:
        organisation = await store.create_organisation("Parish")
        return await store.create_publisher(organisation.org_id, "Sermons")
    finally:
        await store.close()


@asynccontextmanager
async def _replicas(url: str, count: int = 2, **options: Any) -> AsyncIterator[list[PostgresContentStore]]:
    """`count` content stores on one database, as separate replicas would open them."""
    stores = [PostgresContentStore(url, **options) for _ in range(count)]
    await asyncio.gather(*(store.open() for store in stores))
    try:
        yield stores
    finally:
        await asyncio.gather(*(store.close() for store in stores))


def _lease_owner(url: str, item_id: str) -> str | None:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT lease_owner FROM items WHERE item_id = %s", (item_id,)).fetchone()
    return None if row is None else row[0]


def test_binary_content_round_trips_exactly(postgres_url: str) -> None:
    data = bytes(range(256)) * 64  # NUL bytes and invalid UTF-8: the content is bytea, never text

    async def scenario() -> bytes | None:
        publisher = await _publisher(postgres_url)
        async with _replicas(postgres_url, count=1) as (content,):
            item = await content.add_item(replace(new_item(publisher), data=data))
            return await content.get_content(item.item_id)

    assert asyncio.run(scenario()) == data


def test_a_live_replicas_item_is_not_offered_or_claimed_elsewhere(postgres_url: str) -> None:
    async def scenario() -> None:
        publisher = await _publisher(postgres_url)
        async with _replicas(postgres_url) as (first, second):
            item = await first.add_item(new_item(publisher))
            assert present(await second.next_unfinished()).item_id == item.item_id  # nobody works on it yet
            claimed = present(await first.claim(item.item_id, 1))
            assert claimed.attempts == 1
            assert _lease_owner(postgres_url, item.item_id) == first.lease_owner != second.lease_owner
            assert await second.next_unfinished() is None
            assert await second.claim(item.item_id, 1) is None
            assert await second.claim(item.item_id, 1, status=ItemStatus.EMBEDDING) is None
            assert not await second.advance(item.item_id, 1, ItemStatus.COMPLETED)
            assert not await second.fail(item.item_id, 1, "not mine")
            assert present(await first.next_unfinished()).item_id == item.item_id  # its own work is resumable
            assert await first.advance(item.item_id, 1, ItemStatus.EMBEDDING, chunk_count=2)
            assert await second.next_unfinished() is None  # advancing keeps the lease
            assert await first.advance(item.item_id, 1, ItemStatus.COMPLETED, chunk_count=2)
            assert _lease_owner(postgres_url, item.item_id) is None  # a finished item holds no lease
            done = present(await second.get_item(item.item_id))
            assert (done.status, done.attempts, done.chunk_count) == (ItemStatus.COMPLETED, 1, 2)
            assert await second.count_unfinished() == 0

    asyncio.run(scenario())


def test_a_crashed_replicas_item_is_taken_over_when_its_lease_runs_out(postgres_url: str) -> None:
    async def scenario() -> None:
        publisher = await _publisher(postgres_url)
        async with _replicas(postgres_url, lease_seconds=1.0, renew_seconds=None) as (crashed, survivor):
            item = await crashed.add_item(new_item(publisher))
            assert await crashed.claim(item.item_id, 1) is not None
            assert await survivor.claim(item.item_id, 1) is None
            await asyncio.sleep(1.3)  # no renewal: the lease runs out as if the process had died
            assert present(await survivor.next_unfinished()).item_id == item.item_id
            taken = present(await survivor.claim(item.item_id, 1))
            assert (taken.status, taken.attempts) == (ItemStatus.CHUNKING, 2)  # the interruption counts
            assert not await crashed.advance(item.item_id, 1, ItemStatus.COMPLETED)  # the old owner lost it
            assert await survivor.advance(item.item_id, 1, ItemStatus.COMPLETED, chunk_count=1)

    asyncio.run(scenario())


def test_a_live_replica_renews_its_leases(postgres_url: str) -> None:
    async def scenario() -> None:
        publisher = await _publisher(postgres_url)
        async with _replicas(postgres_url, lease_seconds=1.0, renew_seconds=0.2) as (busy, other):
            item = await busy.add_item(new_item(publisher))
            assert await busy.claim(item.item_id, 1) is not None
            await asyncio.sleep(2.0)  # twice the lease: only renewal keeps it
            assert await other.next_unfinished() is None
            assert await other.claim(item.item_id, 1) is None

    asyncio.run(scenario())


def test_closing_a_replica_releases_its_leases_at_once(postgres_url: str) -> None:
    async def scenario() -> None:
        publisher = await _publisher(postgres_url)
        async with _replicas(postgres_url, count=1) as (other,):
            leaving = PostgresContentStore(postgres_url)
            await leaving.open()
            item = await leaving.add_item(new_item(publisher))
            assert await leaving.claim(item.item_id, 1) is not None
            assert await other.claim(item.item_id, 1) is None
            await leaving.close()
            assert present(await other.claim(item.item_id, 1)).attempts == 2

    asyncio.run(scenario())


def test_new_content_frees_the_item_for_any_replica(postgres_url: str) -> None:
    async def scenario() -> None:
        publisher = await _publisher(postgres_url)
        async with _replicas(postgres_url) as (first, second):
            item = await first.add_item(new_item(publisher, b"v1"))
            await first.claim(item.item_id, 1)
            await second.replace_content(item.item_id, b"v2", "hash-v2", "notes.txt", "txt")
            assert present(await second.claim(item.item_id, 2)).attempts == 1
            assert not await first.advance(item.item_id, 1, ItemStatus.COMPLETED)

    asyncio.run(scenario())


def test_concurrent_claims_give_each_item_to_exactly_one_replica(postgres_url: str) -> None:
    async def drain(content: PostgresContentStore) -> list[str]:
        mine: list[str] = []
        while (item := await content.next_unfinished()) is not None:
            if await content.claim(item.item_id, item.generation) is not None:
                mine.append(item.item_id)
                await content.advance(item.item_id, item.generation, ItemStatus.COMPLETED)
        return mine

    async def scenario() -> tuple[list[list[str]], set[str]]:
        publisher = await _publisher(postgres_url)
        async with _replicas(postgres_url, count=3) as replicas:
            added = [await replicas[0].add_item(new_item(publisher, f"item {n}".encode())) for n in range(40)]
            shares = await asyncio.gather(*(drain(content) for content in replicas))
            attempts = {item.attempts for item in (await replicas[0].get_items([a.item_id for a in added])).values()}
            assert attempts == {1}
            return list(shares), {item.item_id for item in added}

    shares, added = asyncio.run(scenario())
    claimed = [item_id for share in shares for item_id in share]
    assert sorted(claimed) == sorted(added)  # every item once, none twice


def test_concurrent_identical_uploads_to_two_replicas_store_one_item(postgres_url: str) -> None:
    async def scenario() -> list[object]:
        publisher = await _publisher(postgres_url)
        async with _replicas(postgres_url) as (first, second):
            results = await asyncio.gather(
                *(content.add_item(new_item(publisher, b"same")) for content in (first, second, first, second)),
                return_exceptions=True,
            )
            assert len(await first.list_items(publisher.publisher_id)) == 1
            return list(results)

    results = asyncio.run(scenario())
    stored = [result for result in results if isinstance(result, Item)]
    duplicates = [result for result in results if isinstance(result, DuplicateContentError)]
    assert len(stored) == 1
    assert len(duplicates) == 3
    assert {duplicate.existing_item_id for duplicate in duplicates} == {stored[0].item_id}


# -- real ingestion workers on two replicas ---------------------------------------------------------------------


class _HashingEmbedder:
    """Deterministic unit vectors (no meaning): enough for the worker to store vectors."""

    model_name = "test-hashing"
    dimension = 384

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = np.stack([np.random.default_rng(zlib.crc32(text.encode())).normal(size=384) for text in texts])
        return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True), dtype=np.float32)


@dataclass
class _Replica:
    """One replica's ingestion side: the shared PostgreSQL queue, its own chunk index (SQLite here)."""

    content: PostgresContentStore
    worker: IngestionWorker
    metrics: Metrics
    close: Callable[[], Awaitable[None]]


class _OutageOnFirstAdvance(PostgresContentStore):
    """The database "goes away" the first `outages` times the worker reports progress."""

    outages = 1

    async def advance(self, item_id: str, generation: int, status: ItemStatus, *, chunk_count: int = 0) -> bool:
        if self.outages:
            self.outages -= 1
            raise DatabaseUnavailableError("HOMILY_DATABASE_URL: simulated outage")
        return await super().advance(item_id, generation, status, chunk_count=chunk_count)


class _OutageOnFirstThreeAdvances(_OutageOnFirstAdvance):
    outages = 3


@asynccontextmanager
async def _ingesting_replica(
    url: str, path: Path, store_type: type[PostgresContentStore] = PostgresContentStore
) -> AsyncIterator[_Replica]:
    sqlite = SqliteStore(path)  # creates the chunk tables the SQLite index needs
    await sqlite.open()
    await sqlite.close()
    content = store_type(url)
    await content.open()
    index = await asyncio.to_thread(open_chunk_index, path)
    unembedded = UnembeddedChunks(path)
    embedder = EmbeddingRunner(_HashingEmbedder)
    metrics = Metrics()
    worker = IngestionWorker(content, index, embedder, unembedded, metrics=metrics, poll_seconds=0.2)
    worker.start()

    async def close() -> None:
        await worker.stop()
        await embedder.close()
        await asyncio.to_thread(index.close)
        unembedded.close()
        await content.close()

    try:
        yield _Replica(content, worker, metrics, close)
    finally:
        await close()


async def _until_finished(content: PostgresContentStore, item_ids: list[str], within: float = 60.0) -> list[Item]:
    async with asyncio.timeout(within):
        while True:
            items = list((await content.get_items(item_ids)).values())
            if len(items) == len(item_ids) and all(item.status not in UNFINISHED_STATUSES for item in items):
                return items
            await asyncio.sleep(0.05)


def _sermon(n: int) -> bytes:
    return f"Sermon {n}. Grace and peace to you. The word became flesh and dwelt among us, number {n}.".encode()


def test_two_replicas_workers_complete_every_item_exactly_once(postgres_url: str, tmp_path: Path) -> None:
    async def scenario() -> tuple[list[Item], float]:
        publisher = await _publisher(postgres_url)
        async with (
            _ingesting_replica(postgres_url, tmp_path / "a.db") as first,
            _ingesting_replica(postgres_url, tmp_path / "b.db") as second,
        ):
            added = [await first.content.add_item(new_item(publisher, _sermon(n))) for n in range(12)]
            first.worker.notify()
            second.worker.notify()
            items = await _until_finished(first.content, [item.item_id for item in added])
            completed = sum(
                replica.metrics.counter("homily_ingestion_items_total", (("status", "completed"),))
                for replica in (first, second)
            )
            return items, completed

    items, completed = asyncio.run(scenario())
    assert {(item.status, item.attempts) for item in items} == {(ItemStatus.COMPLETED, 1)}  # nobody claimed twice
    assert all(item.chunk_count > 0 for item in items)
    assert completed == 12


def test_an_idle_replica_takes_over_new_and_orphaned_work_without_being_told(postgres_url: str, tmp_path: Path) -> None:
    async def scenario() -> tuple[Item, Item]:
        publisher = await _publisher(postgres_url)
        crashed = PostgresContentStore(postgres_url, lease_seconds=1.0, renew_seconds=None)
        await crashed.open()
        orphan = await crashed.add_item(new_item(publisher, _sermon(1)))
        assert await crashed.claim(orphan.item_id, 1) is not None
        await crashed._pool.close()  # the process dies mid-item: no release, its lease must run out
        async with _ingesting_replica(postgres_url, tmp_path / "survivor.db") as survivor:
            await asyncio.wait_for(survivor.worker.wait_idle(), timeout=10)
            async with _replicas(postgres_url, count=1) as (other,):  # an upload to another replica: no notify
                uploaded = await other.add_item(new_item(publisher, _sermon(2)))
            fresh = (await _until_finished(survivor.content, [uploaded.item_id], within=10))[0]
            taken_over = (await _until_finished(survivor.content, [orphan.item_id], within=10))[0]
        return fresh, taken_over

    fresh, taken_over = asyncio.run(scenario())
    assert (fresh.status, fresh.attempts) == (ItemStatus.COMPLETED, 1)
    assert (taken_over.status, taken_over.attempts) == (ItemStatus.COMPLETED, 2)


@pytest.mark.parametrize("store_type", [_OutageOnFirstAdvance, _OutageOnFirstThreeAdvances])
def test_a_database_outage_mid_item_makes_it_wait_not_fail(
    postgres_url: str, tmp_path: Path, store_type: type[PostgresContentStore]
) -> None:
    """However many outages interrupt it, the item waits and completes, and no restart counts as a crash: each
    once did, so three outages (a database flapping during a failover) while one file was chunked failed it for
    good, "ingestion was interrupted 3 times while processing this file", for an upload accepted with a 2xx."""

    async def scenario() -> Item:
        publisher = await _publisher(postgres_url)
        async with _ingesting_replica(postgres_url, tmp_path / "a.db", store_type) as replica:
            item = await replica.content.add_item(new_item(publisher, _sermon(1)))
            replica.worker.notify()
            return (await _until_finished(replica.content, [item.item_id], within=30))[0]

    item = asyncio.run(scenario())
    assert (item.status, item.failure_reason, item.attempts) == (ItemStatus.COMPLETED, None, 1)
