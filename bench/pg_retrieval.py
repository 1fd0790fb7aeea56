"""PostgreSQL (tsvector + pgvector) against SQLite (FTS5 + NumPy) chunk index on SciFact: quality and latency.

Both indexes are built by the `homily eval retrieval` pipeline (`grounding.evaluation`: production chunker,
all-MiniLM-L6-v2 vectors from the shared embedding cache) and scored the same way (nDCG@10 etc. of the hybrid,
keyword-only and dense-only rankings). Then the latency of one `search()` (default params, limit 10, query vector
precomputed: the index's own time), p50/p95 over every query of the split, and for PostgreSQL the dense step by
the path it takes (HNSW with iterative scan from `EXACT_SCAN_ROWS` chunks) against a forced exact scan: recall@100
of its dense list and the search latency with the exact scan.

`--copies N` indexes the corpus N times in one publisher (distinct chunk ids; rankings are then not scored) to
measure latency at a larger size, where PostgreSQL's dense step uses the HNSW index.

Run: `python bench/pg_retrieval.py [--split train|test] [--copies 1] [--database-url URL]`. Without a URL a
throwaway PostgreSQL 16 + pgvector is started with the test servers' programs (tests/support/services.py).
Selection of anything (e.g. `pg_keyword.RANK_NORMALIZATION`) must use `--split train`; test is held out.

Measured 2026-12-07 (2 shared cores, PostgreSQL 16 + pgvector 0.8.5 from the test servers, fsync off; latencies
vary by ~30% from run to run on the shared machine):
- `--split test`: nDCG@10 hybrid SQLite 0.7368 / PostgreSQL 0.7322; keyword only 0.6836 / 0.6849; dense only
  0.6456 / 0.6456. Search p50 (p95) 5.5 (10.2) ms / 6.2 (8.2) ms at 7,872 chunks; PostgreSQL's dense list (HNSW)
  has recall@100 0.993 against its exact scan, which would make search p50 16.1 ms. (Before keyword scoring was
  limited to the rarer lexemes' rows, `pg_keyword.MATCH_SHARE`: hybrid 0.7351, keyword 0.6837, p50 (p95) 20.9 (38.4).)
- `--split train`: nDCG@10 hybrid SQLite 0.7417 / PostgreSQL 0.7394 (0.7364 before); search p50 (p95) 5.0 (7.7) ms
  / 9.5 (15.7) ms, a second run 5.6 (8.2) / 11.6 (17.1) (15.8 (28.4) before).
- `--split train --copies 6` (47,232 chunks in one publisher): hybrid nDCG@10 with copies scored as one SQLite
  0.7332 / PostgreSQL 0.7310; search p50 (p95) SQLite 17.9 (28.1) ms (exact NumPy scan: the bench builds no graph) /
  PostgreSQL 19.6 (45.5) ms (47.8 (113.0) before); HNSW recall@100 0.986 vs exact scan, whose search p50 would be
  96.7 ms (102.5 before).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))
sys.path.insert(0, str(REPO_ROOT))

from homily.cli.retrieval import DEFAULT_CACHE_DIR, DEFAULT_DATA_DIR  # noqa: E402
from homily.embeddings import load_local_embedder  # noqa: E402
from homily.grounding.embedder import FloatMatrix  # noqa: E402
from homily.grounding.evaluation import (  # noqa: E402
    EVAL_PUBLISHER,
    BeirDataset,
    Metrics,
    collect_candidates,
    evaluate,
    evaluation_records,
    fill_index,
    load_beir,
    rank_items,
    score_rankings,
)
from homily.grounding.fusion import RetrievalParams  # noqa: E402
from homily.grounding.index import ChunkIndex  # noqa: E402
from homily.grounding.index_protocol import ChunkIndexProtocol  # noqa: E402
from homily.grounding.pg_index import EXACT_SCAN_ROWS, PostgresChunkIndex  # noqa: E402


@contextlib.contextmanager
def database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from tests.support.services import running_postgres

    with running_postgres() as server, server.fresh_database() as fresh:
        yield fresh


def latency_ms(
    index: ChunkIndexProtocol, queries: Mapping[str, str], vectors: Mapping[str, FloatMatrix], params: RetrievalParams
) -> dict[str, float]:
    """p50/p95 of one `search()` per query (two warm-up passes over the first 20 queries first)."""
    ids = list(queries)
    for query_id in ids[:20] * 2:
        index.search(queries[query_id], vectors[query_id], EVAL_PUBLISHER, params=params)
    timings: list[float] = []
    for query_id in ids:
        start = time.perf_counter()
        index.search(queries[query_id], vectors[query_id], EVAL_PUBLISHER, params=params)
        timings.append(1000.0 * (time.perf_counter() - start))
    timings.sort()
    return {
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 2),
        "queries": len(timings),
    }


def copies_metrics(
    index: ChunkIndexProtocol,
    dataset: BeirDataset,
    vectors: Mapping[str, FloatMatrix],
    params: RetrievalParams,
    copies: int,
) -> Metrics:
    """Ranking quality on a corpus indexed `copies` times: item copies (`id~n`) count as their original, first
    occurrence only, so the figures compare with the single corpus's."""
    ranked = rank_items(collect_candidates(index, dataset.queries, vectors, params), params, 100 * copies)
    originals = {query: list(dict.fromkeys(item.split("~")[0] for item in items)) for query, items in ranked.items()}
    return score_rankings(originals, dataset.qrels)


