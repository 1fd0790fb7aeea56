"""`homily eval retrieval`: nDCG@10, recall@10/100 and MRR on SciFact test queries (or `--tune` on train)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from homily.cli.common import SHARED_DATA_HELP

log = logging.getLogger(__name__)

_REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA_DIR = _REPO_ROOT / ".." / "shared" / "data"
DEFAULT_CACHE_DIR = Path(tempfile.gettempdir()) / "homily-eval-cache"


def add_retrieval_commands(subparsers: Any) -> None:
    """Register `retrieval` under the `eval` command's subparsers (`homily eval retrieval ...`)."""
    parser = subparsers.add_parser(
        "retrieval",
        help="evaluate hybrid retrieval on SciFact (BEIR)",
        description="nDCG@10, recall@10/100 and MRR of hybrid retrieval (keyword + MiniLM embedding, fused as "
        "in grounded completions) on a BEIR dataset, SciFact by default. The first run embeds the corpus "
        "(minutes); later runs read the embedding cache.",
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help=SHARED_DATA_HELP)
    parser.add_argument("--dataset", default="retrieval/scifact", help="BEIR dataset folder under --data-dir")
    parser.add_argument("--split", default="test", help="qrels split to report on (default: test)")
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="embedding cache (default: %(default)s)"
    )
    parser.add_argument("--tune", action="store_true", help="grid-search fusion settings on the TRAIN split")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--database-url",
        default=None,
        help="evaluate the PostgreSQL index (tsvector + pgvector) in this database instead of SQLite (FTS5 + NumPy)",
    )
    parser.set_defaults(handler=run_retrieval_eval)


def run_retrieval_eval(args: argparse.Namespace) -> int:
    from homily.embeddings import load_local_embedder
    from homily.grounding.evaluation import (
        best_similarities,
        build_index,
        build_pg_index,
        embed_queries,
        evaluate,
        load_beir,
        threshold_table,
        tune,
    )
    from homily.grounding.fusion import RetrievalParams

    directory = Path(args.data_dir) / args.dataset
    if not (directory / "corpus.jsonl").exists():
        log.error("no BEIR dataset at %s", directory)
        return 2
    embedder = load_local_embedder()
    split = "train" if args.tune else args.split
    dataset = load_beir(directory, split)
    if args.database_url:
        index = build_pg_index(dataset, embedder, Path(args.cache_dir), args.database_url)
    else:
        index = build_index(dataset, embedder, Path(args.cache_dir))
    vectors = embed_queries(embedder, dataset.queries, Path(args.cache_dir))
    params = replace(RetrievalParams(), keyword_candidates=200, dense_candidates=200)
    if args.tune:
        results = tune(index, dataset, vectors, params)
        report: dict[str, Any] = {
            "split": split,
            "top": [{"params": asdict(r.params), **r.metrics.as_dict()} for r in results[:10]],
        }
    else:
        keyword_row = "keyword only (tsvector, BM25 idf)" if args.database_url else "keyword only (FTS5 BM25)"
        rows = {
            "hybrid (default)": params,
            # The single halves without the quotation evidence (phrase matches, `fusion.quote_bonus`).
            keyword_row: replace(params, method="convex", dense_weight=0.0, quote_candidates=0),
            "dense only (all-MiniLM-L6-v2)": replace(params, method="convex", dense_weight=1.0, quote_candidates=0),
        }
        report = {
            "dataset": args.dataset,
            "split": split,
            "backend": "postgresql" if args.database_url else "sqlite",
            "embedder": embedder.model_name,
            "results": {name: evaluate(index, dataset, vectors, p).as_dict() for name, p in rows.items()},
        }
        off_topic = _off_topic_questions(Path(args.data_dir))
        if off_topic:
            off_vectors = embed_queries(embedder, off_topic, Path(args.cache_dir))
            report["relevance_threshold"] = {
                "default": params.relevance_threshold,
                "off_topic_set": "MT-Bench first turns (general tasks, not in the corpus)",
                "table": threshold_table(
                    best_similarities(index, dataset.queries, vectors, params),
                    best_similarities(index, off_topic, off_vectors, params),
                    (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5),
                ),
            }
    _print_report(report, as_json=args.json)
    return 0


def _off_topic_questions(data_dir: Path) -> dict[str, str]:
    path = data_dir / "routing" / "mt_bench" / "question.jsonl"
    if not path.exists():
        return {}
    questions: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            questions[f"mt{record['question_id']}"] = str(record["turns"][0])
    return questions


def _print_report(report: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if "results" in report:
        table = Table(title=f"{report['dataset']} ({report['split']}), embedder {report['embedder']}")
        for column in ("ranking", "nDCG@10", "recall@10", "recall@100", "MRR", "queries"):
            table.add_column(column)
        for name, metrics in report["results"].items():
            table.add_row(name, *(str(metrics[k]) for k in ("nDCG@10", "recall@10", "recall@100", "MRR", "queries")))
        console.print(table)
        if "relevance_threshold" in report:
            console.print_json(json.dumps(report["relevance_threshold"]))
    else:
        console.print_json(json.dumps(report))


def main(argv: list[str] | None = None) -> int:
    """`python -m homily.cli.retrieval [options]`, same as `homily eval retrieval`."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="homily eval")
    add_retrieval_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["retrieval", *(sys.argv[1:] if argv is None else argv)])
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
