"""Offline embedding of evaluation and training texts with the local model, cached on disk per text.

Router and guard training and `homily eval routing` / `homily eval guard` embed thousands of prompts; doing that
once and reusing it keeps the shared CPU free. The request path never uses this module: it receives the shared
per-request query embedding instead. (Retrieval evaluation caches whole corpora block by block instead:
`homily.grounding.embedder.cached_embeddings`.)
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from homily.embeddings.local import graph_tag, load_local_embedder
from homily.embeddings.protocol import Embedder

logger = logging.getLogger(__name__)

def default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / "homily-embedding-cache"


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def embed_cached(
    texts: Sequence[str], cache_dir: Path, embedder_factory: Callable[[], Embedder] = load_local_embedder
) -> npt.NDArray[np.float32]:
    """Embeddings of `texts` (len x 384), computing only those missing from `cache_dir/embeddings-<tag>.npz`,
    where the tag names the default local graph (vectors of another precision or builder are never reused)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache_file = cache_dir / f"embeddings-{graph_tag()}.npz"
    known: dict[str, npt.NDArray[np.float32]] = {}
    if cache_file.exists():
        with np.load(cache_file, allow_pickle=False) as stored:
            keys = [str(key) for key in stored["keys"]]
            known = dict(zip(keys, stored["vectors"], strict=True))
    wanted = [_text_key(text) for text in texts]
    missing = sorted({key: text for key, text in zip(wanted, texts, strict=True) if key not in known}.items())
    if missing:
        logger.info("embedding %d new texts (cache has %d)", len(missing), len(known))
        embedder = embedder_factory()
        vectors = embedder.embed([text for _, text in missing])
        known.update({key: vectors[i] for i, (key, _) in enumerate(missing)})
        all_keys = sorted(known)
        np.savez(
            cache_file,
            keys=np.array(all_keys),
            vectors=np.stack([known[key] for key in all_keys]).astype(np.float32),
        )
    return np.stack([known[key] for key in wanted]).astype(np.float32)
