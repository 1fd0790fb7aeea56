"""`ChunkIndex`: hybrid retrieval over the chunks table (SQLite FTS5 BM25 + an in-process dense index).

The chunks table is the source of truth for text and vectors; the FTS5 index follows it through triggers
inside the same transaction, and the dense matrices are refilled from it by `load()` at start. Writes and
searches hold one lock, so a deletion is visible to the next search in both indexes at once.

Other connections (another process such as `homily ingest`, or another `ChunkIndex` on the same file) write the
same table: triggers log each row they insert, delete or give a new vector or publisher in `chunk_changes`, and
a search first replays the entries newer than the last this index applied (`_follow_changes`). Noticing that
there are none costs one `PRAGMA data_version`, which moves only when another connection commits.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from homily.grounding.candidates import (
    ChunkRow,
    book_search_params,
    referenced_candidates,
    union_candidates,
    with_quotations,
)
from homily.grounding.dense import GRAPH_THRESHOLD, DenseShard
from homily.grounding.embedder import FloatMatrix
from homily.grounding.fusion import Candidate, Ranked, RetrievalParams, fuse
from homily.grounding.keyword import match_expression, query_terms
from homily.grounding.quotes import shingles, with_variants
from homily.grounding.schema import CHANGE_LOG_SCHEMA, CHUNK_SCHEMA
from homily.grounding.scripture import book_query, find_references, with_referenced

log = logging.getLogger(__name__)

HEADING_SEPARATOR = " > "
STATISTICS_SLACK = 500
"""Rows that may change before the keyword-planning statistics are gathered again (or a tenth of the index)."""


def scope_token(publisher_id: str) -> str:
    """A single FTS5 token naming the publisher, so the keyword query is scoped inside the inverted index."""
    return "pub" + uuid.uuid5(uuid.NAMESPACE_URL, publisher_id).hex


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """A chunk as ingestion stores it. `vector` is None until the embedding step has run."""

    chunk_id: str
    item_id: str
    publisher_id: str
    ordinal: int
    title: str
    heading_path: tuple[str, ...]
    text: str
    char_start: int
    char_end: int
    token_count: int
    content_hash: str
    tradition: str | None
    vector: FloatMatrix | None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A ranked chunk. `score` orders hits; `similarity` is the cosine the relevance threshold applies to."""

    chunk_id: str
    item_id: str
    publisher_id: str
    title: str
    heading_path: tuple[str, ...]
    text: str
    tradition: str | None
    score: float
    similarity: float
    relevant: bool


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: list[SearchHit]

    @property
    def sources_returned(self) -> bool:
        """True when at least one hit clears the relevance threshold."""
        return any(hit.relevant for hit in self.hits)

    @property
    def relevant_hits(self) -> list[SearchHit]:
        return [hit for hit in self.hits if hit.relevant]


def ranked_result(ranked: Sequence[Ranked], rows: Mapping[int, ChunkRow], publisher_id: str) -> SearchResult:
    """The fused ranking as hits (a chunk whose row vanished meanwhile is left out)."""
    hits = []
    for entry in ranked:
        row = rows.get(entry.candidate.rowid)
        if row is None:
            continue
        hits.append(
            SearchHit(
                row.chunk_id,
                row.item_id,
                publisher_id,
                row.title,
                tuple(row.heading.split(HEADING_SEPARATOR)) if row.heading else (),
                row.text,
                row.tradition,
                entry.score,
                entry.candidate.similarity,
                entry.relevant,
            )
        )
    return SearchResult(hits)


def _vector_blob(vector: FloatMatrix | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype="<f4").tobytes()


