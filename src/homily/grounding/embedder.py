"""The embedding seam grounding depends on, and a cache of corpus embeddings for evaluation and benchmarks.

`TextEmbedder` is `homily.embeddings.Embedder` under the name grounding code uses; the local model comes from
`homily.embeddings.load_local_embedder`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from homily.embeddings.protocol import Embedder as TextEmbedder

log = logging.getLogger(__name__)

FloatMatrix = npt.NDArray[np.float32]

__all__ = ["FloatMatrix", "TextEmbedder", "cached_embeddings"]


def cached_embeddings(
    embedder: TextEmbedder, texts: Sequence[str], cache_dir: Path, label: str, block: int = 1024
) -> FloatMatrix:
    """Embed `texts`, reusing `<cache_dir>/<label>-<digest>.npy` when the same model already embedded them
    (a local graph is named by its `cache_tag`: precision and builder included).

    Work is saved in blocks of `block` texts keyed by their content, so an interrupted or edited run reuses
    every block it already embedded (`<cache_dir>/<label>.parts/`, kept for that reason)."""
    tag: str = getattr(embedder, "cache_tag", embedder.model_name)
    digest = hashlib.sha256(tag.encode())
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
        part = parts_dir / f"block-{_block_digest(tag, texts[start : start + block])}.npy"
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


def _block_digest(tag: str, texts: Sequence[str]) -> str:
    digest = hashlib.sha256(tag.encode())
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:16]
