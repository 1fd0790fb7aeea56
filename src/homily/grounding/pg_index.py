"""`PostgresChunkIndex`: hybrid retrieval over a PostgreSQL chunks table shared by every replica.

Keyword candidates come from the generated `tsvector` column and its GIN index (`pg_keyword`), dense candidates
from the `vector` column: an exact scan for publishers below `EXACT_SCAN_ROWS` chunks, else pgvector's HNSW
index with `hnsw.iterative_scan` so the publisher filter cannot starve the top-k (and an exact scan when it still
returns too few). Both lists are fused by `fusion.fuse`, exactly as `ChunkIndex` does. Nothing is cached in the
process but keyword statistics, so a write by one replica is searchable by every replica at its commit, and a
deletion is gone from both halves of the search at once.

Every public method is blocking (a sync `psycopg_pool.ConnectionPool`; call it from a worker thread). A database
that cannot be reached, or does not answer within the call's budget (`homily.storage.postgres.deadline`: searches
and counts get the request budget, batch writes and edits of every chunk of an item the batch budget), raises the
stores' `DatabaseUnavailableError` (a `StoreUnavailableError` naming `HOMILY_DATABASE_URL`), never a driver
exception.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from homily.grounding.candidates import (
    ChunkRow,
    book_search_params,
    referenced_candidates,
    union_candidates,
    with_quotations,
)
from homily.grounding.embedder import FloatMatrix
from homily.grounding.fusion import Candidate, RetrievalParams, fuse
from homily.grounding.index import HEADING_SEPARATOR, ChunkRecord, SearchResult, ranked_result, scope_token
from homily.grounding.pg_keyword import KeywordStatistics, keyword_hits, phrase_hits
from homily.grounding.pg_schema import migrate, vector_literal
from homily.grounding.quotes import spanning_phrases
from homily.grounding.scripture import book_query, find_references, with_referenced
from homily.storage.postgres.deadline import BATCH_SECONDS, REQUEST_SECONDS, Watchdog

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

EXACT_SCAN_ROWS = 5_000
"""Below this many chunks a publisher's dense candidates come from an exact scan (recall 100%). Measured on
SciFact (7,872 chunks, train queries, k=100): exact scan p50 ~15 ms, HNSW with ef_search=200 ~5-8 ms at
recall@100 0.993 against the exact scan; an exact scan of 5,000 rows costs about the same as the graph walk."""
EF_SEARCH_FACTOR = 2
"""`hnsw.ef_search` is this many times the candidates wanted (ef = k gave recall@100 0.970, 2k 0.993)."""
MIN_EF_SEARCH = 40
MAX_EF_SEARCH = 1000
"""pgvector's bounds of `hnsw.ef_search`."""

_UPSERT = (
    "INSERT INTO chunks (chunk_id, item_id, publisher_id, scope, ordinal, title, heading, text, char_start,"
    " char_end, token_count, content_hash, tradition, embedding)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::vector)"
    " ON CONFLICT (chunk_id) DO UPDATE SET item_id = EXCLUDED.item_id, publisher_id = EXCLUDED.publisher_id,"
    " scope = EXCLUDED.scope, ordinal = EXCLUDED.ordinal, title = EXCLUDED.title, heading = EXCLUDED.heading,"
    " text = EXCLUDED.text, char_start = EXCLUDED.char_start, char_end = EXCLUDED.char_end,"
    " token_count = EXCLUDED.token_count, content_hash = EXCLUDED.content_hash, tradition = EXCLUDED.tradition,"
    " embedding = EXCLUDED.embedding, written_at = now()"
)
_NEAREST = (
    "SELECT rowid, 1 - (embedding <=> %(q)s::vector) FROM chunks"
    " WHERE publisher_id = %(p)s AND embedding IS NOT NULL ORDER BY embedding <=> %(q)s::vector LIMIT %(k)s"
)
# relaxed_order may return neighbours slightly out of order: sort the materialized result again.
_NEAREST_HNSW = (
    "WITH nearest AS MATERIALIZED (SELECT rowid, embedding <=> %(q)s::vector AS distance FROM chunks"
    " WHERE publisher_id = %(p)s AND embedding IS NOT NULL ORDER BY distance LIMIT %(k)s)"
    " SELECT rowid, 1 - distance FROM nearest ORDER BY distance, rowid"
)


