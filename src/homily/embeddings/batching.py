"""An async front for a blocking `Embedder`: concurrent requests share batches on one worker thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from homily.embeddings.deferred import EmbedderLoadError
from homily.embeddings.protocol import Embedder, Vectors

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

    Batches are started and finished by loop callbacks rather than by a task awaiting the worker: a lone query
    reaches the worker one loop turn after it was queued (so requests queued in the same turn share its batch)
    and its caller wakes one turn after the worker finished, which is what a query on an idle server pays.
    """

    def __init__(self, embedder: Embedder, max_batch: int = 32) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.embedder = embedder
        self.max_batch = max_batch
        self._queue: deque[_Request] = deque()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="homily-embed")
        self._busy = False
        """A batch is scheduled to start or running; its end starts the next one."""
        self._idle: asyncio.Future[None] | None = None
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
        rows = await self.submit([text])
        vector: Vectors = rows[0]
        return vector

    async def embed_many(self, texts: Sequence[str]) -> Vectors:
        """The (len(texts), dimension) unit vectors of `texts`, in order."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.max_batch):
            chunk = list(texts[start : start + self.max_batch])
            out[start : start + len(chunk)] = await self.submit(chunk)
        return out

    def submit(self, texts: list[str]) -> asyncio.Future[Vectors]:
        """Queue `texts` now and return the future of their (len(texts), dimension) vectors. Cancelling the
        future before its batch starts takes the texts out of it."""
        if self._closed:
            raise RuntimeError("BatchingEmbedder is closed")
        loop = asyncio.get_running_loop()
        request = _Request(texts, loop.create_future())
        self._queue.append(request)
        if not self._busy:
            self._busy = True
            loop.call_soon(self._start_batch, loop)
        return request.result

    async def close(self) -> None:
        """Answer everything already queued, then stop the worker thread. Later calls raise `RuntimeError`."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        if self._busy:
            self._idle = loop.create_future()
            await asyncio.shield(self._idle)
        await loop.run_in_executor(None, self._executor.shutdown, True)

    async def __aenter__(self) -> BatchingEmbedder:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

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

    def _start_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand the next batch to the worker thread (a loop callback); with nothing queued, become idle."""
        batch = self._take_batch()
        if not batch:
            self._busy = False
            if self._idle is not None and not self._idle.done():
                self._idle.set_result(None)
            return
        texts = [text for request in batch for text in request.texts]
        try:
            running = self._executor.submit(self.embedder.embed, texts)
        except RuntimeError as error:  # the executor was shut down (the loop is going away)
            _fail(batch, error)
            self._start_batch(loop)
            return

        def finished(done: Future[Vectors]) -> None:  # on the worker thread
            with contextlib.suppress(RuntimeError):  # the loop was closed meanwhile: nobody is left to answer
                loop.call_soon_threadsafe(self._finish_batch, loop, batch, done)

        running.add_done_callback(finished)

    def _finish_batch(self, loop: asyncio.AbstractEventLoop, batch: list[_Request], done: Future[Vectors]) -> None:
        """Answer a batch's callers from the worker's result (a loop callback), then start the next batch."""
        try:
            error = RuntimeError("embedding was cancelled") if done.cancelled() else done.exception()
            if error is None:
                self._answer(batch, done.result())
            elif isinstance(error, EmbedderLoadError):  # logged once when loading failed; not again per request
                _fail(batch, error)
            else:  # handed to every caller of this batch
                count = sum(len(request.texts) for request in batch)
                logger.error("embedding a batch of %d texts failed", count, exc_info=error)
                _fail(batch, error)
        finally:
            self._start_batch(loop)

    def _answer(self, batch: list[_Request], vectors: Vectors) -> None:
        self.batches_run += 1
        offset = 0
        for request in batch:
            rows = vectors[offset : offset + len(request.texts)]
            offset += len(request.texts)
            if not request.result.done():
                request.result.set_result(rows)
        self.texts_embedded += offset


def _fail(batch: list[_Request], error: BaseException) -> None:
    for request in batch:
        if not request.result.done():
            request.result.set_exception(error)
