"""Fuse keyword and dense candidates, boost the requested tradition, keep items diverse, mark relevance.

Pure functions over candidate scores so the ranking can be tested and tuned without a database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

FusionMethod = Literal["convex", "rrf"]
# Added to a referenced chunk's score: more than any fused score can reach (at most 1 + tradition_boost).
REFERENCE_BONUS = 2.0


@dataclass(frozen=True, slots=True)
class RetrievalParams:
    """Ranking knobs. Fusion method, dense weight and title weight were tuned on SciFact *train* qrels
    (`homily eval retrieval --tune`: convex 0.6 with title weight 2.0 scored train nDCG@10 0.741, the best of
    44 settings x 4 title weights; RRF peaked lower). The tradition boost, diversity and threshold are product
    choices (SciFact has none of them). The relevance threshold 0.4 (best-chunk cosine) kept sources for 96.7%
    of SciFact test queries and for 6.2% of off-topic MT-Bench questions (0.3: 100% / 34%; 0.45: 93% / 1.3%).
    `unscoped_keyword_share`: from this share of the index, a publisher's BM25 query skips the scope token and
    filters afterwards (a speed choice, see `ChunkIndex._keyword`). `reference_candidates`: how many chunks naming
    a referenced Bible book are searched for the reference (`scripture.with_referenced`). `quote_candidates`:
    how many phrase matches of the query read as a quotation are weighed (`quotes`); `quote_weight`: the bonus
    of a chunk quoting all of the query (one quoting a share of it earns that share); `quote_relevant`: the share
    of the query's word runs (`quotes.Quotation.coverage`) from which a chunk counts as relevant whatever its cosine
    (a quoted verse's chunk of seven verses is often far from the one-line quotation's vector). Chosen on the verse
    check set (`tests/support/verse_quotes.py`, found and relevant 38/68 -> 59/68 at 0.5, 56/68 at 0.6) with the
    realistic traffic and everyday turns as the rail (173 requests: one more with a relevant source, "Pray for
    me")."""

    method: FusionMethod = "convex"
    dense_weight: float = 0.6
    rrf_k: float = 60.0
    keyword_candidates: int = 100
    max_term_share: float = 0.2
    max_term_rows: int = 5000
    unscoped_keyword_share: float = 0.5
    dense_candidates: int = 100
    title_weight: float = 2.0
    heading_weight: float = 0.5
    tradition_boost: float = 0.15
    per_item_limit: int = 2
    same_item_decay: float = 0.7
    relevance_threshold: float = 0.4
    reference_candidates: int = 2000
    quote_candidates: int = 20
    quote_weight: float = 1.0
    quote_floor: float = 0.3
    quote_relevant: float = 0.5


@dataclass(frozen=True, slots=True)
class Candidate:
    """One chunk's evidence: `keyword` is BM25 (higher is better, 0 when absent), `similarity` a cosine, `quote` the
    share of the query's word runs the chunk holds (`quotes.Quotation.coverage`, 0 when it quotes none)."""

    rowid: int
    item_id: str
    tradition: str | None
    keyword: float
    similarity: float
    keyword_rank: int | None
    dense_rank: int | None
    quote: float = 0.0


@dataclass(frozen=True, slots=True)
class Ranked:
    candidate: Candidate
    score: float
    relevant: bool


def _convex(candidates: list[Candidate], dense_weight: float) -> dict[int, float]:
    best_keyword = max((c.keyword for c in candidates), default=0.0)
    similarities = [c.similarity for c in candidates]
    low, high = min(similarities, default=0.0), max(similarities, default=0.0)
    spread = high - low
    fused: dict[int, float] = {}
    for c in candidates:
        keyword = c.keyword / best_keyword if best_keyword > 0 else 0.0
        dense = (c.similarity - low) / spread if spread > 1e-9 else (1.0 if high > 0 else 0.0)
        fused[c.rowid] = dense_weight * dense + (1.0 - dense_weight) * keyword
    return fused


def _rrf(candidates: list[Candidate], dense_weight: float, k: float) -> dict[int, float]:
    fused: dict[int, float] = {}
    scale = k + 1.0  # so that first place in both lists scores 1.0
    for c in candidates:
        score = 0.0
        if c.dense_rank is not None:
            score += dense_weight * scale / (k + 1 + c.dense_rank)
        if c.keyword_rank is not None:
            score += (1.0 - dense_weight) * scale / (k + 1 + c.keyword_rank)
        fused[c.rowid] = score
    return fused


def quote_bonus(quote: float, params: RetrievalParams) -> float:
    """The bonus of a chunk quoting a share `quote` of the query (see `RetrievalParams.quote_floor`)."""
    if quote <= params.quote_floor:
        return 0.0
    return params.quote_weight * (quote - params.quote_floor) / max(1e-9, 1.0 - params.quote_floor)


def fuse(
    candidates: list[Candidate],
    params: RetrievalParams,
    tradition: str | None,
    limit: int,
    referenced: Collection[int] = frozenset(),
) -> list[Ranked]:
    """Best-first results: fused score, x(1 + boost) for the requested tradition, per-item decay and cap.
    `referenced`: chunks holding a Bible reference the question names (`scripture.referenced_rows`); they rank
    above every other chunk (in fused order among themselves) and count as relevant. A chunk quoting much of the
    query gains `quote_bonus`."""
    if params.method == "rrf":
        fused = _rrf(candidates, params.dense_weight, params.rrf_k)
    else:
        fused = _convex(candidates, params.dense_weight)
    boosted: Mapping[int, float] = {
        c.rowid: (
            fused[c.rowid] * (1.0 + params.tradition_boost)
            if tradition is not None and c.tradition == tradition
            else fused[c.rowid]
        )
        + (REFERENCE_BONUS if c.rowid in referenced else 0.0)
        + quote_bonus(c.quote, params)
        for c in candidates
    }
    ordered = sorted(candidates, key=lambda c: (-boosted[c.rowid], c.rowid))
    seen_per_item: dict[str, int] = {}
    adjusted: list[tuple[float, int, Candidate]] = []
    for position, candidate in enumerate(ordered):
        earlier = seen_per_item.get(candidate.item_id, 0)
        seen_per_item[candidate.item_id] = earlier + 1
        if earlier >= params.per_item_limit:
            continue
        score = boosted[candidate.rowid] * params.same_item_decay**earlier
        adjusted.append((score, position, candidate))
    adjusted.sort(key=lambda entry: (-entry[0], entry[1]))
    return [
        Ranked(
            candidate,
            score,
            candidate.similarity >= params.relevance_threshold
            or candidate.rowid in referenced
            or candidate.quote >= params.quote_relevant,
        )
        for score, _, candidate in adjusted[:limit]
    ]
