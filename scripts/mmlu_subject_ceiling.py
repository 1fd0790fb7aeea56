"""How far subject-level knowledge alone takes a router on MMLU.

First, on the router's *training* subjects only: every item scored by an exact property of its subject (the
strong-minus-weak accuracy gap, or the weak model's error rate), APGR with the same sweep as `homily eval routing`,
next to a random router and the item oracle.

Then, with `--item-split`, the other protocol the routing issue allows (no evaluated *item* seen in training, as
RouteLLM's MMLU-labelled training did): items of all 57 subjects halved by a hash of the prompt, each subject's gap
estimated on one half and used to score the other half. This reads the labels of the held-out subjects too (an
analysis recorded in the router's evaluation history; no router is trained or chosen with it).

    python scripts/mmlu_subject_ceiling.py [--item-split]
"""

from __future__ import annotations

import sys
import zlib

import numpy as np
import numpy.typing as npt

from homily.routing.benchmarks import MmluItem, default_data_dir, load_mmlu_items
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
    if "--item-split" in sys.argv[1:]:
        item_split(items, rng)


def item_split(items: list[MmluItem], rng: np.random.Generator) -> None:
    """Each subject's gap from one half of its items scores the other half."""
    half = np.array([zlib.crc32(item.prompt.encode("utf-8")) % 2 for item in items])
    strong = np.array([float(item.strong_correct) for item in items])
    weak = np.array([float(item.weak_correct) for item in items])
    subject = np.array([item.subject for item in items])
    known, scored = half == 0, half == 1
    gap = {name: float((strong - weak)[known & (subject == name)].mean()) for name in set(subject.tolist())}
    values = np.array([gap[name] for name in subject])[scored]

    def mean_apgr(score: npt.NDArray[np.float64], repeats: int) -> float:
        """Mean over random orders of tied items (a subject's items all tie)."""
        jitters = (rng.normal(0.0, 1e-6, len(score)) for _ in range(repeats))
        return float(
            np.mean([apgr(threshold_sweep(score + jitter, strong[scored], weak[scored])) for jitter in jitters])
        )

    randoms = [apgr(threshold_sweep(rng.random(len(values)), strong[scored], weak[scored])) for _ in range(20)]
    print(f"MMLU item split, all subjects: {int(known.sum())} items estimate, {int(scored.sum())} scored")
    print(f"  {'random (mean of 20 seeds)':<45} APGR {float(np.mean(randoms)):.3f}")
    print(f"  {'subject told, its gap from the other half':<45} APGR {mean_apgr(values, 20):.3f}")


if __name__ == "__main__":
    main()
