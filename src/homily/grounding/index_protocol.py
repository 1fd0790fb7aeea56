"""What callers need from a chunk index and from the reader of chunks awaiting vectors, whatever the backend.

Two implementations exist: `homily.grounding.index.ChunkIndex` (SQLite FTS5 + an in-process dense index that follows
other processes' writes through a change log) and `homily.grounding.pg_index.PostgresChunkIndex` (PostgreSQL
tsvector + pgvector, shared by replicas). Every method is blocking: async code calls them through
`asyncio.to_thread`.

Contract shared by both: `add` replaces chunks of the same `chunk_id`; a chunk becomes densely searchable once it
has a vector (`add` with one, or `set_vectors`), keyword-searchable at once; `delete_items` and `update_item` are
visible to the next search, also in another process's index on the same database; `search` and `candidates` never
return another publisher's chunks; ranking is `homily.grounding.fusion.fuse` over the candidates, so both backends
order evidence by the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from homily.grounding.embedder import FloatMatrix
from homily.grounding.fusion import Candidate, RetrievalParams
from homily.grounding.index import ChunkRecord, SearchResult

KeywordHits = list[tuple[int, float]]
"""(chunk rowid, keyword score), best first: the result of `keyword_candidates`, accepted back by `search`."""


class ChunkIndexProtocol(Protocol):
    """A hybrid (keyword + dense) index over the chunks of every publisher."""

    def add(self, records: Sequence[ChunkRecord]) -> None: ...

    def set_vectors(self, chunk_ids: Sequence[str], vectors: FloatMatrix) -> None: ...

    def delete_items(self, item_ids: Sequence[str]) -> int: ...

    def update_item(self, item_id: str, *, title: str | None = None, tradition: str | None = None) -> None: ...

    def count(self, publisher_id: str | None = None) -> int:
        """Chunks with a vector (densely searchable), of one publisher or of all."""
        ...

    def keyword_candidates(
        self, query: str, publisher_id: str, params: RetrievalParams | None = None
    ) -> KeywordHits: ...

    def candidates(
        self,
        query: str,
        query_vector: FloatMatrix,
        publisher_id: str,
        params: RetrievalParams,
        keyword_hits: KeywordHits | None = None,
    ) -> list[Candidate]: ...

    def search(
        self,
        query: str,
        query_vector: FloatMatrix,
        publisher_id: str,
        *,
        limit: int = 10,
        tradition: str | None = None,
        params: RetrievalParams | None = None,
        keyword_hits: KeywordHits | None = None,
    ) -> SearchResult: ...

    def load(self) -> int:
        """Make stored vectors searchable (a cache refill where the dense index lives in the process)."""
        ...

    def extend_graphs(self, max_rows: int = 256) -> int:
        """One slice of background upkeep; 0 when there is nothing to do."""
        ...

    def graphs_current(self) -> bool: ...

    def close(self) -> None: ...


class UnembeddedChunksProtocol(Protocol):
    """Reads the chunks of an item that still wait for a vector (resuming EMBEDDING without re-chunking)."""

    def of_item(self, item_id: str) -> tuple[int, list[tuple[str, str]]]:
        """(chunk count, [(chunk_id, embedding text)] of the chunks without a vector), in chunk order."""
        ...

    async def of_item_async(self, item_id: str) -> tuple[int, list[tuple[str, str]]]: ...

    def close(self) -> None: ...
