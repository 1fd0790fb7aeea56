"""Keyword candidates on PostgreSQL: BM25-style scoring over the generated `tsvector` column.

PostgreSQL's `ts_rank` has no inverse document frequency, so a query is scored per lexeme:
`sum(idf(lexeme) * ts_rank(weights, document, lexeme))`, with BM25's idf from the lexeme's document frequency
within the publisher, and `ts_rank`'s saturating term frequency (title, heading and text weighted like the SQLite
index's `bm25` column weights, the title's scaled by `TITLE_WEIGHT_SCALE`). Candidate rows come from the GIN
index (`document @@ 'l1' | 'l2' ...`) scoped by `publisher_id` in the WHERE clause. As in
`ChunkIndex._selective_terms`, lexemes too common to discriminate are dropped before scoring. Scoring is the
cost (every `ts_rank` call reads the row's `document`), so only the rows holding the rarer lexemes are scored
(`matched`: rarest first within a row budget); the common lexemes still add to those rows' scores, but a row with
none of the rarer ones is no candidate (it rarely made the top 10: SciFact TRAIN nDCG@10 went up, see `MATCH_SHARE`).

Statistics (publisher totals, document frequencies) are cached per process and approximate by design: dropped
after enough local writes or `STATISTICS_SECONDS`, so other replicas' writes are seen within that time; they
weigh and select lexemes (and so which rows are scored), but a lexeme found nowhere is not cached, so a chunk
another replica adds with a new word is found at once (the rarest lexeme is always matched).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from homily.grounding.fusion import RetrievalParams
from homily.grounding.keyword import query_terms
from homily.grounding.pg_schema import TEXT_SEARCH_CONFIG
from homily.grounding.quotes import with_variants

STATISTICS_SECONDS = 60.0
"""Age after which cached totals and frequencies are gathered again (other replicas write too)."""
STATISTICS_SLACK = 500
"""Local row changes tolerated before the statistics are gathered again (or a tenth of the index)."""
MATCH_SHARE = 0.0625
MATCH_ROWS = 500
"""Rows scored per query (see `matched`): about max(MATCH_ROWS, MATCH_SHARE of the publisher's chunks). Chosen on
SciFact TRAIN (hybrid nDCG@10 / search p50, every matching row scored: 0.7364 / 18.1 ms at 7,872 chunks): budget 2000
rows 0.7364 / 15.0 ms, 1000 0.7372 / 9.9 ms, 500 0.7394 / 5.9 ms, 250 0.7301, 100 0.7047. At 47,232 chunks (the corpus
six times, items deduplicated when scored: 0.7297 / 54.0 ms): 6000 0.7298 / 34.0, 3000 0.7310 / 22.9, 1000 0.7210 /
11.3; a fixed budget loses quality as the corpus grows, a share keeps it."""
RANK_NORMALIZATION = 1
"""`ts_rank` normalization: divide by 1 + log(document length), a mild length penalty like BM25's."""


def tsquery_lexeme(lexeme: str) -> str:
    """A lexeme quoted for tsquery input (taken verbatim: no parsing, stemming or operators)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def bm25_idf(total: int, frequency: int) -> float:
    return math.log(1.0 + (total - frequency + 0.5) / (frequency + 0.5))


TITLE_WEIGHT_SCALE = 0.5
"""`ts_rank`'s title weight is `RetrievalParams.title_weight` (tuned for FTS5's bm25) times this. Chosen on SciFact
TRAIN (PostgreSQL hybrid nDCG@10: x1 0.7238, x0.75 0.7288, x0.5 0.7364, x0.25 0.7340, x2 0.6832)."""


def rank_weights(params: RetrievalParams) -> list[float]:
    """`ts_rank` weights {D, C, B, A} = {text, unused, heading, title}, scaled into [0, 1] as it requires."""
    title = params.title_weight * TITLE_WEIGHT_SCALE
    top = max(1.0, title, params.heading_weight)
    return [1.0 / top, 0.0, params.heading_weight / top, title / top]


class KeywordStatistics:
    """Per-publisher chunk totals and lexeme document frequencies. Thread-safe."""

    def __init__(self, max_age: float = STATISTICS_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._max_age = max_age
        self._clock = clock
        self._totals: dict[str, tuple[int, int]] = {}
        self._frequencies: dict[tuple[str, str], int] = {}
        self._rows_changed = 0
        self._gathered = clock()

    def forget(self) -> None:
        with self._lock:
            self._forget()

    def _forget(self) -> None:
        self._totals.clear()
        self._frequencies.clear()
        self._rows_changed = 0
        self._gathered = self._clock()

    def note_changes(self, rows: int) -> None:
        with self._lock:
            self._rows_changed += rows
            known = sum(total for total, _ in self._totals.values())
            if self._rows_changed > max(STATISTICS_SLACK, known // 10):
                self._forget()

    def _fresh(self) -> None:
        if self._clock() - self._gathered > self._max_age:
            self._forget()

    def totals(self, connection: Any, publisher_id: str) -> tuple[int, int]:
        """(chunks, chunks with a vector) of the publisher."""
        with self._lock:
            self._fresh()
            cached = self._totals.get(publisher_id)
        if cached is not None:
            return cached
        row = connection.execute(
            "SELECT count(*), count(embedding) FROM chunks WHERE publisher_id = %s", (publisher_id,)
        ).fetchone()
        found = (int(row[0]), int(row[1]))
        with self._lock:
            self._totals[publisher_id] = found
        return found

    def frequencies(self, connection: Any, publisher_id: str, lexemes: list[str]) -> dict[str, int]:
        """Chunks of the publisher containing each lexeme (a GIN count per lexeme not cached yet)."""
        with self._lock:
            self._fresh()
            found = {lexeme: self._frequencies.get((publisher_id, lexeme)) for lexeme in lexemes}
        missing = [lexeme for lexeme, count in found.items() if count is None]
        if missing:
            rows = connection.execute(
                "SELECT q.lexeme, (SELECT count(*) FROM chunks"
                " WHERE publisher_id = %s AND document @@ q.query::tsquery)"
                " FROM unnest(%s::text[], %s::text[]) AS q(lexeme, query)",
                (publisher_id, missing, [tsquery_lexeme(lexeme) for lexeme in missing]),
            ).fetchall()
            with self._lock:
                for lexeme, count in rows:
                    found[lexeme] = int(count)
                    if count:  # an absent lexeme is asked again: another replica may add it any moment
                        self._frequencies[(publisher_id, lexeme)] = int(count)
        return {lexeme: int(count or 0) for lexeme, count in found.items()}


def query_lexemes(connection: Any, query: str) -> list[str]:
    """The query's words and their variants (`quotes.with_variants`; stopwords dropped as for SQLite) as the index's
    stemmed lexemes, distinct."""
    terms = query_terms(with_variants(query))
    if not terms:
        return []
    row = connection.execute(
        f"SELECT tsvector_to_array(to_tsvector('{TEXT_SEARCH_CONFIG}', %s))", (" ".join(terms),)
    ).fetchone()
    return [str(lexeme) for lexeme in (row[0] or [])]


def selective(frequencies: dict[str, int], total: int, params: RetrievalParams) -> list[str]:
    """Lexemes found at all, without those in more than `max_term_share` of the publisher's chunks or more than
    `max_term_rows` chunks (keeping the two rarest when all are that common), as `ChunkIndex._selective_terms`."""
    present = [lexeme for lexeme, count in frequencies.items() if count > 0]
    if total < 2000 or params.max_term_share >= 1.0 or not present:
        return present
    ceiling = min(params.max_term_share * total, params.max_term_rows)
    kept = [lexeme for lexeme in present if frequencies[lexeme] <= ceiling]
    return kept or sorted(present, key=lambda lexeme: frequencies[lexeme])[:2]


def matched(frequencies: dict[str, int], lexemes: list[str], budget: int) -> list[str]:
    """The lexemes whose rows are scored: the rarest first while their document frequencies sum to at most
    `budget` rows (at least the rarest one). The others still count in every scored row's score, but a row
    containing only common lexemes is not a candidate."""
    chosen: list[str] = []
    rows = 0
    for lexeme in sorted(lexemes, key=lambda lexeme: (frequencies[lexeme], lexeme)):
        rows += frequencies[lexeme]
        if chosen and rows > budget:
            break
        chosen.append(lexeme)
    return chosen


def keyword_hits(
    connection: Any, query: str, publisher_id: str, params: RetrievalParams, statistics: KeywordStatistics
) -> list[tuple[int, float]]:
    """(rowid, score) of the publisher's best keyword matches, best first (ties by rowid)."""
    if params.keyword_candidates <= 0:
        return []
    lexemes = query_lexemes(connection, query)
    if not lexemes:
        return []
    total, _ = statistics.totals(connection, publisher_id)
    frequencies = statistics.frequencies(connection, publisher_id, lexemes)
    kept = selective(frequencies, total, params)
    if not kept:
        return []
    queries = [tsquery_lexeme(lexeme) for lexeme in kept]
    weights = rank_weights(params)
    arguments: list[Any] = []
    for lexeme, query_text in zip(kept, queries, strict=True):
        arguments += [bm25_idf(max(total, frequencies[lexeme]), frequencies[lexeme]), weights, query_text]
    scored = matched(frequencies, kept, max(MATCH_ROWS, int(MATCH_SHARE * total)))
    rows = connection.execute(
        _scored_statement(len(queries)),
        (*arguments, publisher_id, " | ".join(tsquery_lexeme(lexeme) for lexeme in scored), params.keyword_candidates),
    ).fetchall()
    return [(int(rowid), float(score)) for rowid, score in rows]