def _configure(watchdog: Watchdog, connection: Connection[Any]) -> None:
    from homily.storage.postgres.text import nul_free_text

    nul_free_text(connection)
    watchdog.configure_session(connection)


def _record_row(record: ChunkRecord) -> tuple[Any, ...]:
    return (
        record.chunk_id,
        record.item_id,
        record.publisher_id,
        scope_token(record.publisher_id),
        record.ordinal,
        record.title,
        HEADING_SEPARATOR.join(record.heading_path),
        record.text,
        record.char_start,
        record.char_end,
        record.token_count,
        record.content_hash,
        record.tradition,
        None if record.vector is None else vector_literal(record.vector),
    )


class PostgresChunkIndex:
    """Hybrid index over one PostgreSQL database; same contract as `ChunkIndex` (see `index_protocol`).
    Thread-safe (the pool hands each call its own connection). `watchdog` keeps the deadlines of its uses (and of
    the pool's checks, when `open` made the pool); closed with the index."""

    def __init__(
        self,
        url: str,
        pool: ConnectionPool[Any],
        dimension: int = 384,
        *,
        exact_scan_rows: int = EXACT_SCAN_ROWS,
        watchdog: Watchdog | None = None,
    ):
        self._url = url
        self._pool = pool
        self._watchdog = Watchdog("chunks") if watchdog is None else watchdog
        self._dimension = dimension
        self._exact_scan_rows = exact_scan_rows
        self._statistics = KeywordStatistics()

    @classmethod
    def open(
        cls,
        url: str,
        dimension: int = 384,
        *,
        max_connections: int = 8,
        timeout: float | None = None,
        exact_scan_rows: int = EXACT_SCAN_ROWS,
    ) -> PostgresChunkIndex:
        """Create the schema if needed (advisory-locked, safe when replicas start together) and open a pool.

        `timeout` bounds the wait for a pooled connection (default: the stores' `CHECKOUT_TIMEOUT_SECONDS`, the
        wait the README documents for an outage) and each connection attempt; attempts also get libpq's
        `connect_timeout`, so an unreachable host cannot hold the pool's connecting threads for minutes, and a
        lost connection is replaced as the stores' are (`RECONNECT_SECONDS`); connections are checked and
        configured within the stores' deadlines and have their TCP keepalives."""
        import psycopg
        from psycopg_pool import ConnectionPool

        from homily.storage.postgres.deadline import KEEPALIVES
        from homily.storage.postgres.pool import (
            CHECKOUT_TIMEOUT_SECONDS,
            CONNECT_TIMEOUT_SECONDS,
            RECONNECT_SECONDS,
            driver_errors,
        )

        wait = CHECKOUT_TIMEOUT_SECONDS if timeout is None else timeout
        connect_timeout = max(1, min(CONNECT_TIMEOUT_SECONDS, int(wait)))
        watchdog = Watchdog("chunks")
        with driver_errors(url):
            with psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout, **KEEPALIVES) as connection:
                migrate(connection, dimension)  # may build indexes: no deadline
            pool: ConnectionPool[Any] = ConnectionPool(
                url,
                min_size=1,
                max_size=max_connections,
                kwargs={"autocommit": True, "connect_timeout": connect_timeout, **KEEPALIVES},
                timeout=wait,
                reconnect_timeout=RECONNECT_SECONDS,
                check=watchdog.check_connection,
                configure=partial(_configure, watchdog),
                name="homily-chunks",
                open=False,
            )
            try:
                pool.open(wait=True, timeout=wait)  # closes the pool when it times out
            except BaseException:
                watchdog.close()  # its thread may have started with a connection's configuration
                raise
        return cls(url, pool, dimension, exact_scan_rows=exact_scan_rows, watchdog=watchdog)

    @property
    def pool(self) -> ConnectionPool[Any]:
        return self._pool

    @contextmanager
    def connection(self, budget: float | None = REQUEST_SECONDS) -> Iterator[Connection[Any]]:
        """A pooled autocommit connection whose work in the block must end within `budget` seconds (None: no
        deadline); connection failures and overruns become `DatabaseUnavailableError`."""
        from homily.storage.postgres.pool import describe_url, driver_errors

        with (
            driver_errors(self._url),
            self._pool.connection() as connection,
            self._watchdog.watched(connection, budget, describe_url(self._url)),
        ):
            yield connection

    def close(self) -> None:
        self._pool.close()
        self._watchdog.close()

    # -- upkeep: the database maintains its indexes, so these are cheap -------------------------------------------

    def load(self) -> int:
        """Nothing to load (no per-process copy); returns the number of densely searchable chunks."""
        return self.count()

    def extend_graphs(self, max_rows: int = 256) -> int:
        """No background work: PostgreSQL updates the HNSW graph within each write."""
        return 0

    def graphs_current(self) -> bool:
        return True

    # -- writes ----------------------------------------------------------------------------------------------------

    def add(self, records: Sequence[ChunkRecord]) -> None:
        """Insert chunks (replacing same chunk_id) in one transaction; searchable by every replica at commit."""
        if not records:
            return
        self._statistics.note_changes(len(records))
        with self.connection(BATCH_SECONDS) as connection, connection.transaction(), connection.cursor() as cursor:
            cursor.executemany(_UPSERT, [_record_row(record) for record in records])

    def set_vectors(self, chunk_ids: Sequence[str], vectors: FloatMatrix) -> None:
        """Store the embeddings of already written chunks, which makes them densely searchable."""
        pairs = [(vector_literal(vector), chunk_id) for chunk_id, vector in zip(chunk_ids, vectors, strict=True)]
        if not pairs:
            return
        self._statistics.note_changes(len(pairs))
        with self.connection(BATCH_SECONDS) as connection, connection.transaction(), connection.cursor() as cursor:
            cursor.executemany("UPDATE chunks SET embedding = %s::vector WHERE chunk_id = %s", pairs)

    def delete_items(self, item_ids: Sequence[str]) -> int:
        """Remove every chunk of these items (gone from keyword and dense search at once); returns the count."""
        if not item_ids:
            return 0
        with self.connection() as connection:  # cheap: rows are marked deleted, index entries go at vacuum
            deleted = connection.execute("DELETE FROM chunks WHERE item_id = ANY(%s)", (list(item_ids),)).rowcount
        self._statistics.note_changes(deleted)
        return deleted

    def update_item(self, item_id: str, *, title: str | None = None, tradition: str | None = None) -> None:
        """Propagate an item's new title or tradition to its chunks (both are used in ranking)."""
        self._statistics.forget()
        # every chunk row of the item is rewritten, and each new version enters the keyword and vector indexes
        with self.connection(BATCH_SECONDS) as connection, connection.transaction():
            if title is not None:
                connection.execute("UPDATE chunks SET title = %s WHERE item_id = %s", (title, item_id))
            if tradition is not None:
                connection.execute("UPDATE chunks SET tradition = %s WHERE item_id = %s", (tradition, item_id))

    # -- reads -----------------------------------------------------------------------------------------------------

    def count(self, publisher_id: str | None = None) -> int:
        """Chunks with a vector (densely searchable), of one publisher or of all."""
        with self.connection() as connection:
            if publisher_id is None:
                row = connection.execute("SELECT count(*) FROM chunks WHERE embedding IS NOT NULL").fetchone()
            else:
                row = connection.execute(
                    "SELECT count(*) FROM chunks WHERE publisher_id = %s AND embedding IS NOT NULL", (publisher_id,)
                ).fetchone()
        return int(row[0]) if row is not None else 0

    def keyword_candidates(
        self, query: str, publisher_id: str, params: RetrievalParams | None = None
    ) -> list[tuple[int, float]]:
        """The keyword candidates alone (no query vector needed): run while the query is embedded, then pass
        them to `search(..., keyword_hits=...)`."""
        with self.connection() as connection:
            return keyword_hits(connection, query, publisher_id, params or RetrievalParams(), self._statistics)

    def _dense(
        self, connection: Connection[Any], vector: str, publisher_id: str, limit: int
    ) -> list[tuple[int, float]]:
        """(rowid, cosine) of the publisher's `limit` nearest chunks, best first."""
        if limit <= 0:
            return []
        total, embedded = self._statistics.totals(connection, publisher_id)
        arguments = {"q": vector, "p": publisher_id, "k": limit}
        rows: list[tuple[Any, ...]] = []
        if total >= self._exact_scan_rows:
            with connection.transaction():
                connection.execute(
                    "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', %s, true)",
                    (str(min(MAX_EF_SEARCH, max(MIN_EF_SEARCH, EF_SEARCH_FACTOR * limit))), "relaxed_order"),
                )
                rows = connection.execute(_NEAREST_HNSW, arguments).fetchall()
        if len(rows) < min(limit, embedded) or total < self._exact_scan_rows:
            with connection.transaction():
                connection.execute("SELECT set_config('enable_indexscan', 'off', true)")
                rows = connection.execute(_NEAREST, arguments).fetchall()
        return [(int(rowid), float(similarity)) for rowid, similarity in rows]

    def _candidates(
        self,
        connection: Connection[Any],
        query: str,
        query_vector: FloatMatrix,
        publisher_id: str,
        params: RetrievalParams,
        *,
        keyword: list[tuple[int, float]] | None,
    ) -> list[Candidate]:
        vector = vector_literal(np.asarray(query_vector, dtype=np.float32).reshape(-1))
        if keyword is None:
            keyword = keyword_hits(connection, query, publisher_id, params, self._statistics)
        references = find_references(query)
        if references:
            books = keyword_hits(
                connection, book_query(references), publisher_id, book_search_params(params), self._statistics
            )
            keyword = with_referenced(
                keyword, books, lambda rowids: referenced_candidates(references, _chunk_rows(connection, rowids))
            )
        phrases = phrase_hits(connection, spanning_phrases(query), publisher_id, params.quote_candidates)
        keyword, quoted = with_quotations(query, keyword, phrases, lambda rowids: _chunk_rows(connection, rowids))
        dense = self._dense(connection, vector, publisher_id, params.dense_candidates)
        union = list(dict.fromkeys([*(rowid for rowid, _ in keyword), *(rowid for rowid, _ in dense)]))
        rows = connection.execute(
            "SELECT rowid, item_id, tradition, 1 - (embedding <=> %s::vector) FROM chunks"
            " WHERE rowid = ANY(%s) AND publisher_id = %s",
            (vector, union, publisher_id),
        ).fetchall()
        items = {int(rowid): (item_id, tradition, publisher_id) for rowid, item_id, tradition, _ in rows}
        similarity = {int(rowid): float(cosine) for rowid, _, _, cosine in rows if cosine is not None}
        return union_candidates(keyword, [rowid for rowid, _ in dense], similarity, items, quoted)

    def candidates(
        self,
        query: str,
        query_vector: FloatMatrix,
        publisher_id: str,
        params: RetrievalParams,
        keyword_hits: list[tuple[int, float]] | None = None,
    ) -> list[Candidate]:
        """Keyword and dense candidates (union, each with both scores and its item), before fusion."""
        with self.connection() as connection:
            return self._candidates(connection, query, query_vector, publisher_id, params, keyword=keyword_hits)

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
        with self.connection() as connection:
            candidates = self._candidates(connection, query, query_vector, publisher_id, params, keyword=keyword_hits)
            referenced = (
                referenced_candidates(references, _chunk_rows(connection, [c.rowid for c in candidates]))
                if references
                else set()
            )
            ranked = fuse(candidates, params, tradition, limit, referenced)
            rows = _chunk_rows(connection, [entry.candidate.rowid for entry in ranked])
        return ranked_result(ranked, rows, publisher_id)


def _chunk_rows(connection: Connection[Any], rowids: list[int]) -> dict[int, ChunkRow]:
    found = connection.execute(
        "SELECT rowid, item_id, chunk_id, title, heading, text, tradition FROM chunks WHERE rowid = ANY(%s)",
        (rowids,),
    ).fetchall()
    return {int(row[0]): ChunkRow(*row[1:]) for row in found}
