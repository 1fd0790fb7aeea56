"""Retrieval evaluation on a BEIR-format dataset (SciFact): the real pipeline (chunk, embed, index, fuse).

Each corpus document becomes one item of one publisher, chunked like any upload; an item's rank is that of its
best chunk (`per_item_limit=1`). Metrics follow BEIR / pytrec_eval: nDCG@10 with graded gains, recall@k over
the judged relevant documents, MRR over the whole returned list.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from homily.grounding.chunking import chunk_document
from homily.grounding.document import DocumentMetadata, ParsedDocument, Section
from homily.grounding.embedder import FloatMatrix, TextEmbedder, cached_embeddings
from homily.grounding.fusion import Candidate, RetrievalParams, fuse
from homily.grounding.index import ChunkIndex, ChunkRecord
from homily.grounding.index_protocol import ChunkIndexProtocol

log = logging.getLogger(__name__)

EVAL_PUBLISHER = "beir-eval"


@dataclass(frozen=True, slots=True)
class BeirDataset:
    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def _jsonl(path: Path) -> Iterable[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def load_beir(directory: Path, split: str) -> BeirDataset:
    """Corpus, the queries judged in `qrels/<split>.tsv`, and those judgments."""
    corpus = {
        str(d["_id"]): (str(d.get("title") or ""), str(d.get("text") or "")) for d in _jsonl(directory / "corpus.jsonl")
    }
    qrels: dict[str, dict[str, int]] = {}
    with (directory / "qrels" / f"{split}.tsv").open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            parts = line.rstrip("\n").split("\t")
            if number == 0 and not parts[-1].strip().lstrip("-").isdigit():
                continue
            if len(parts) >= 3 and int(parts[2]) > 0:
                qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = {str(q["_id"]): str(q["text"]) for q in _jsonl(directory / "queries.jsonl") if str(q["_id"]) in qrels}
    return BeirDataset(corpus, queries, {q: r for q, r in qrels.items() if q in queries})


@dataclass(frozen=True, slots=True)
class Metrics:
    ndcg_at_10: float
    recall_at_10: float
    recall_at_100: float
    mrr: float
    queries: int

    def as_dict(self) -> dict[str, float]:
        return {
            "nDCG@10": round(self.ndcg_at_10, 4),
            "recall@10": round(self.recall_at_10, 4),
            "recall@100": round(self.recall_at_100, 4),
            "MRR": round(self.mrr, 4),
            "queries": self.queries,
        }


def score_rankings(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]) -> Metrics:
    """Mean nDCG@10, recall@10, recall@100 and MRR of `rankings` (query -> doc ids best first)."""
    totals = [0.0, 0.0, 0.0, 0.0]
    for query_id, relevant in qrels.items():
        ranking = list(rankings.get(query_id, ()))
        gains = [relevant.get(doc_id, 0) for doc_id in ranking]
        dcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains[:10]))
        ideal = sorted(relevant.values(), reverse=True)[:10]
        idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
        totals[0] += dcg / idcg if idcg else 0.0
        totals[1] += sum(1 for g in gains[:10] if g > 0) / len(relevant)
        totals[2] += sum(1 for g in gains[:100] if g > 0) / len(relevant)
        totals[3] += next((1.0 / (i + 1) for i, g in enumerate(gains) if g > 0), 0.0)
    count = max(1, len(qrels))
    return Metrics(totals[0] / count, totals[1] / count, totals[2] / count, totals[3] / count, len(qrels))


def evaluation_records(dataset: BeirDataset, embedder: TextEmbedder, cache_dir: Path) -> list[ChunkRecord]:
    """Every document chunked with the production chunker as one item of `EVAL_PUBLISHER`, embedded (cached)."""
    records: list[ChunkRecord] = []
    texts: list[str] = []
    for doc_id, (title, text) in dataset.corpus.items():
        if not text.strip() and not title.strip():
            continue
        document = ParsedDocument(title or doc_id, (Section((), text or title),), DocumentMetadata(title=title))
        for chunk in chunk_document(document):
            texts.append(chunk.embedding_text(title))
            records.append(
                ChunkRecord(
                    f"{doc_id}#{chunk.index}",
                    doc_id,
                    EVAL_PUBLISHER,
                    chunk.index,
                    title,
                    chunk.heading_path,
                    chunk.text,
                    chunk.char_start,
                    chunk.char_end,
                    chunk.token_count,
                    chunk.content_hash,
                    None,
                    None,
                )
            )
    log.info("embedding %d chunks of %d documents (cached in %s)", len(texts), len(dataset.corpus), cache_dir)
    vectors = cached_embeddings(embedder, texts, cache_dir, "beir-chunks")
    return [replace(record, vector=vectors[i]) for i, record in enumerate(records)]


def fill_index(index: ChunkIndexProtocol, records: Sequence[ChunkRecord]) -> None:
    for start in range(0, len(records), 2000):
        index.add(records[start : start + 2000])


def build_index(
    dataset: BeirDataset, embedder: TextEmbedder, cache_dir: Path, database: Path | str = ":memory:"
) -> ChunkIndex:
    """Chunk every document with the production chunker, embed (cached) and index it (SQLite)."""
    records = evaluation_records(dataset, embedder, cache_dir)
    index = ChunkIndex(sqlite3.connect(str(database), check_same_thread=False, isolation_level=None))
    fill_index(index, records)
    return index


def build_pg_index(dataset: BeirDataset, embedder: TextEmbedder, cache_dir: Path, url: str) -> ChunkIndexProtocol:
    """The same on PostgreSQL at `url` (chunk ids are deterministic, so indexing again replaces, never adds)."""
    from homily.grounding.pg_index import PostgresChunkIndex

    records = evaluation_records(dataset, embedder, cache_dir)
    first = records[0].vector if records else None
    index = PostgresChunkIndex.open(url, 384 if first is None else int(np.asarray(first).size))
    fill_index(index, records)
    return index


QueryCandidates = dict[str, list[Candidate]]


def collect_candidates(
    index: ChunkIndexProtocol,
    queries: Mapping[str, str],
    query_vectors: Mapping[str, FloatMatrix],
    params: RetrievalParams,
) -> QueryCandidates:
    """Fusion inputs per query, so many fusion settings can be scored without re-querying."""
    collected: QueryCandidates = {}
    for query_id, text in queries.items():
        collected[query_id] = index.candidates(text, query_vectors[query_id], EVAL_PUBLISHER, params)
    return collected


def rank_items(candidates: QueryCandidates, params: RetrievalParams, limit: int = 100) -> dict[str, list[str]]:
    single = replace(params, per_item_limit=1, tradition_boost=0.0)
    return {
        query_id: [entry.candidate.item_id for entry in fuse(found, single, None, limit)]
        for query_id, found in candidates.items()
    }


def embed_queries(embedder: TextEmbedder, queries: Mapping[str, str], cache_dir: Path) -> dict[str, FloatMatrix]:
    ids = list(queries)
    vectors = cached_embeddings(embedder, [queries[i] for i in ids], cache_dir, "beir-queries")
    return {query_id: vectors[i] for i, query_id in enumerate(ids)}


@dataclass(frozen=True, slots=True)
class TuningResult:
    params: RetrievalParams
    metrics: Metrics


def tune(
    index: ChunkIndexProtocol,
    dataset: BeirDataset,
    query_vectors: Mapping[str, FloatMatrix],
    base: RetrievalParams,
    progress: Callable[[str], None] = log.info,
) -> list[TuningResult]:
    """Grid over fusion method, dense weight, RRF k and title weight on `dataset` (use the TRAIN split)."""
    results: list[TuningResult] = []
    for title_weight in (0.5, 1.0, 2.0, 3.0):
        searched = replace(base, title_weight=title_weight, keyword_candidates=200, dense_candidates=200)
        candidates = collect_candidates(index, dataset.queries, query_vectors, searched)
        grid = [replace(searched, method="convex", dense_weight=w / 10) for w in range(11)]
        grid += [
            replace(searched, method="rrf", dense_weight=w / 10, rrf_k=k) for w in range(3, 8) for k in (10.0, 60.0)
        ]
        for params in grid:
            metrics = score_rankings(rank_items(candidates, params), dataset.qrels)
            results.append(TuningResult(params, metrics))
        best = max(results, key=lambda r: r.metrics.ndcg_at_10)
        progress(f"title_weight={title_weight}: best so far nDCG@10={best.metrics.ndcg_at_10:.4f} ({best.params})")
    return sorted(results, key=lambda r: -r.metrics.ndcg_at_10)


def evaluate(
    index: ChunkIndexProtocol, dataset: BeirDataset, query_vectors: Mapping[str, FloatMatrix], params: RetrievalParams
) -> Metrics:
    candidates = collect_candidates(index, dataset.queries, query_vectors, params)
    return score_rankings(rank_items(candidates, params), dataset.qrels)


def best_similarities(
    index: ChunkIndexProtocol, queries: Mapping[str, str], vectors: Mapping[str, FloatMatrix], params: RetrievalParams
) -> list[float]:
    """Per query, the cosine of its best candidate chunk: what the relevance threshold is compared with."""
    best: list[float] = []
    for query_id, text in queries.items():
        candidates = index.candidates(text, vectors[query_id], EVAL_PUBLISHER, params)
        best.append(max((c.similarity for c in candidates), default=0.0))
    return best


def threshold_table(
    on_topic: Sequence[float], off_topic: Sequence[float], thresholds: Sequence[float]
) -> list[dict[str, float]]:
    """For each threshold: share of on-topic and off-topic queries that would get `sources_returned: true`."""
    return [
        {
            "threshold": t,
            "on_topic_sources_returned": round(sum(s >= t for s in on_topic) / max(1, len(on_topic)), 3),
            "off_topic_sources_returned": round(sum(s >= t for s in off_topic) / max(1, len(off_topic)), 3),
        }
        for t in thresholds
    ]


__all__ = [
    "BeirDataset",
    "Metrics",
    "build_index",
    "build_pg_index",
    "evaluate",
    "load_beir",
    "score_rankings",
    "tune",
]
