"""How far knowing MT-Bench's categories takes a router: every question scored by its category's exact
strong-minus-weak judge-score gap on MT-Bench itself, with the same sweep as `homily eval routing`.

This reads the evaluated labels, so it is an upper bound for analysis, never a router: a router that sorted every
question into its category without error, and knew the true order of the categories' gaps on this very benchmark,
would score this, and no better without telling questions of one category apart.

    python scripts/mt_bench_category_ceiling.py
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from homily.routing.benchmarks import default_data_dir, load_mt_bench
from homily.routing.metrics import apgr, threshold_sweep


def main() -> None:
    bench = load_mt_bench(default_data_dir())
    category = np.array(bench.groups)
    strong, weak = bench.strong_quality, bench.weak_quality
    rng = np.random.default_rng(0)

    def score(values: npt.NDArray[np.float64]) -> float:
        """Mean APGR over 200 random orders of tied items (a category's questions all tie)."""
        return float(
            np.mean(
                [apgr(threshold_sweep(values + rng.normal(0.0, 1e-6, len(values)), strong, weak)) for _ in range(200)]
            )
        )

    gap = {name: float((strong - weak)[category == name].mean()) for name in sorted(set(bench.groups))}
    print(f"MT-Bench questions (contaminated removed): {len(strong)}")
    for name, value in gap.items():
        print(f"  {name:<12} n={int(np.sum(category == name)):>2}  strong-minus-weak judge score {value:+.2f}")
    rows = [
        (
            "random (mean of 200 seeds)",
            float(np.mean([apgr(threshold_sweep(rng.random(len(strong)), strong, weak)) for _ in range(200)])),
        ),
        ("category's exact gap", score(np.array([gap[name] for name in bench.groups]))),
        ("item oracle: the exact gap of each question", score(strong - weak)),
    ]
    for name, value in rows:
        print(f"  {name:<45} APGR {value:.3f}")


if __name__ == "__main__":
    main()
