"""How far knowing a GSM8K problem's length of solution takes a router: each problem scored by the number of
calculations ("=" signs) and lines in GPT-4-1106's own worked answer, with the same sweep as `homily eval routing`.

This reads the evaluated answers and labels, so it is a bound for analysis, never a router: a router that knew how
many steps the strong model takes on each problem before any model ran would score this. The problem's own length
is printed beside it for scale.

    python scripts/gsm8k_step_ceiling.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import numpy.typing as npt

from homily.routing.benchmarks import STRONG_MODEL, default_data_dir, load_gsm8k
from homily.routing.metrics import apgr, threshold_sweep


def main() -> None:
    data_dir = default_data_dir()
    bench = load_gsm8k(data_dir)
    path = Path(data_dir) / "routing" / "routellm" / "gsm8k" / "gsm8k_responses.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        answers = {row["prompt"]: row[f"{STRONG_MODEL}_response"] for row in csv.DictReader(handle)}
    worked = [answers[prompt] for prompt in bench.prompts]
    strong, weak = bench.strong_quality, bench.weak_quality
    rng = np.random.default_rng(0)

    def score(values: list[int] | npt.NDArray[np.float64]) -> float:
        """Mean APGR over 20 random orders of tied items (counts tie often, and one order moves APGR by ~0.01)."""
        base = np.asarray(values, dtype=np.float64)
        return float(
            np.mean([apgr(threshold_sweep(base + rng.normal(0.0, 1e-6, len(base)), strong, weak)) for _ in range(20)])
        )

    def lines(answer: str) -> int:
        return sum(1 for line in answer.splitlines() if line.strip())

    rows = [
        ("random (mean of 20 seeds)", float(np.mean([score(rng.random(len(strong))) for _ in range(20)]))),
        ("the problem's length in characters", score([len(prompt) for prompt in bench.prompts])),
        ("calculations in GPT-4's answer (= signs)", score([answer.count("=") for answer in worked])),
        ("lines in GPT-4's answer", score([lines(answer) for answer in worked])),
        ("item oracle: the weak model fails the problem", score(1.0 - weak)),
    ]
    print(f"GSM8K problems (contaminated removed): {len(strong)}")
    print(f"  accuracy: weak {weak.mean():.3f}, strong {strong.mean():.3f}")
    for name, value in rows:
        print(f"  {name:<48} APGR {value:.3f}")


if __name__ == "__main__":
    main()
