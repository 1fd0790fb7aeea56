"""Adapter to the shared local embedder (all-MiniLM-L6-v2) for offline use: CLI explain/eval and training.

On the request path the service hands `screen` the per-request query embedding instead. An optional on-disk
cache (`homily.embeddings.offline_cache`, shared with the router's training and evaluation) avoids re-embedding
eval sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from homily.embeddings.offline_cache import embed_cached, embed_with_progress
from homily.embeddings.protocol import Embedder


class LocalEmbedFunction:
    """Callable texts -> (n, 384) float32 L2-normalised; the model loads on first call."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir
        self._model: Embedder | None = None

    def _load(self) -> Embedder:
        if self._model is None:
            from homily.embeddings import load_local_embedder

            self._model = load_local_embedder()
        return self._model

    def _compute(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return embed_with_progress(self._load(), texts)

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        if self._cache_dir is None:
            return self._compute(texts)
        return embed_cached(texts, self._cache_dir, self._load)
