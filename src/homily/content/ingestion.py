"""Durable background ingestion: QUEUED -> CHUNKING -> EMBEDDING -> COMPLETED / FAILED, resumed after a restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from pathlib import Path

from homily.content.embedding import EmbeddingRunner
from homily.content.embedding_space import LOCAL_SPACE, EmbeddingSpace, adopt_embedding_space
from homily.content.install_lock import lock_if_free
from homily.content.progress import BacklogProgress
from homily.errors import ProviderUnavailableError
from homily.grounding.document import ParsedDocument, ParseError
from homily.grounding.index import HEADING_SEPARATOR, ChunkIndex, ChunkRecord
from homily.grounding.index_protocol import ChunkIndexProtocol, UnembeddedChunksProtocol
from homily.grounding.pipeline import chunk_records, prepare
from homily.metrics import Metrics
from homily.storage.base import StoreUnavailableError
from homily.storage.content import ContentStore, Item, ItemMetadata, ItemStatus

log = logging.getLogger("homily.content.ingestion")

EMBED_BATCH = 16
"""Chunks per embedding call: large enough to batch well, small enough that a query waits little behind it."""

MAX_OUTAGE_BACKOFF_SECONDS = 60.0
"""While a remote embeddings endpoint fails, the item waits (nothing is lost or failed) and the worker retries
with a doubling pause up to this."""


def open_chunk_index(path: Path, space: EmbeddingSpace = LOCAL_SPACE) -> ChunkIndex:
    """Open the chunk index on the store's database: drop chunks whose item is gone (deleted just before a crash),
    adopt the retrieval embedder's vector `space` (stored vectors of another model are queued to be embedded
    again), then load the dense index from the stored vectors. Orphans stay while another process installs the
    library (see `install_lock`). Blocking; call it in a thread."""
    connection = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10.0)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    with lock_if_free(path) as free:
        # While another process installs the library its newest item's chunks have no row yet: spare them.
        if free:
            orphans = connection.execute("DELETE FROM chunks WHERE item_id NOT IN (SELECT item_id FROM items)").rowcount
            if orphans:
                log.info("removed %d chunks of deleted items", orphans)
    adopt_embedding_space(connection, space)
    index = ChunkIndex(connection, space.dimension)
    index.load()
    return index


class UnembeddedChunks:
    """Reads chunks still waiting for a vector (a crash during EMBEDDING, or a text-only library) on its own
    read connection, so resuming never re-parses or re-chunks what is already indexed."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10.0)
        self._lock = threading.Lock()

    def of_item(self, item_id: str) -> tuple[int, list[tuple[str, str]]]:
        """(chunk count, [(chunk_id, embedding text)] of the chunks without a vector), in chunk order."""
        with self._lock:
            total = self._db.execute("SELECT COUNT(*) FROM chunks WHERE item_id = ?", (item_id,)).fetchone()[0]
            rows = self._db.execute(
                "SELECT chunk_id, title, heading, text FROM chunks WHERE item_id = ? AND vector IS NULL"
                " ORDER BY ordinal",
                (item_id,),
            ).fetchall()
        return int(total), [
            (str(chunk_id), embedding_text(title, heading, text)) for chunk_id, title, heading, text in rows
        ]

    async def of_item_async(self, item_id: str) -> tuple[int, list[tuple[str, str]]]:
        return await asyncio.to_thread(self.of_item, item_id)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def embedding_text(title: str, heading: str, text: str) -> str:
    """`Chunk.embedding_text` rebuilt from a stored row (title, joined heading path, text)."""
    context = list(dict.fromkeys(part for part in (title, *heading.split(HEADING_SEPARATOR)) if part))
    return (" > ".join(context) + "\n" + text) if context else text


def parsed_metadata(document: ParsedDocument) -> ItemMetadata:
    """What the parser found in the file, used to fill fields the uploader left empty."""
    meta = document.metadata
    return ItemMetadata(
        title=document.title,
        subtitle=meta.subtitle,
        summary=meta.summary,
        url=meta.url,
        tags=meta.tags or None,
        author=meta.author,
        publication_date=meta.publication_date,
        tradition=meta.tradition,
    )


