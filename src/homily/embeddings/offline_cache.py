"""Offline embedding of evaluation and training texts with the local model, cached on disk per text.

Router and guard training and `homily eval routing` / `homily eval guard` embed thousands of prompts; doing that
once and reusing it keeps the shared CPU free. The request path never uses this module: it receives the shared
per-request query embedding instead. (Retrieval evaluation caches whole corpora block by block instead:
`homily.grounding.embedder.cached_embeddings`.)
"""

from __future__ import annotations

import hashlib
import logging
import sys
import tempfile
import time
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
        vectors = embed_with_progress(embedder, [text for _, text in missing], note=" (cached for next time)")
        known.update({key: vectors[i] for i, (key, _) in enumerate(missing)})
        all_keys = sorted(known)
        np.savez(
            cache_file,
            keys=np.array(all_keys),
            vectors=np.stack([known[key] for key in all_keys]).astype(np.float32),
        )
    return np.stack([known[key] for key in wanted]).astype(np.float32)


PROGRESS_BATCH = 256
PROGRESS_SECONDS = 10.0
"""A first evaluation run embeds thousands of texts (minutes on two cores): say how far it got this often."""


def embed_with_progress(embedder: Embedder, texts: Sequence[str], note: str = "") -> npt.NDArray[np.float32]:
    """`embedder.embed(texts)` in batches, with a line on stderr every `PROGRESS_SECONDS` (done, total, time left,
    then `note`)."""
    started = time.monotonic()
    next_report = started + PROGRESS_SECONDS
    parts: list[npt.NDArray[np.float32]] = []
    done = 0
    for start in range(0, len(texts), PROGRESS_BATCH):
        batch = list(texts[start : start + PROGRESS_BATCH])
        parts.append(np.asarray(embedder.embed(batch), dtype=np.float32))
        done += len(batch)
        now = time.monotonic()
        if now >= next_report and done < len(texts):
            left = (now - started) / done * (len(texts) - done)
            sys.stderr.write(
                f"embedding texts: {done:,} of {len(texts):,} ({done / len(texts):.0%}), about {_duration(left)} left"
                f"{note}\n"
            )
            next_report = now + PROGRESS_SECONDS
    return np.concatenate(parts) if parts else np.zeros((0, embedder.dimension), dtype=np.float32)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
