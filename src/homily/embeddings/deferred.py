"""`DeferredEmbedder`: an `Embedder` whose model loads on a background thread while the server already answers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from homily.embeddings.protocol import EmbeddedQuery, Embedder, Vectors, embedded_query

log = logging.getLogger("homily.embeddings")


class EmbedderLoadError(RuntimeError):
    """The local embedding model could not be loaded; the server log has the cause."""


class DeferredEmbedder:
    """Starts loading at construction; `embed` waits for the model (on the caller's worker thread, never the
    event loop) and then delegates. A failed load is logged once, with its cause, and every later `wait` or
    `embed` raises `EmbedderLoadError`, so callers can degrade (lexical-only guard, rule router) instead of failing.

    Invariant: `model_name` and `dimension` are known before the model is, and the loaded model must match them,
    so callers can size buffers and indexes at once.
    """

    def __init__(self, load: Callable[[], Embedder], model_name: str, dimension: int) -> None:
        self.model_name = model_name
        self.dimension = dimension
        self._loaded: Future[Embedder] = Future()
        threading.Thread(target=self._load, args=(load,), name="homily-embedder-load", daemon=True).start()

    def _load(self, load: Callable[[], Embedder]) -> None:
        try:
            embedder = load()
            if (embedder.model_name, embedder.dimension) != (self.model_name, self.dimension):
                raise ValueError(
                    f"loaded {embedder.model_name} ({embedder.dimension} dimensions), expected {self.model_name}"
                    f" ({self.dimension})"
                )
        except Exception as error:
            log.exception("the embedding model failed to load; guard and router work without it until a restart")
            failure = EmbedderLoadError(f"the embedding model failed to load: {error}")
            failure.__cause__ = error
            self._loaded.set_exception(failure)
            return
        log.info("embedding model ready", extra={"model": self.model_name})
        self._loaded.set_result(embedder)

    @property
    def state(self) -> str:
        """`loading`, `ready` or `failed` (for readiness probes)."""
        if not self._loaded.done():
            return "loading"
        return "failed" if self._loaded.exception() is not None else "ready"

    def wait(self, timeout: float | None = None) -> Embedder:
        """The loaded model (blocking)."""
        return self._loaded.result(timeout)

    def embed(self, texts: Sequence[str]) -> Vectors:
        return self.wait().embed(texts)

    def embed_with_token_states(self, text: str) -> EmbeddedQuery:
        """`text`'s vector, with token states when the loaded model gives them."""
        return embedded_query(self.wait(), text)
