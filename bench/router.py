"""Latency of the learned tier estimate as the request path computes it (score, tier, confidence; no per-feature
contributions), excluding the shared query embedding (computed once beforehand).

    python bench/router.py [--iterations 5000]

Prints p50/p90/p99 in microseconds for realistic requests of several lengths.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from homily.embeddings import load_local_embedder  # noqa: E402
from homily.routing.learned import ComplexityModel  # noqa: E402
from homily.routing.signals import ConversationFacts  # noqa: E402

REQUESTS = [
    "thanks!",
    "What does Psalm 46:10 say?",
    "Write a short prayer for our volunteers before the Christmas outreach.",
    "Compare the Catholic and Reformed understandings of the sacraments, trace their roots in Augustine, and "
    "evaluate how each shapes worship practice today. " * 4,
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=5000)
    args = parser.parse_args()
    model = ComplexityModel.load()
    embeddings = load_local_embedder().embed(REQUESTS)
    facts = ConversationFacts(user_turns=2)
    for text, embedding in zip(REQUESTS, embeddings, strict=True):
        for _ in range(200):
            model.estimate(text, facts, embedding, reasons=1)
        samples = []
        for _ in range(args.iterations):
            started = time.perf_counter_ns()
            model.estimate(text, facts, embedding, reasons=1)
            samples.append((time.perf_counter_ns() - started) / 1000)
        cuts = statistics.quantiles(samples, n=100)
        print(f"{len(text):5d} chars: p50 {cuts[49]:7.1f} µs  p90 {cuts[89]:7.1f} µs  p99 {cuts[98]:7.1f} µs")


if __name__ == "__main__":
    main()
