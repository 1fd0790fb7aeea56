"""In-process vector index: one growable float32 matrix per publisher, plus an HNSW graph once it is large.

Small shards are scanned exactly with one mat-vec product (recall 100%, ~1 ms at 20,000 rows). From
`GRAPH_THRESHOLD` rows a `NeighbourGraph` proposes candidates, which are rescored exactly from the matrix; it is
built a slice at a time by `extend_graph` (driven from a background task) and used only once it covers every
row, so a search never misses a freshly added chunk. The matrix is a cache: the vectors' source of truth is the
chunks table, from which `ChunkIndex` refills it at start and replays other connections' changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from homily.grounding.embedder import FloatMatrix
from homily.grounding.graph import NeighbourGraph

IntArray = npt.NDArray[np.int64]

# Below this many rows an exact scan is about as fast as a graph walk and needs no upkeep.
GRAPH_THRESHOLD = 20_000


@dataclass(slots=True)
class DenseShard:
    """Rows of one publisher. Invariant: `rowids[i]` is the chunk rowid of `matrix[i]` for i < size; dead rows
    (deleted chunks) have `alive[i] == False` and are compacted away once they outnumber live ones. The graph,
    when present, holds every live row at positions below `graph_covered`."""

    dimension: int
    graph_threshold: int = GRAPH_THRESHOLD
    matrix: FloatMatrix = field(init=False)
    rowids: IntArray = field(init=False)
    alive: npt.NDArray[np.bool_] = field(init=False)
    size: int = 0
    dead: int = 0
    position: dict[int, int] = field(default_factory=dict)
    graph: NeighbourGraph | None = None
    graph_covered: int = 0

    def __post_init__(self) -> None:
        self.matrix = np.zeros((16, self.dimension), dtype=np.float32)
        self.rowids = np.zeros(16, dtype=np.int64)
        self.alive = np.zeros(16, dtype=np.bool_)

    def add(self, rowids: Sequence[int], vectors: FloatMatrix) -> None:
        needed = self.size + len(rowids)
        if needed > len(self.matrix):
            capacity = max(needed, 2 * len(self.matrix))
            self.matrix = np.resize(self.matrix, (capacity, self.dimension))
            self.rowids = np.resize(self.rowids, capacity)
            self.alive = np.resize(self.alive, capacity)
        end = self.size + len(rowids)
        self.matrix[self.size : end] = vectors
        self.rowids[self.size : end] = rowids
        self.alive[self.size : end] = True
        for offset, rowid in enumerate(rowids):
            previous = self.position.get(rowid)
            if previous is not None:
                self.alive[previous] = False
                self.dead += 1
            self.position[rowid] = self.size + offset
        self.size = end

    def remove(self, rowids: Sequence[int]) -> None:
        for rowid in rowids:
            index = self.position.pop(rowid, None)
            if index is not None and self.alive[index]:
                self.alive[index] = False
                self.dead += 1
        if self.graph is not None:
            self.graph.remove(rowids)
        if self.dead > max(1024, self.size // 2):
            self._compact()

    def _compact(self) -> None:
        keep = np.flatnonzero(self.alive[: self.size])
        # Rows keep their order, so the rows the graph covered are still a prefix.
        self.graph_covered = int(np.searchsorted(keep, self.graph_covered))
        self.matrix = np.ascontiguousarray(self.matrix[keep])
        self.rowids = self.rowids[keep]
        self.alive = np.ones(len(keep), dtype=np.bool_)
        self.size, self.dead = len(keep), 0
        self.position = {int(rowid): index for index, rowid in enumerate(self.rowids)}

    @property
    def graph_current(self) -> bool:
        """True when searches go through the graph: it exists and covers every row."""
        return self.graph is not None and self.graph_covered >= self.size

    def extend_graph(self, max_rows: int) -> int:
        """Add up to `max_rows` not yet covered rows to the graph (creating it once the shard reaches the
        threshold); returns how many positions were consumed, 0 when there is nothing to do."""
        if self.graph is None:
            if self.size - self.dead < self.graph_threshold:
                return 0
            self.graph = NeighbourGraph(self.dimension)
        start = self.graph_covered
        stop = min(self.size, start + max_rows)
        if stop <= start:
            return 0
        live = start + np.flatnonzero(self.alive[start:stop])
        self.graph.add(self.rowids[live].tolist(), self.matrix[live])
        self.graph_covered = stop
        return stop - start

    def search(self, query: FloatMatrix, limit: int) -> tuple[IntArray, FloatMatrix]:
        """Rowids and cosine similarities of the `limit` nearest live rows, best first (exact scores; the set
        is exact below the graph threshold and approximate above it)."""
        if self.size == 0 or limit <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.graph is not None and self.graph_current:
            return self._graph_search(self.graph, query, limit)
        return self.exact_search(query, limit)

    def _graph_search(self, graph: NeighbourGraph, query: FloatMatrix, limit: int) -> tuple[IntArray, FloatMatrix]:
        proposed = graph.search(query, limit)
        positions = np.fromiter(
            (p for p in (self.position.get(int(rowid)) for rowid in proposed) if p is not None and self.alive[p]),
            dtype=np.int64,
        )
        scores = self.matrix[positions] @ query
        order = np.argsort(-scores, kind="stable")[:limit]
        return self.rowids[positions[order]], scores[order].astype(np.float32)

    def exact_search(self, query: FloatMatrix, limit: int) -> tuple[IntArray, FloatMatrix]:
        """The `limit` nearest live rows by a full scan."""
        if self.size == 0 or limit <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = self.matrix[: self.size] @ query
        if self.dead:
            scores = np.where(self.alive[: self.size], scores, np.float32(-np.inf))
        live = self.size - self.dead
        count = min(limit, live)
        if count <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        top = np.argpartition(-scores, count - 1)[:count] if count < self.size else np.arange(self.size)
        top = top[np.argsort(-scores[top], kind="stable")][:count]
        return self.rowids[top], scores[top].astype(np.float32)

    def similarity(self, query: FloatMatrix, rowids: Sequence[int]) -> dict[int, float]:
        """Exact cosine of `query` with each given live row (missing rows are left out)."""
        pairs = [(rowid, self.position[rowid]) for rowid in rowids if rowid in self.position]
        if not pairs:
            return {}
        positions = np.fromiter((p for _, p in pairs), dtype=np.int64, count=len(pairs))
        scores = self.matrix[positions] @ query
        return {rowid: float(score) for (rowid, _), score in zip(pairs, scores, strict=True)}

    def __len__(self) -> int:
        return self.size - self.dead
