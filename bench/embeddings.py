"""Reference numbers for the local embedder: single-query latency, batch throughput, batched serving.

    python bench/embeddings.py                       # ONNX Runtime embedder, then sentence-transformers
    python bench/embeddings.py --threads 1 --no-reference
    python bench/embeddings.py --precision float32 --no-reference   # the exact graph, for comparison

Queries are MT-Bench first turns cut to 12 words; passages are ~150-word chunks of Augustine's Confessions
(public domain), both from ../shared/data. Throughput counts real word pieces (no padding). The machine is
shared, so the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from homily.embeddings import BatchingEmbedder, Embedder, OnnxSentenceEmbedder, Vectors, load_local_embedder
from homily.embeddings.local import default_model_dir

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT / ".." / "shared" / "data"


def load_queries(data_dir: Path, words: int) -> list[str]:
    path = data_dir / "routing" / "mt_bench" / "question.jsonl"
    with path.open(encoding="utf-8") as handle:
        firsts = [json.loads(line)["turns"][0] for line in handle if line.strip()]
    return [" ".join(text.split()[:words]) for text in firsts if len(text.split()) >= words]


def load_passages(data_dir: Path, count: int, words: int) -> list[str]:
    folder = data_dir / "corpus" / "christian_texts" / "church_fathers_npnf" / "augustine_confessions"
    tokens: list[str] = []
    for path in sorted(folder.glob("book_*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("**["):
                tokens.extend(line.split("**", 2)[-1].split())
    passages = [" ".join(tokens[i : i + words]) for i in range(0, len(tokens) - words, words)]
    return passages[:count]


def percentiles_ms(samples: Sequence[float]) -> str:
    p50, p90, p99 = np.percentile(np.asarray(samples) * 1e3, [50, 90, 99])
    return f"p50 {p50:.2f} ms  p90 {p90:.2f} ms  p99 {p99:.2f} ms"


def bench_single(embed: Callable[[list[str]], Vectors], queries: list[str], runs: int) -> tuple[list[float], float]:
    """Wall-clock samples of one-query calls, and the process CPU seconds they used in all."""
    for warmup in queries[:20]:
        embed([warmup])
    samples = []
    cpu_start = time.process_time()
    for i in range(runs):
        query = [queries[i % len(queries)]]
        start = time.perf_counter()
        embed(query)
        samples.append(time.perf_counter() - start)
    return samples, time.process_time() - cpu_start


def bench_batch(embed: Callable[[list[str]], Vectors], passages: list[str], repeats: int) -> tuple[list[float], float]:
    """Wall-clock durations of embedding all passages, and the median process CPU seconds per repeat."""
    embed(passages[:32])
    durations, cpu = [], []
    for _ in range(repeats):
        cpu_start, start = time.process_time(), time.perf_counter()
        embed(passages)
        durations.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return durations, statistics.median(cpu)


def bench_batched_serving(embedder: Embedder, queries: list[str], clients: int, per_client: int) -> str:
    """`clients` coroutines each embed `per_client` queries one at a time through a BatchingEmbedder."""

    async def run() -> tuple[float, list[float], int]:
        latencies: list[float] = []
        async with BatchingEmbedder(embedder, max_batch=32) as batcher:
            await batcher.embed_many(queries[:32])
            calls_before = batcher.batches_run

            async def client(offset: int) -> None:
                for i in range(per_client):
                    start = time.perf_counter()
                    await batcher.embed_one(queries[(offset + i) % len(queries)])
                    latencies.append(time.perf_counter() - start)

            start = time.perf_counter()
            await asyncio.gather(*(client(c * 7) for c in range(clients)))
            return time.perf_counter() - start, latencies, batcher.batches_run - calls_before

    elapsed, latencies, calls = asyncio.run(run())
    total = clients * per_client
    return (
        f"{clients} concurrent clients: {total / elapsed:.0f} queries/s, {percentiles_ms(latencies)}, "
        f"{total / calls:.1f} queries per model call"
    )


def report(
    name: str,
    embed: Callable[[list[str]], Vectors],
    *,
    queries: list[str],
    passages: list[str],
    token_count: int,
    args: argparse.Namespace,
) -> None:
    single, single_cpu = bench_single(embed, queries, args.runs)
    windows = [statistics.median(single[i : i + 50]) * 1e3 for i in range(0, len(single) - 49, 50)]
    print(
        f"[{name}] single query: {percentiles_ms(single)}  (n={len(single)}); "
        f"quietest 50-run window p50 {min(windows):.2f} ms; CPU {single_cpu / len(single) * 1e3:.2f} ms/query"
    )
    durations, batch_cpu = bench_batch(embed, passages, args.repeats)
    best, median = min(durations), statistics.median(durations)
    print(
        f"[{name}] batch of {len(passages)} passages ({token_count} tokens): "
        f"{token_count / median:.0f} tokens/s median, {token_count / best:.0f} best; "
        f"{len(passages) / median:.1f} texts/s median; CPU {batch_cpu / token_count * 1e6:.0f} us/token"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "homily-bench-models")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads (default 2)")
    parser.add_argument(
        "--precision", choices=["int8", "float32"], default="int8", help="encoder weights (default int8, as served)"
    )
    parser.add_argument("--spin", action="store_true", help="let ONNX Runtime threads busy-wait")
    parser.add_argument("--runs", type=int, default=500, help="single-query samples")
    parser.add_argument("--passages", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--no-reference", action="store_true", help="skip sentence-transformers")
    args = parser.parse_args()

    queries = load_queries(args.data_dir, words=12)
    passages = load_passages(args.data_dir, args.passages, words=150)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    start = time.perf_counter()
    embedder: OnnxSentenceEmbedder = load_local_embedder(
        args.cache_dir, precision=args.precision, threads=args.threads, spin_wait=args.spin
    )
    elapsed = time.perf_counter() - start
    print(f"[onnxruntime] {args.precision} weights loaded in {elapsed:.2f} s (cache {args.cache_dir})")
    query_tokens = statistics.mean(len(ids) for ids in embedder.token_ids(queries))
    token_count = sum(len(ids) for ids in embedder.token_ids(passages))
    print(f"queries: {len(queries)}, mean {query_tokens:.1f} tokens incl. [CLS]/[SEP]")
    report("onnxruntime", embedder.embed, queries=queries, passages=passages, token_count=token_count, args=args)
    print(f"[onnxruntime] {bench_batched_serving(embedder, queries, args.clients, per_client=20)}")

    if args.no_reference:
        return
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        print("[sentence-transformers] not installed; skipped")
        return
    os.environ["HF_HUB_OFFLINE"] = "1"
    model = SentenceTransformer(str(default_model_dir()), device="cpu")

    def st_embed(texts: list[str]) -> Vectors:
        vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    report(
        "sentence-transformers/torch",
        st_embed,
        queries=queries,
        passages=passages,
        token_count=token_count,
        args=args,
    )


if __name__ == "__main__":
    main()
