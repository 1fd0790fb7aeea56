"""Candidate lists both index backends build before fusion: the union of keyword and dense hits, the chunks holding
a referenced Bible passage, and the chunks quoting the query (`quotes`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from homily.grounding.fusion import Candidate, RetrievalParams
from homily.grounding.quotes import quoted_rows
from homily.grounding.scripture import ScriptureReference, referenced_rows


@dataclass(frozen=True, slots=True)
class ChunkRow:
    item_id: str
    chunk_id: str
    title: str
    heading: str
    text: str
    tradition: str | None


def union_candidates(
    keyword_hits: Sequence[tuple[int, float]],
    dense_rowids: Sequence[int],
    similarity: Mapping[int, float],
    items: Mapping[int, tuple[str, str | None, str]],
    quoted: Mapping[int, float] | None = None,
) -> list[Candidate]:
    """Keyword then dense candidates (each chunk once, with both ranks and scores), limited to the chunks in
    `items` (`rowid -> (item_id, tradition, publisher_id)`, the live rows of the searched publisher); a chunk
    without a vector has similarity 0. `quoted`: the share of the query a chunk quotes (`with_quotations`)."""
    keyword_rank = {rowid: rank for rank, (rowid, _) in enumerate(keyword_hits)}
    keyword_score = dict(keyword_hits)
    dense_rank = {rowid: rank for rank, rowid in enumerate(dense_rowids)}
    quoted = quoted or {}
    return [
        Candidate(
            rowid,
            items[rowid][0],
            items[rowid][1],
            keyword_score.get(rowid, 0.0),
            similarity.get(rowid, 0.0),
            keyword_rank.get(rowid),
            dense_rank.get(rowid),
            quoted.get(rowid, 0.0),
        )
        for rowid in dict.fromkeys([*keyword_rank, *dense_rank])
        if rowid in items
    ]


def referenced_candidates(references: Sequence[ScriptureReference], rows: Mapping[int, ChunkRow]) -> set[int]:
    """The candidate rows holding one of the question's Bible references (ranked first by `fuse`)."""
    return referenced_rows(references, ((rowid, row.title, row.heading, row.text) for rowid, row in rows.items()))


def book_search_params(params: RetrievalParams) -> RetrievalParams:
    """The keyword search for the chunks naming a referenced book (see `RetrievalParams.reference_candidates`)."""
    return replace(params, keyword_candidates=params.reference_candidates)


def with_quotations(
    query: str,
    keyword_hits: list[tuple[int, float]],
    phrase_hits: Sequence[tuple[int, float]],
    rows: Callable[[list[int]], Mapping[int, ChunkRow]],
) -> tuple[list[tuple[int, float]], dict[int, float]]:
    """The keyword hits with the phrase matches (`quotes.shingles` searched) appended, and the share of the query
    each phrase match quotes. A phrase match that is no keyword hit joins with keyword score 0: its phrases are
    its evidence, weighed by the quote bonus in `fuse`, so the BM25 half does not count them twice."""
    if not phrase_hits:
        return keyword_hits, {}
    present = {rowid for rowid, _ in keyword_hits}
    rowids = [rowid for rowid, _ in phrase_hits]
    quoted = quoted_rows(query, ((rowid, row.text) for rowid, row in rows(rowids).items()))
    added = [(rowid, 0.0) for rowid in rowids if rowid not in present and rowid in quoted]
    return keyword_hits + added, quoted
