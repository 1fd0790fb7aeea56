"""In-process exact vector index: one growable float32 matrix per publisher, scanned with one mat-vec product.

Exact search keeps recall at 100% and needs no rebuild on delete; at 100,000 x 384 a scan costs a few ms on
this machine (see bench/retrieval.py), so an approximate graph (HNSW) buys little here. The matrix is a cache:
the vectors' source of truth is the chunks table, from which `ChunkIndex` refills it at start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from homily.grounding.embedder import FloatMatrix

IntArray = npt.NDArray[np.int64]


@dataclass(slots=True)
class DenseShard:
    """Rows of one publisher. Invariant: `rowids[i]` is the chunk rowid of `matrix[i]` for i < size; dead rows
    (deleted chunks) have `alive[i] == False` and are compacted away once they outnumber live ones."""

    dimension: int
    matrix: FloatMatrix = field(init=False)
    rowids: IntArray = field(init=False)
    alive: npt.NDArray[np.bool_] = field(init=False)
    size: int = 0
    dead: int = 0
    position: dict[int, int] = field(default_factory=dict)

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
        if self.dead > max(1024, self.size // 2):
            self._compact()

    def _compact(self) -> None:
        keep = np.flatnonzero(self.alive[: self.size])
        self.matrix = np.ascontiguousarray(self.matrix[keep])
        self.rowids = self.rowids[keep]
        self.alive = np.ones(len(keep), dtype=np.bool_)
        self.size, self.dead = len(keep), 0
        self.position = {int(rowid): index for index, rowid in enumerate(self.rowids)}

    def search(self, query: FloatMatrix, limit: int) -> tuple[IntArray, FloatMatrix]:
        """Rowids and cosine similarities of the `limit` nearest live rows, best first."""
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
