"""Back-to-back A/B of the local embedding graph as written by two source trees, in one process.

    python -m bench.embedding_graphs --tree main=/work/main/src --tree branch=src
    python -m bench.embedding_graphs --tree main=/work/main/src --tree branch=src --precision float32 --threads 1,2

Each tree's own `homily` builds its graph (in a subprocess, into a scratch directory); then one process loads every
graph x thread count as an ONNX Runtime session and times them in interleaved rounds, so a busy shared machine
slows all of them alike. Single queries are MT-Bench first turns cut to 12 words (about 16 word pieces); the batch
is 64 ~150-word passages of Augustine's Confessions in one padded model call. Sessions use the served options
(sequential, no spinning).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime  # type: ignore[import-untyped]
from tokenizers import Tokenizer

from bench.embeddings import DEFAULT_DATA_DIR, load_passages, load_queries
from homily.embeddings.local import default_model_dir

Feed = dict[str, npt.NDArray[np.int64]]

_BUILD = """
import sys
from pathlib import Path
from homily.embeddings.local import cached_graph_path, default_model_dir, load_local_embedder
cache, precision = Path(sys.argv[1]), sys.argv[2]
load_local_embedder(cache, precision=precision)
print(cached_graph_path(default_model_dir(), cache, precision))
"""


def build_graph(source: Path, scratch: Path, precision: str) -> Path:
    """The graph file `source`'s `homily` writes for `precision`."""
    env = {**os.environ, "PYTHONPATH": str(source.resolve())}
    result = subprocess.run(
        [sys.executable, "-c", _BUILD, str(scratch), precision], env=env, check=True, capture_output=True, text=True
    )
    return Path(result.stdout.strip().splitlines()[-1])


def session(graph: Path, threads: int) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


def padded(rows: list[list[int]]) -> Feed:
    ids = np.zeros((len(rows), max(len(row) for row in rows)), dtype=np.int64)
    mask = np.zeros_like(ids)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = row
        mask[index, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", action="append", required=True, help="NAME=SRC_DIR (a tree's src directory)")
    parser.add_argument("--precision", choices=["int8", "float32"], default="int8")
    parser.add_argument("--threads", default="2", help="comma-separated intra-op thread counts (default 2)")
    parser.add_argument("--rounds", type=int, default=40, help="single-query rounds of 40 calls per session")
    parser.add_argument("--batch-rounds", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args()

    tokenizer = Tokenizer.from_file(str(default_model_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(256)
    queries = [padded([e.ids]) for e in tokenizer.encode_batch(load_queries(args.data_dir, words=12))]
    batch = padded([e.ids for e in tokenizer.encode_batch(load_passages(args.data_dir, 64, words=150))])
    tokens = int(batch["attention_mask"].sum())

    with tempfile.TemporaryDirectory() as scratch:
        graphs = {}
        for spec in args.tree:
            name, _, source = spec.partition("=")
            graphs[name] = build_graph(Path(source), Path(scratch) / name, args.precision)
        sessions = {
            f"{name} t{threads}": session(graph, int(threads))
            for threads in args.threads.split(",")
            for name, graph in graphs.items()
        }
        for current in sessions.values():
            for feed in queries[:20]:
                current.run(None, feed)
        load_before = os.getloadavg()
        single: dict[str, list[float]] = {name: [] for name in sessions}
        cpu = dict.fromkeys(sessions, 0.0)
        for round_index in range(args.rounds):
            for name, current in sessions.items():
                cpu_start = time.process_time()
                for call in range(40):
                    feed = queries[(round_index * 40 + call) % len(queries)]
                    start = time.perf_counter()
                    current.run(None, feed)
                    single[name].append(time.perf_counter() - start)
                cpu[name] += time.process_time() - cpu_start
        batched: dict[str, list[float]] = {name: [] for name in sessions}
        for _ in range(args.batch_rounds):
            for name, current in sessions.items():
                start = time.perf_counter()
                current.run(None, batch)
                batched[name].append(time.perf_counter() - start)

    print(
        f"{args.precision}: {len(single[next(iter(sessions))])} single queries per session; "
        f"batch of {batch['input_ids'].shape[0]} passages ({tokens} tokens) x {args.batch_rounds}"
    )
    for name in sessions:
        samples = np.asarray(single[name]) * 1e3
        p50, p90 = np.percentile(samples, [50, 90])
        durations = np.asarray(batched[name])
        print(
            f"{name:16s} single p50 {p50:.2f} ms  p90 {p90:.2f} ms  CPU {cpu[name] / len(samples) * 1e3:.2f} ms/query"
            f" | batch {tokens / np.median(durations):.0f} tokens/s median, {tokens / durations.min():.0f} best"
        )
    after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {after[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
