"""An async front for a blocking `Embedder`: concurrent requests share batches on one worker thread."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from homily.embeddings.deferred import EmbedderLoadError
from homily.embeddings.protocol import EmbeddedQuery, Embedder, Vectors, embedded_query

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Request:
    texts: list[str]
    result: asyncio.Future[Vectors]


class BatchingEmbedder:
    """Micro-batches concurrent embedding calls onto ONE worker thread.

    Invariant: the blocking `embedder.embed` never runs on the event loop and never runs twice at once, so
    the model's intra-op threads have the cores to themselves and latency stays predictable. Requests that
    arrive while a batch is computed wait in a FIFO queue and go together as the next batch (up to `max_batch`
    texts): that turns many concurrent one-query requests into one cheap model call. `embed_many` queues its
    texts in chunks of `max_batch`, so a bulk ingest interleaves with live queries instead of starving them.
    After `close()` every queued request has been answered and the worker thread has exited. An instance
    belongs to the event loop that first uses it.
    """

    def __init__(self, embedder: Embedder, max_batch: int = 32) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.embedder = embedder
        self.max_batch = max_batch
        self._queue: deque[_Request] = deque()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="homily-embed")
        self._drain_task: asyncio.Task[None] | None = None
        self._closed = False
        self.batches_run = 0
        """How many model calls were made; with `texts_embedded`, shows how well calls were coalesced."""
        self.texts_embedded = 0

    @property
    def model_name(self) -> str:
        return self.embedder.model_name

    @property
    def dimension(self) -> int:
        return self.embedder.dimension

    async def embed_one(self, text: str) -> Vectors:
        """The (dimension,) unit vector of one text."""
        rows = await self._submit([text])
        vector: Vectors = rows[0]
        return vector

    async def embed_query(self, text: str) -> EmbeddedQuery:
        """One text's vector with its token states (None when the embedder has none), for the guard's intent head.

        Runs as its own model call on the worker thread (never batched with others, never beside another call):
        one call yields both, and `embed_one`'s batched path is untouched.
        """
        if self._closed:
            raise RuntimeError("BatchingEmbedder is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, embedded_query, self.embedder, text)

    async def embed_many(self, texts: Sequence[str]) -> Vectors:
        """The (len(texts), dimension) unit vectors of `texts`, in order."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.max_batch):
            chunk = list(texts[start : start + self.max_batch])
            out[start : start + len(chunk)] = await self._submit(chunk)
        return out

    async def close(self) -> None:
        """Answer everything already queued, then stop the worker thread. Later calls raise `RuntimeError`."""
        if self._closed:
            return
        self._closed = True
        if self._drain_task is not None:
            await asyncio.shield(self._drain_task)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._executor.shutdown, True)

    async def __aenter__(self) -> BatchingEmbedder:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _submit(self, texts: list[str]) -> asyncio.Future[Vectors]:
        if self._closed:
            raise RuntimeError("BatchingEmbedder is closed")
        loop = asyncio.get_running_loop()
        request = _Request(texts, loop.create_future())
        self._queue.append(request)
        if self._drain_task is None:
            self._drain_task = loop.create_task(self._drain(), name="homily-embed-drain")
        return request.result

    def _take_batch(self) -> list[_Request]:
        batch: list[_Request] = []
        size = 0
        while self._queue:
            request = self._queue[0]
            if request.result.done():  # the caller gave up (cancelled) before its turn
                self._queue.popleft()
                continue
            if batch and size + len(request.texts) > self.max_batch:
                break
            batch.append(self._queue.popleft())
            size += len(request.texts)
        return batch

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while batch := self._take_batch():
                texts = [text for request in batch for text in request.texts]
                try:
                    vectors = await loop.run_in_executor(self._executor, self.embedder.embed, texts)
                except asyncio.CancelledError:
                    _fail(batch, RuntimeError("embedding was cancelled"))
                    raise
                except EmbedderLoadError as error:  # logged once when loading failed; not again per request
                    _fail(batch, error)
                    continue
                except Exception as error:  # handed to every caller of this batch
                    logger.exception("embedding a batch of %d texts failed", len(texts))
                    _fail(batch, error)
                    continue
                self.batches_run += 1
                self.texts_embedded += len(texts)
                offset = 0
                for request in batch:
                    rows = vectors[offset : offset + len(request.texts)]
                    offset += len(request.texts)
                    if not request.result.done():
                        request.result.set_result(rows)
        finally:
            self._drain_task = None
            if self._queue:  # only when cancelled: nobody is left to serve these
                _fail(list(self._queue), RuntimeError("embedding worker stopped"))
                self._queue.clear()


def _fail(batch: list[_Request], error: BaseException) -> None:
    for request in batch:
        if not request.result.done():
            request.result.set_exception(error)
