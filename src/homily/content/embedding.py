"""`EmbeddingRunner`: the local embedder behind an async front, loaded in the background, run off the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from homily.embeddings.deferred import EmbedderLoadError
from homily.errors import ProviderError, ProviderTimeoutError, ProviderUnavailableError
from homily.grounding.embedder import FloatMatrix, TextEmbedder

log = logging.getLogger("homily.content.embedding")

REMOTE_FAILURES = (ProviderError, ProviderTimeoutError, ProviderUnavailableError)


class EmbeddingRunner:
    """Owns one embedder and the threads that run it.

    Invariant: the model is loaded and used only on this runner's worker threads, so the event loop never blocks
    on it. A local model gets one thread (its tokenizer and model are never entered concurrently, and CPU work
    would not go faster); a remote endpoint, whose calls mostly wait on the network, gets `threads` of them so
    concurrent queries do not queue behind each other. Loading starts at `start()` and
    runs in the background (the server answers meanwhile); `embed` waits for it. Ingestion submits small batches
    so a query's embedding waits at most one batch behind it.
    """

    def __init__(self, factory: Callable[[], TextEmbedder], dimension: int = 384, *, threads: int = 1) -> None:
        self._factory = factory
        self.dimension = dimension
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._loading: asyncio.Future[TextEmbedder] | None = None

    def start(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="homily-embed")
        self._loading = asyncio.get_running_loop().run_in_executor(self._executor, self._load)

    def _load(self) -> TextEmbedder:
        embedder = self._factory()
        log.info("retrieval embedder ready", extra={"model": embedder.model_name})
        return embedder

    async def ready(self) -> TextEmbedder:
        if self._loading is None:
            self.start()
        assert self._loading is not None
        return await asyncio.shield(self._loading)

    async def embed(self, texts: Sequence[str]) -> FloatMatrix:
        """(len(texts), dimension) float32 rows, L2-normalised. A remote embedder's failure is logged with its
        details and raised as a `ProviderUnavailableError` that names no endpoint (the caller may retry); so is a
        local model that failed to load (ingestion then waits instead of failing items)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        try:
            embedder = await self.ready()
            assert self._executor is not None
            return await asyncio.get_running_loop().run_in_executor(self._executor, embedder.embed, list(texts))
        except REMOTE_FAILURES as exc:
            log.warning("retrieval embeddings failed: %s", exc.message)
            raise ProviderUnavailableError("The embeddings service is unavailable; try again shortly.") from exc
        except EmbedderLoadError as exc:
            raise ProviderUnavailableError(
                "The embedding model failed to load; the server log says why. Fix it and restart Homily."
            ) from exc

    async def embed_one(self, text: str) -> FloatMatrix:
        """One (dimension,) vector."""
        vectors = await self.embed([text])
        return np.asarray(vectors[0], dtype=np.float32)

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        loading, self._loading = self._loading, None
        if loading is not None and not loading.done():
            loading.cancel()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
