"""Screening latency beyond the shared query embedding: p50/p99 of `screen` over real prompts.

    python bench/guard.py [--repeat 3]

Embeddings are computed up front (they are the shared per-request embedding, costed by the router's
benchmark), so the figures are the guard's own cost: lexical features + MLP (+ history/tool scanning).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from homily.guard import GuardPolicy, default_guard_model, screen
from homily.guard.datasets import alpaca_eval, default_data_dir, jbb_goals, xstest
from homily.guard.embedding import LocalEmbedFunction
from homily.protocol.chat import ChatMessage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data_dir = default_data_dir()
    prompts = alpaca_eval(data_dir)[:300] + jbb_goals(data_dir, "harmful") + xstest(data_dir, "safe")[:100]
    vectors = LocalEmbedFunction()(prompts)
    model = default_guard_model()
    policy = GuardPolicy()
    conversations = [
        [ChatMessage(role="system", content="You are helpful."), ChatMessage(role="user", content=prompt)]
        for prompt in prompts
    ]
    samples: list[float] = []
    for _ in range(args.repeat):
        for messages, vector in zip(conversations, vectors, strict=True):
            start = time.perf_counter()
            screen(messages, vector, policy, model)
            samples.append((time.perf_counter() - start) * 1000)
    ordered = np.sort(np.array(samples))
    lengths = [len(prompt) for prompt in prompts]
    sys.stdout.write(
        f"screen() latency over {len(samples)} calls (prompt chars median {statistics.median(lengths):.0f}, "
        f"max {max(lengths)}): p50 {np.percentile(ordered, 50):.3f} ms, "
        f"p99 {np.percentile(ordered, 99):.3f} ms\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