class IngestionWorker:
    """One asyncio task that drains unfinished items oldest-first.

    Invariants: the item table is the queue (nothing lives only in memory), so a restart resumes every item still
    QUEUED, CHUNKING or EMBEDDING; chunk ids are deterministic and an item's old chunks are replaced, so re-running
    an interrupted item never duplicates anything; each status change is conditional on the item's generation and
    on it being unfinished, so an item reaches COMPLETED or FAILED exactly once, and an item deleted or replaced
    mid-way is never resurrected. An item interrupted `max_attempts` times (a crash it causes) is FAILED; an
    attempt this worker saw end in an outage (database or embeddings) was no crash, so restarting it is not
    counted: an item waits out any number of outages.
    """

    def __init__(
        self,
        store: ContentStore,
        index: ChunkIndexProtocol,
        embedder: EmbeddingRunner,
        unembedded: UnembeddedChunksProtocol,
        *,
        max_attempts: int = 3,
        metrics: Metrics | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        self._store = store
        # With a database shared by replicas an idle worker also looks at the queue every `poll_seconds`: that is
        # how uploads to another replica and a crashed replica's items (once its lease ran out) are found. None
        # (one process, the embedded database): only `notify()` wakes it, as nothing else can queue work.
        self._poll_seconds = poll_seconds
        self._metrics = metrics
        self._index = index
        self._unembedded = unembedded
        self._embedder = embedder
        self._max_attempts = max_attempts
        self._waited_out: tuple[str, int] | None = None
        """(item id, generation) of the last attempt that ended in an outage: its restart is not counted."""
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._progress = BacklogProgress()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="homily-ingestion")

    def notify(self) -> None:
        """New work was queued."""
        self._idle.clear()
        self._wake.set()

    async def wait_idle(self) -> None:
        """Return once no unfinished item remains (used by the CLI and tests)."""
        await self._idle.wait()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        backoff = 1.0
        while True:
            self._wake.clear()
            try:
                item = await self._store.next_unfinished()
            except StoreUnavailableError as exc:
                log.warning("cannot read the ingestion queue (%s); retrying", exc)
                await asyncio.sleep(1.0)
                continue
            except Exception:
                log.exception("cannot read the ingestion queue; retrying")
                await asyncio.sleep(1.0)
                continue
            clock = asyncio.get_running_loop().time
            if item is None:
                if summary := self._progress.end(clock()):
                    log.info(summary)
                self._set_pending(0)
                self._idle.set()
                # Another replica may queue work (or crash and leave its items to us) without notifying this one.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_seconds)  # None: no timeout
                continue
            self._idle.clear()
            self._progress.begin(clock())
            try:
                await self.process(item)
                backoff = 1.0
                await self._report_progress(clock())
            except asyncio.CancelledError:
                raise
            except ProviderUnavailableError as exc:
                self._waited_out = (item.item_id, item.generation)
                log.warning("%s waits for embeddings (%s); retrying in %.0f s", item.item_id, exc.message, backoff)
                await asyncio.sleep(backoff)
                backoff = min(2 * backoff, MAX_OUTAGE_BACKOFF_SECONDS)
            except StoreUnavailableError as exc:  # a database outage: the item waits, it is not failed
                self._waited_out = (item.item_id, item.generation)
                log.warning("%s waits for the database (%s); retrying in %.0f s", item.item_id, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(2 * backoff, MAX_OUTAGE_BACKOFF_SECONDS)
            except Exception as exc:
                log.exception("ingestion of %s failed", item.item_id)
                await self._fail_quietly(item, f"internal error while ingesting ({type(exc).__name__})")

    async def _report_progress(self, now: float) -> None:
        if not self._progress.report_due(now):
            return
        pending = await self._store.count_unfinished()
        self._set_pending(pending)
        if line := self._progress.report(now, pending):
            log.info(line)

    def _set_pending(self, pending: int) -> None:
        if self._metrics is not None:
            self._metrics.set_gauge("homily_ingestion_pending_items", pending)

    def _count(self, outcome: str) -> None:
        self._progress.item_finished()
        if self._metrics is not None:
            self._metrics.inc("homily_ingestion_items_total", (("status", outcome),))

    async def _fail(self, item: Item, reason: str) -> None:
        if await self._store.fail(item.item_id, item.generation, reason):
            self._count("failed")

    async def _fail_quietly(self, item: Item, reason: str) -> None:
        try:
            await self._fail(item, reason)
        except Exception:
            log.exception("cannot mark %s failed; retrying later", item.item_id)
            await asyncio.sleep(1.0)

    async def process(self, item: Item) -> None:
        """Run one item through the pipeline (see the class invariants)."""
        if item.attempts >= self._max_attempts:
            await self._fail(item, f"ingestion was interrupted {item.attempts} times while processing this file")
            return
        if item.status is ItemStatus.EMBEDDING:
            total, pending = await asyncio.to_thread(self._unembedded.of_item, item.item_id)
            if total and await self._store.claim(item.item_id, item.generation, status=ItemStatus.EMBEDDING):
                if await self._embed(pending, preemptible=True):
                    await self._finish(item, total)
                return
        waited_out, self._waited_out = self._waited_out == (item.item_id, item.generation), None
        claimed = await self._store.claim(item.item_id, item.generation, count_attempt=not waited_out)
        if claimed is None:
            return
        data = await self._store.get_content(item.item_id)
        if data is None:
            await self._fail(item, "the uploaded content is missing")
            return
        try:
            prepared = await asyncio.to_thread(prepare, claimed.filename, data)
        except ParseError as exc:
            await self._fail(item, str(exc))
            return
        await self._store.fill_metadata(item.item_id, parsed_metadata(prepared.document))
        title = claimed.metadata.title or prepared.document.title
        tradition = claimed.metadata.tradition or prepared.document.metadata.tradition
        records = chunk_records(
            prepared,
            item_id=item.item_id,
            publisher_id=item.publisher_id,
            title=title,
            tradition=tradition,
            vectors=None,
        )
        await asyncio.to_thread(self._replace_chunks, item.item_id, records)
        if not await self._store.advance(item.item_id, item.generation, ItemStatus.EMBEDDING, chunk_count=len(records)):
            await self._drop_if_deleted(item.item_id)
            return
        texts = prepared.embedding_texts(title)
        await self._embed([(record.chunk_id, text) for record, text in zip(records, texts, strict=True)])
        await self._finish(item, len(records))

    async def _embed(self, pending: list[tuple[str, str]], *, preemptible: bool = False) -> bool:
        """Embed and store vectors batch by batch. A preemptible run (resuming an item already chunked, such as
        the background library) stops when new work is queued, leaving the item EMBEDDING to resume later with
        only its missing vectors; returns False then."""
        for start in range(0, len(pending), EMBED_BATCH):
            if preemptible and start and self._wake.is_set():
                return False
            batch = pending[start : start + EMBED_BATCH]
            vectors = await self._embedder.embed([text for _, text in batch])
            await asyncio.to_thread(self._index.set_vectors, [chunk_id for chunk_id, _ in batch], vectors)
        return True

    async def _finish(self, item: Item, chunk_count: int) -> None:
        if not await self._store.advance(item.item_id, item.generation, ItemStatus.COMPLETED, chunk_count=chunk_count):
            await self._drop_if_deleted(item.item_id)
            return
        self._count("completed")
        log.info("ingested %s (%d chunks)", item.item_id, chunk_count)

    def _replace_chunks(self, item_id: str, records: list[ChunkRecord]) -> None:
        self._index.delete_items([item_id])
        self._index.add(records)

    async def _drop_if_deleted(self, item_id: str) -> None:
        if await self._store.get_item(item_id) is None:
            await asyncio.to_thread(self._index.delete_items, [item_id])
