"""`ContentRuntime`: the content side of the app's lifespan (stores, chunk index, embedder, worker, library)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from homily.content.backend import ContentBackend, library_lock_database, open_content_backend
from homily.content.embedding import EmbeddingRunner
from homily.content.embedding_space import LOCAL_SPACE, retrieval_embedding_runner, retrieval_space
from homily.content.ingestion import IngestionWorker
from homily.content.library import load_shared_library
from homily.content.service import ContentService
from homily.grounding.embedder import TextEmbedder
from homily.grounding.index_protocol import ChunkIndexProtocol
from homily.metrics import Metrics
from homily.service.completions import CompletionService
from homily.service.grounded import GroundedService
from homily.settings import Settings
from homily.storage.base import Store

log = logging.getLogger("homily.content")


@dataclass(slots=True)
class ContentRuntime:
    """Everything content needs while the server runs. Invariant: `stop()` releases what `start()` opened, in
    reverse order, and cancels the background tasks first so none writes into a closed store."""

    content: ContentService
    grounded: GroundedService
    backend: ContentBackend
    embedder: EmbeddingRunner
    worker: IngestionWorker
    library_task: asyncio.Task[None] | None
    graph_task: asyncio.Task[None]

    @classmethod
    async def start(
        cls,
        settings: Settings,
        store: Store,
        completions: CompletionService,
        shared_embedder: Callable[[], TextEmbedder] | None = None,
        metrics: Metrics | None = None,
    ) -> ContentRuntime:
        """`shared_embedder`: gives the process's local model (waiting while it loads), reused for retrieval when
        retrieval embeddings are local instead of loading a second copy. `metrics` receives ingestion counts."""
        space = retrieval_space(settings)
        backend = await open_content_backend(settings, space)
        embedder = retrieval_embedding_runner(settings, shared_embedder)
        if settings.preload_embedder:
            embedder.start()
        worker = IngestionWorker(
            backend.store,
            backend.index,
            embedder,
            backend.unembedded,
            metrics=metrics,
            poll_seconds=backend.poll_seconds,
        )
        worker.start()
        content = ContentService(store, backend.store, backend.index, embedder, worker)
        library_task = None
        if settings.load_library:
            library_task = asyncio.create_task(
                load_shared_library(
                    content,
                    backend.store,
                    backend.index,
                    settings.library_dir,
                    space.model,
                    lock_database=library_lock_database(settings),
                ),
                name="homily-library",
            )
        grounded = GroundedService(content, completions, query_space_shared=space == LOCAL_SPACE)
        graph_task = asyncio.create_task(keep_graphs_current(backend.index), name="homily-graphs")
        return cls(content, grounded, backend, embedder, worker, library_task, graph_task)

    async def stop(self) -> None:
        for task in (self.library_task, self.graph_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.worker.stop()
        await self.embedder.close()
        await self.backend.close()


async def keep_graphs_current(index: ChunkIndexProtocol, idle_seconds: float = 1.0) -> None:
    """Background upkeep of the neighbour graphs of large publishers: small slices in a worker thread while
    rows wait (searches fall back to an exact scan meanwhile), a short sleep when there is nothing to do."""
    building = 0
    while True:
        consumed = await asyncio.to_thread(index.extend_graphs)
        if consumed:
            building += consumed
            continue
        if building:
            log.info("neighbour graphs current (%d rows added)", building)
            building = 0
        await asyncio.sleep(idle_seconds)