class ChunkIndex:
    """Hybrid index over one SQLite database. Thread-safe; every public method is blocking (call it from a
    worker thread in async code). Invariant: a chunk is in the dense index iff its row has a vector, as of
    the last search (other connections' writes are applied when a search, count or graph upkeep starts)."""

    def __init__(
        self, connection: sqlite3.Connection, dimension: int = 384, graph_threshold: int = GRAPH_THRESHOLD
    ) -> None:
        self._db = connection
        self._dimension = dimension
        self._graph_threshold = graph_threshold
        self._lock = threading.RLock()
        self._shards: dict[str, DenseShard] = {}
        # Statistics for keyword planning; approximate by design, dropped once enough rows changed (see
        # `_note_changes`), so a busy ingestion does not make every query count its terms again.
        self._chunk_totals: dict[str | None, int] = {}
        self._term_counts: dict[tuple[str, str], int] = {}
        self._rows_changed = 0
        # The last `chunk_changes.seq` the shards reflect, and the connection's `PRAGMA data_version` when the
        # log was last read (it moves only when another connection commits).
        self._applied_seq = 0
        self._data_version = -1
        self._closed = False
        with self._lock, self._db:
            for statement in (*CHUNK_SCHEMA, *CHANGE_LOG_SCHEMA):
                self._db.execute(statement)

    @classmethod
    def open(cls, path: Path | str, dimension: int = 384, graph_threshold: int = GRAPH_THRESHOLD) -> ChunkIndex:
        """Open (creating if needed) the database at `path` in WAL mode and load the dense index from it."""
        connection = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        index = cls(connection, dimension, graph_threshold)
        index.load()
        return index

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._db.close()

    def load(self) -> int:
        """Rebuild the dense index from the vectors stored in the chunks table; returns the row count."""
        with self._lock:
            if self._db.in_transaction:
                return self._load_snapshot()
            with self._db:
                self._db.execute("BEGIN")  # one snapshot for the change-log position and the vectors
                return self._load_snapshot()

    def _load_snapshot(self) -> int:
        """`load` inside the caller's transaction."""
        self._shards.clear()
        self._forget_statistics()
        self._data_version = self._current_data_version()
        self._applied_seq = self._last_seq()
        cursor = self._db.execute("SELECT rowid, publisher_id, vector FROM chunks WHERE vector IS NOT NULL")
        total = 0
        while batch := cursor.fetchmany(4096):
            self._add_stored(batch)
            total += len(batch)
        return total

    def _add_stored(self, rows: Iterable[tuple[int, str, bytes]]) -> None:
        """Add stored vectors, `(rowid, publisher_id, float32 blob)`, to their publishers' shards."""
        by_publisher: dict[str, tuple[list[int], list[bytes]]] = {}
        for rowid, publisher_id, blob in rows:
            rowids, blobs = by_publisher.setdefault(publisher_id, ([], []))
            rowids.append(rowid)
            blobs.append(blob)
        for publisher_id, (rowids, blobs) in by_publisher.items():
            matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(rowids), self._dimension)
            self._shard(publisher_id).add(rowids, matrix)

    def _current_data_version(self) -> int:
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _last_seq(self) -> int:
        return int(self._db.execute("SELECT coalesce(max(seq), 0) FROM chunk_changes").fetchone()[0])

    def _follow_changes(self, *, force: bool = False) -> None:
        """Bring the shards up to the chunk changes other connections committed (caller holds the lock). Unless
        `force`d, the change log is read only when `PRAGMA data_version` says another connection committed."""
        version = self._current_data_version()
        if version == self._data_version and not force:
            return
        self._data_version = version
        changes = self._db.execute(
            "SELECT seq, chunk_rowid, publisher_id FROM chunk_changes WHERE seq > ? ORDER BY seq",
            (self._applied_seq,),
        ).fetchall()
        if not changes:
            return
        if changes[0][0] > self._applied_seq + 1:
            log.info("chunk change log pruned past this index's position; reloading the dense index")
            self.load()
            return
        publishers: dict[int, set[str]] = {}
        for _, rowid, publisher_id in changes:
            publishers.setdefault(int(rowid), set()).add(publisher_id)
        self._note_changes(len(publishers))
        self._apply_rows(publishers)
        self._applied_seq = int(changes[-1][0])

    def _apply_rows(self, publishers: Mapping[int, set[str]]) -> None:
        """Make the shards hold the current vector of each changed rowid (`publishers`: the rowid's publishers
        named in the log). A row now gone or without a vector leaves every shard it may be in."""
        rowids = list(publishers)
        current: dict[int, tuple[str, bytes | None]] = {}
        for start in range(0, len(rowids), 4096):
            rows = self._db.execute(
                "SELECT rowid, publisher_id, vector FROM chunks WHERE rowid IN (SELECT value FROM json_each(?))",
                (json.dumps(rowids[start : start + 4096]),),
            )
            current.update((int(rowid), (publisher_id, blob)) for rowid, publisher_id, blob in rows)
        added: list[tuple[int, str, bytes]] = []
        for rowid, logged in publishers.items():
            publisher_id, blob = current.get(rowid, ("", None))
            for stale in (logged - {publisher_id}) if blob is not None else (logged | {publisher_id}):
                shard = self._shards.get(stale)
                if shard is not None:
                    shard.remove([rowid])
            if blob is not None:
                added.append((rowid, publisher_id, blob))
        self._add_stored(added)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction of this index (caller holds the lock). `BEGIN IMMEDIATE` takes SQLite's write
        lock, so the other connections' changes applied first are all there are until the commit; the entries
        the transaction itself logs count as applied once it commits (the caller updates the shards)."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._follow_changes(force=True)
            yield
            last = self._last_seq()
        self._applied_seq = last

    def _forget_statistics(self) -> None:
        self._chunk_totals.clear()
        self._term_counts.clear()
        self._rows_changed = 0

    def _note_changes(self, rows: int) -> None:
        """Keep the planning statistics until the rows changed since they were gathered exceed a tenth of the
        index (and STATISTICS_SLACK rows): they only decide which terms are too common to score and whether to
        scope a keyword query, where a few percent of drift changes nothing."""
        self._rows_changed += rows
        total = self._chunk_totals.get(None)
        if total is None or self._rows_changed > max(STATISTICS_SLACK, total // 10):
            self._forget_statistics()

    def _shard(self, publisher_id: str) -> DenseShard:
        shard = self._shards.get(publisher_id)
        if shard is None:
            shard = self._shards[publisher_id] = DenseShard(self._dimension, self._graph_threshold)
        return shard

    def extend_graphs(self, max_rows: int = 256) -> int:
        """One slice of background upkeep: add up to `max_rows` rows to the neighbour graphs of large shards.
        Returns the rows consumed (0: every graph is current). Small slices keep the lock, which searches
        share, free most of the time."""
        with self._lock:
            self._follow_changes()
            for shard in self._shards.values():
                consumed = shard.extend_graph(max_rows)
                if consumed:
                    return consumed
            return 0

    def graphs_current(self) -> bool:
        """True when no shard waits for graph upkeep (small shards need none)."""
        with self._lock:
            return all(
                shard.graph_current or (shard.graph is None and len(shard) < shard.graph_threshold)
                for shard in self._shards.values()
            )

    def add(self, records: Sequence[ChunkRecord]) -> None:
        """Insert chunks (replacing same chunk_id) in one transaction, then index their vectors."""
        with self._lock:
            self._note_changes(len(records))
            with self._writing():
                replaced = self._rowids_of("chunk_id", [r.chunk_id for r in records])
                rowids = self._write(records)
            self._forget(replaced)
            self._index_vectors(zip(rowids, records, strict=True))

    def _write(self, records: Sequence[ChunkRecord]) -> list[int]:
        """Replace-insert the rows inside the caller's transaction; returns their rowids."""
        rowids: list[int] = []
        self._db.executemany("DELETE FROM chunks WHERE chunk_id = ?", [(r.chunk_id,) for r in records])
        for r in records:
            cursor = self._db.execute(
                "INSERT INTO chunks (chunk_id, item_id, publisher_id, scope, ordinal, title, heading,"
                " text, char_start, char_end, token_count, content_hash, tradition, vector)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    r.chunk_id,
                    r.item_id,
                    r.publisher_id,
                    scope_token(r.publisher_id),
                    r.ordinal,
                    r.title,
                    HEADING_SEPARATOR.join(r.heading_path),
                    r.text,
                    r.char_start,
                    r.char_end,
                    r.token_count,
                    r.content_hash,
                    r.tradition,
                    _vector_blob(r.vector),
                ),
            )
            rowids.append(int(cursor.lastrowid or 0))
        return rowids

    def _index_vectors(self, pairs: Iterable[tuple[int, ChunkRecord]]) -> None:
        grouped: dict[str, tuple[list[int], list[FloatMatrix]]] = {}
        for rowid, record in pairs:
            if record.vector is not None:
                rowids, vectors = grouped.setdefault(record.publisher_id, ([], []))
                rowids.append(rowid)
                vectors.append(record.vector)
        for publisher_id, (rowids, vectors) in grouped.items():
            self._shard(publisher_id).add(rowids, np.vstack(vectors).astype(np.float32))

    def set_vectors(self, chunk_ids: Sequence[str], vectors: FloatMatrix) -> None:
        """Store the embeddings of already written chunks and make them searchable densely."""
        with self._lock:
            with self._writing():
                self._db.executemany(
                    "UPDATE chunks SET vector = ? WHERE chunk_id = ?",
                    [(_vector_blob(v), c) for c, v in zip(chunk_ids, vectors, strict=True)],
                )
                stored = self._rowids_of("chunk_id", list(chunk_ids), "chunk_id")
            position = {chunk_id: i for i, chunk_id in enumerate(chunk_ids)}
            for rowid, publisher_id, chunk_id in stored:
                self._shard(publisher_id).add([rowid], vectors[position[chunk_id]][None, :])

    def _rowids_of(self, column: str, values: Sequence[str], *extra: str) -> list[tuple[Any, ...]]:
        """`(rowid, publisher_id, *extra)` of rows whose `column` is in `values` (column names are ours)."""
        found: list[tuple[Any, ...]] = []
        selected = ", ".join(("rowid", "publisher_id", *extra))
        for start in range(0, len(values), 500):
            part = values[start : start + 500]
            placeholders = ",".join("?" * len(part))
            sql = f"SELECT {selected} FROM chunks WHERE {column} IN ({placeholders})"  # noqa: S608
            found.extend(self._db.execute(sql, list(part)).fetchall())
        return found

    def _forget(self, rows: list[tuple[Any, ...]]) -> None:
        for rowid, publisher_id, *_ in rows:
            shard = self._shards.get(publisher_id)
            if shard is not None:
                shard.remove([rowid])

    def delete_items(self, item_ids: Sequence[str]) -> int:
        """Remove every chunk of these items from the table, the keyword and the dense index at once."""
        with self._lock:
            with self._writing():
                rows = self._rowids_of("item_id", list(item_ids))
                self._db.executemany("DELETE FROM chunks WHERE item_id = ?", [(i,) for i in item_ids])
            self._note_changes(len(rows))
            self._forget(rows)
            return len(rows)

    def update_item(self, item_id: str, *, title: str | None = None, tradition: str | None = None) -> None:
        """Propagate an item's new title or tradition to its chunks (both are used in ranking)."""
        with self._lock, self._db:
            self._forget_statistics()
            if title is not None:
                self._db.execute("UPDATE chunks SET title = ? WHERE item_id = ?", (title, item_id))
            if tradition is not None:
                self._db.execute("UPDATE chunks SET tradition = ? WHERE item_id = ?", (tradition, item_id))

    def count(self, publisher_id: str | None = None) -> int:
        """Dense rows (of one publisher); after `close`, as they were then."""
        with self._lock:
            if not self._closed:
                self._follow_changes()
            if publisher_id is None:
                return sum(len(shard) for shard in self._shards.values())
            shard = self._shards.get(publisher_id)
            return 0 if shard is None else len(shard)

    def _keyword(self, query: str, publisher_id: str, params: RetrievalParams) -> list[tuple[int, float]]:
        """BM25 candidates of one publisher: the query's selective words and their variants (`quotes.with_variants`)."""
        terms = self._selective_terms(query_terms(with_variants(query)), publisher_id, params)
        return self._matching(terms, publisher_id, params, params.keyword_candidates)

    def _matching(
        self, terms: list[str], publisher_id: str, params: RetrievalParams, wanted: int
    ) -> list[tuple[int, float]]:
        """The `wanted` best BM25 matches of any of `terms` (words or phrases) among the publisher's chunks. Scoping
        normally intersects with the publisher's scope token, but when the publisher holds most of the index that
        intersection costs more than it removes (a 100k-entry doclist walked per query), so the query runs unscoped
        with a proportionally larger limit and other publishers' rows are dropped afterwards (`candidates` checks
        every row's publisher anyway)."""
        share = self._publisher_total(publisher_id) / max(1, self._publisher_total(None))
        scoped = share < params.unscoped_keyword_share
        expression = match_expression(terms, scope_token(publisher_id) if scoped else None)
        if expression is None or wanted <= 0:
            return []
        limit = wanted if scoped else math.ceil(wanted / share) + 8
        rows = self._db.execute(
            "SELECT rowid, bm25(chunks_fts, 0.0, ?, ?, 1.0) AS rank FROM chunks_fts"
            " WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?",
            (params.title_weight, params.heading_weight, expression, limit),
        ).fetchall()
        hits = [(int(rowid), -float(rank)) for rowid, rank in rows]
        if not scoped:
            owners = self._items_of([rowid for rowid, _ in hits])
            hits = [hit for hit in hits if owners.get(hit[0], ("", None, ""))[2] == publisher_id]
        return hits[:wanted]

    def _publisher_total(self, publisher_id: str | None) -> int:
        """Chunk rows of one publisher (None: of all), cached until chunks change."""
        total = self._chunk_totals.get(publisher_id)
        if total is None:
            if publisher_id is None:
                row = self._db.execute("SELECT count(*) FROM chunks").fetchone()
            else:
                row = self._db.execute("SELECT count(*) FROM chunks WHERE publisher_id = ?", (publisher_id,)).fetchone()
            total = self._chunk_totals[publisher_id] = int(row[0])
        return total

    def _selective_terms(self, terms: list[str], publisher_id: str, params: RetrievalParams) -> list[str]:
        """Drop terms found in more than `max_term_share` of the publisher's chunks or in more than
        `max_term_rows` chunks (keeping the two rarest when all are that common): FTS5 scores every matching
        row, so such terms cost time in proportion to the library's size while adding little BM25 weight
        (the dense half of the search still sees the whole question)."""
        total = self._publisher_total(publisher_id)
        if total < 2000 or params.max_term_share >= 1.0 or not terms:
            return terms
        frequencies = {term: self._term_frequency(term, publisher_id) for term in terms}
        ceiling = min(params.max_term_share * total, params.max_term_rows)
        kept = [term for term in terms if frequencies[term] <= ceiling]
        return kept or sorted(terms, key=lambda term: frequencies[term])[:2]

    def _term_frequency(self, term: str, publisher_id: str) -> int:
        key = (publisher_id, term)
        cached = self._term_counts.get(key)
        if cached is None:
            expression = match_expression([term], scope_token(publisher_id))
            row = self._db.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (expression,)).fetchone()
            cached = self._term_counts[key] = int(row[0])
        return cached

    def keyword_candidates(
        self, query: str, publisher_id: str, params: RetrievalParams | None = None
    ) -> list[tuple[int, float]]:
        """The BM25 candidates alone. They need no query vector, so a caller can run this (SQLite releases the GIL)
        while the query is being embedded, and pass the result to `search(..., keyword_hits=...)`."""
        with self._lock:
            return self._keyword(query, publisher_id, params or RetrievalParams())

    def candidates(
        self,
        query: str,
        query_vector: FloatMatrix,
        publisher_id: str,
        params: RetrievalParams,
        keyword_hits: list[tuple[int, float]] | None = None,
    ) -> list[Candidate]:
        """Keyword and dense candidates (union, each with both scores and its item), before fusion."""
        vector = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        with self._lock:
            self._follow_changes()
            shard = self._shards.get(publisher_id) or DenseShard(self._dimension)
            if keyword_hits is None:
                keyword_hits = self._keyword(query, publisher_id, params)
            references = find_references(query)
            if references:
                book_hits = self._keyword(book_query(references), publisher_id, book_search_params(params))
                keyword_hits = with_referenced(
                    keyword_hits, book_hits, lambda rowids: referenced_candidates(references, self._rows(rowids))
                )
            phrase_hits = self._matching(shingles(query), publisher_id, params, params.quote_candidates)
            keyword_hits, quoted = with_quotations(query, keyword_hits, phrase_hits, self._rows)
            dense_rowids, _ = shard.search(vector, params.dense_candidates)
            dense = [int(rowid) for rowid in dense_rowids]
            union = list(dict.fromkeys([*(rowid for rowid, _ in keyword_hits), *dense]))
            similarity = shard.similarity(vector, union)
            items = {rowid: owner for rowid, owner in self._items_of(union).items() if owner[2] == publisher_id}
        return union_candidates(keyword_hits, dense, similarity, items, quoted)

    def search(
        self,
        query: str,
        query_vector: FloatMatrix,
        publisher_id: str,
        *,
        limit: int = 10,
        tradition: str | None = None,
        params: RetrievalParams | None = None,
        keyword_hits: list[tuple[int, float]] | None = None,
    ) -> SearchResult:
        """Hybrid search within one publisher (see `fusion.fuse` for the ranking rules). `keyword_hits`: the
        result of `keyword_candidates` computed beforehand (with the same params), or None to run it here."""
        params = params or RetrievalParams()
        references = find_references(query)
        with self._lock:
            candidates = self.candidates(query, query_vector, publisher_id, params, keyword_hits)
            referenced = (
                referenced_candidates(references, self._rows([c.rowid for c in candidates])) if references else set()
            )
            ranked = fuse(candidates, params, tradition, limit, referenced)
            rows = self._rows([entry.candidate.rowid for entry in ranked])
        return ranked_result(ranked, rows, publisher_id)

    def _items_of(self, rowids: list[int]) -> dict[int, tuple[str, str | None, str]]:
        """`rowid -> (item_id, tradition, publisher_id)`. The ids travel as one JSON array, so the statement is
        the same for every call and SQLite's statement cache compiles it once."""
        rows = self._db.execute(
            "SELECT rowid, item_id, tradition, publisher_id FROM chunks"
            " WHERE rowid IN (SELECT value FROM json_each(?))",
            (json.dumps(rowids),),
        )
        return {int(rowid): (item_id, tradition, publisher) for rowid, item_id, tradition, publisher in rows}

    def _rows(self, rowids: list[int]) -> dict[int, ChunkRow]:
        rows = self._db.execute(
            "SELECT rowid, item_id, chunk_id, title, heading, text, tradition FROM chunks"
            " WHERE rowid IN (SELECT value FROM json_each(?))",
            (json.dumps(rowids),),
        )
        return {int(row[0]): ChunkRow(*row[1:]) for row in rows}
