"""`NeighbourGraph`: an approximate nearest-neighbour graph (HNSW, usearch) over one publisher's vectors.

At 100,000 x 384 an exact NumPy scan costs ~6 ms and streams 150 MB through the cache on every query (which
also evicts the embedding model's weights); an HNSW walk touches a few thousand vectors in under a millisecond.
The graph only proposes candidates: `DenseShard` keeps the exact matrix, rescores what the graph returns and
drops rows that died meanwhile, so a deletion is never returned even before the graph forgets it. The graph is
a cache built in the background from the shard (`DenseShard.extend_graph`); nothing is lost if it is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from usearch.index import Index

from homily.grounding.embedder import FloatMatrix

IntArray = npt.NDArray[np.int64]

# Search breadth: with 100 candidates asked for, 256 keeps recall@100 near 0.95 on real chunk vectors at 100k
# rows (64, usearch's default, gives ~0.85), for about a millisecond (bench/retrieval.py prints both).
EXPANSION_SEARCH = 256
EXPANSION_ADD = 96
CONNECTIVITY = 16


class NeighbourGraph:
    """HNSW over unit vectors keyed by chunk rowid (inner product = cosine). Not thread-safe: the owning
    `ChunkIndex` serialises calls under its lock. Invariant: a key is in the graph at most once."""

    def __init__(self, dimension: int) -> None:
        self._graph = Index(
            ndim=dimension,
            metric="ip",
            dtype="f32",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )

    def add(self, rowids: Sequence[int], vectors: FloatMatrix) -> None:
        """Insert rows, replacing any row already stored under the same rowid. One thread: graph building runs
        beside live traffic on a small machine and must not take every core."""
        if not len(rowids):
            return
        self.remove(rowids)
        keys = np.asarray(rowids, dtype=np.uint64)
        self._graph.add(keys, np.ascontiguousarray(vectors, dtype=np.float32), threads=1)

    def remove(self, rowids: Sequence[int]) -> None:
        """Forget these rowids; ids the graph never held are ignored."""
        if not len(rowids):
            return
        keys = np.asarray(rowids, dtype=np.uint64)
        present = np.asarray(self._graph.contains(keys), dtype=np.bool_).reshape(-1)
        if present.any():
            self._graph.remove(keys[present])

    def search(self, query: FloatMatrix, count: int) -> IntArray:
        """Rowids of about the `count` nearest rows, nearest first (approximate)."""
        if count <= 0 or len(self._graph) == 0:
            return np.zeros(0, dtype=np.int64)
        found = self._graph.search(np.asarray(query, dtype=np.float32).reshape(-1), count, threads=1)
        return np.asarray(found.keys, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._graph)
