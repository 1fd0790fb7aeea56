"""The embedding seam shared by routing, guard and retrieval."""

from __future__ import annotations

from collections.abc import Sequence
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
