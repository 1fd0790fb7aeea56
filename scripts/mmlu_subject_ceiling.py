"""How far subject-level knowledge alone takes a router on MMLU, measured on the router's *training* subjects only.

Scores every item by an exact property of its subject (the strong-minus-weak accuracy gap, or the weak model's
error rate) and reports APGR with the same sweep as `homily eval routing`, next to a random router and the item
oracle. No held-out subject is read.

    python scripts/mmlu_subject_ceiling.py
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from homily.routing.benchmarks import default_data_dir, load_mmlu_items
from homily.routing.metrics import apgr, threshold_sweep


def main() -> None:
    items = load_mmlu_items(default_data_dir())
    subjects = sorted({item.subject for item in items})
    training = set(subjects[0::2])  # the split of scripts/train_router.py: even positions train
    kept = [item for item in items if item.subject in training]
    strong = np.array([float(item.strong_correct) for item in kept])
    weak = np.array([float(item.weak_correct) for item in kept])
    subject = np.array([item.subject for item in kept])
    rng = np.random.default_rng(0)

    def score(values: npt.NDArray[np.float64]) -> float:
        jitter = rng.normal(0.0, 1e-6, len(values))  # break ties the same way for every router
        return apgr(threshold_sweep(values + jitter, strong, weak))

    gap = {name: strong[subject == name].mean() - weak[subject == name].mean() for name in training}
    error = {name: 1.0 - weak[subject == name].mean() for name in training}
    rows = [
        ("random (mean of 20 seeds)", float(np.mean([score(rng.random(len(kept))) for _ in range(20)]))),
        ("subject's weak-model error rate, exact", score(np.array([error[name] for name in subject]))),
        ("subject's strong-minus-weak gap, exact", score(np.array([gap[name] for name in subject]))),
        ("item oracle: the weak model fails the item", score(1.0 - weak)),
    ]
    print(f"MMLU training subjects: {len(training)}, items: {len(kept)}")
    for name, value in rows:
        print(f"  {name:<45} APGR {value:.3f}")


if __name__ == "__main__":
    main()