def _scored_statement(lexemes: int) -> str:
    """The ranking query for `lexemes` query lexemes: one inline `idf * ts_rank` term each (30% faster than a
    per-row subquery over arrays). Only the number of terms varies; every value is a parameter."""
    score = " + ".join([f"%s * ts_rank(%s::float4[], c.document, %s::tsquery, {RANK_NORMALIZATION})"] * lexemes)
    return (
        f"SELECT c.rowid, {score} AS score FROM chunks c"  # noqa: S608 - constant fragments, values are parameters
        " WHERE c.publisher_id = %s AND c.document @@ %s::tsquery ORDER BY score DESC, c.rowid LIMIT %s"
    )


# A constant (the text search configuration is ours); every value is a parameter.
_PHRASES = (
    "WITH q AS (SELECT string_agg('(' || phrase::text || ')', ' | ')::tsquery AS query"  # noqa: S608
    f" FROM (SELECT phraseto_tsquery('{TEXT_SEARCH_CONFIG}', p) AS phrase"
    " FROM unnest(%s::text[]) AS p) AS phrases"
    " WHERE numnode(phrase) >= 3)"
    " SELECT c.rowid, ts_rank(c.document, q.query) AS score FROM chunks c, q"
    " WHERE q.query IS NOT NULL AND c.publisher_id = %s AND c.document @@ q.query"
    " ORDER BY score DESC, c.rowid LIMIT %s"
)


def phrase_hits(connection: Any, phrases: list[str], publisher_id: str, limit: int) -> list[tuple[int, float]]:
    """(rowid, ts_rank) of the publisher's chunks holding any of `phrases` (`quotes.shingles`), best first. Each
    phrase is a `phraseto_tsquery`: its stopwords drop out but keep their distance ("still and know" matches
    'still' <2> 'know'); a phrase left with one lexeme would match too much and is left out."""
    if not phrases or limit <= 0:
        return []
    rows = connection.execute(_PHRASES, (phrases, publisher_id, limit)).fetchall()
    return [(int(rowid), float(score)) for rowid, score in rows]