def dense_lists(
    index: ChunkIndexProtocol, queries: Mapping[str, str], vectors: Mapping[str, FloatMatrix], limit: int
) -> dict[str, set[int]]:
    dense_only = RetrievalParams(keyword_candidates=0, dense_candidates=limit)
    return {
        query_id: {c.rowid for c in index.candidates("", vectors[query_id], EVAL_PUBLISHER, dense_only)}
        for query_id in queries
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="train")
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    args = parser.parse_args()

    from homily.grounding.evaluation import embed_queries

    dataset = load_beir(args.data_dir / "retrieval" / "scifact", args.split)
    embedder = load_local_embedder()
    records = evaluation_records(dataset, embedder, args.cache_dir)
    if args.copies > 1:
        records = [
            replace(r, chunk_id=f"{r.chunk_id}~{copy}", item_id=f"{r.item_id}~{copy}" if copy else r.item_id)
            for copy in range(args.copies)
            for r in records
        ]
    vectors = embed_queries(embedder, dataset.queries, args.cache_dir)
    params = replace(RetrievalParams(), keyword_candidates=200, dense_candidates=200)
    rankings = {
        "hybrid (default)": params,
        "keyword only": replace(params, dense_weight=0.0),
        "dense only": replace(params, dense_weight=1.0),
    }
    report: dict[str, object] = {"split": args.split, "chunks": len(records), "queries": len(dataset.queries)}
    with database(args.database_url) as url:
        sqlite_index = ChunkIndex.open(":memory:")
        started = time.perf_counter()
        fill_index(sqlite_index, records)
        sqlite_seconds = time.perf_counter() - started
        pg_index = PostgresChunkIndex.open(url)
        started = time.perf_counter()
        fill_index(pg_index, records)
        pg_seconds = time.perf_counter() - started
        with pg_index.connection() as connection:
            connection.execute("ANALYZE chunks")
        backends: dict[str, ChunkIndexProtocol] = {"sqlite": sqlite_index, "postgresql": pg_index}
        for name, index in backends.items():
            entry: dict[str, object] = {"index_seconds": round(sqlite_seconds if name == "sqlite" else pg_seconds, 1)}
            if args.copies == 1:
                entry["metrics"] = {row: evaluate(index, dataset, vectors, p).as_dict() for row, p in rankings.items()}
            else:
                entry["metrics"] = {
                    "hybrid (default), copies as one": copies_metrics(
                        index, dataset, vectors, params, args.copies
                    ).as_dict()
                }
            entry["search_latency"] = latency_ms(index, dataset.queries, vectors, RetrievalParams())
            report[name] = entry
        exact_index = PostgresChunkIndex(url, pg_index.pool, exact_scan_rows=10**12)
        exact = dense_lists(exact_index, dataset.queries, vectors, 100)
        used = dense_lists(pg_index, dataset.queries, vectors, 100)
        recall = statistics.mean(len(exact[q] & used[q]) / max(1, len(exact[q])) for q in exact)
        report["postgresql_dense"] = {
            "path": "hnsw" if len(records) >= EXACT_SCAN_ROWS else "exact",
            "recall@100_vs_exact_scan": round(recall, 4),
            "search_latency_with_exact_scan": latency_ms(exact_index, dataset.queries, vectors, RetrievalParams()),
        }
        sqlite_index.close()
        pg_index.close()
    sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
