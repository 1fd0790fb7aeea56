"""The embedding seam shared by routing, guard and retrieval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
"""A (rows, dimension) float32 matrix of unit-length rows, or one (dimension,) unit vector."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of a fixed dimension.

    Invariant: `embed(texts)` returns shape (len(texts), dimension), row i belongs to texts[i], every row has
    L2 norm 1 (so a dot product is a cosine). Callers rely on this to compare vectors from different calls and
    to mix vectors computed at ingest time with those computed per request. `embed` blocks: call it from a
    worker thread (see `BatchingEmbedder`), never from the event loop.
    """

    model_name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> Vectors: ...


@dataclass(frozen=True, slots=True)
class EmbeddedQuery:
    """One text's unit vector and, when the embedder can give them, its token states.

    `token_states` is (tokens, dimension) float32: the encoder's last-layer output per word piece ([CLS] and
    [SEP] included, truncated like the vector's input), the values mean pooling averaged into `vector`; None
    when the embedder has no such output (a remote embedder, a graph built without it).
    """

    vector: Vectors
    token_states: Vectors | None = None


def embedded_query(embedder: Embedder, text: str) -> EmbeddedQuery:
    """`text`'s vector, with token states when `embedder` offers `embed_with_token_states` (blocking)."""
    with_states = getattr(embedder, "embed_with_token_states", None)
    if with_states is not None:
        result: EmbeddedQuery = with_states(text)
        return result
    return EmbeddedQuery(embedder.embed([text])[0])
