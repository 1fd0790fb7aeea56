"""Per-category thresholds for the guard, chosen on held-out scores (never on the test part).

Objective (documented in the report): maximise the mean recall over the harmful sets, subject to a false-positive
budget on every benign set. A request is detected when any category's score reaches its threshold, so the
categories interact; a greedy search lowers one category's threshold at a time, always taking the feasible move
with the best recall gain per unit of false-positive cost, until no move gains recall within the budgets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Scores = npt.NDArray[np.float32]
GRID: tuple[float, ...] = tuple(round(0.95 - 0.025 * step, 3) for step in range(37))  # 0.95 … 0.05


@dataclass(frozen=True, slots=True)
class Budget:
    """A benign set's scores and the largest false-positive rate allowed on it."""

    scores: Scores
    max_rate: float
    weights: npt.NDArray[np.float64] | None = None
    """Per-row weights (a pooled set whose parts count in proportion to the target's datasets); None: equal."""

    def rate(self, thresholds: npt.NDArray[np.float32]) -> float:
        return float(np.average(detected(self.scores, thresholds), weights=self.weights))


def pooled(parts: Sequence[tuple[Scores, float]], max_rate: float) -> Budget:
    """A budget on several sets pooled as if each held the given number of items (e.g. a target's dataset sizes,
    with stand-in sets scored in their place)."""
    weights = np.concatenate([np.full(len(scores), size / max(len(scores), 1)) for scores, size in parts])
    return Budget(np.vstack([scores for scores, _ in parts]), max_rate, weights)


def detected(scores: Scores, thresholds: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Rows where any category reaches its threshold."""
    return np.asarray((scores >= thresholds).any(axis=1), dtype=np.bool_)


def _recall(positives: Sequence[Scores], thresholds: npt.NDArray[np.float32]) -> float:
    return float(np.mean([detected(scores, thresholds).mean() for scores in positives]))


def _fp_cost(budgets: Sequence[Budget], thresholds: npt.NDArray[np.float32]) -> float | None:
    """Sum of false-positive rates relative to their budgets; None if a budget is exceeded."""
    cost = 0.0
    for budget in budgets:
        rate = budget.rate(thresholds)
        if rate > budget.max_rate:
            return None
        cost += rate / max(budget.max_rate, 1e-6)
    return cost


def greedy_thresholds(
    positives: Sequence[Scores],
    budgets: Sequence[Budget],
    start: npt.NDArray[np.float32],
    tuned: Sequence[int],
    floor: float = 0.0,
) -> npt.NDArray[np.float32]:
    """Lower the thresholds of the `tuned` columns from `start` (never below `floor`) while recall rises within
    every budget. `start` must itself be feasible for the search to move (it is returned unchanged otherwise).
    """
    thresholds = start.astype(np.float32).copy()
    if _fp_cost(budgets, thresholds) is None:
        return thresholds
    while True:
        recall = _recall(positives, thresholds)
        cost = _fp_cost(budgets, thresholds) or 0.0
        best: tuple[float, int, float] | None = None
        for column in tuned:
            for value in GRID:
                if value >= thresholds[column] or value < floor:
                    continue
                trial = thresholds.copy()
                trial[column] = value
                trial_cost = _fp_cost(budgets, trial)
                gain = _recall(positives, trial) - recall
                if trial_cost is None or gain <= 0:
                    continue
                ratio = gain / (trial_cost - cost + 1e-3)
                if best is None or ratio > best[0]:
                    best = (ratio, column, value)
        if best is None:
            return thresholds
        thresholds[best[1]] = best[2]


def rates(sets: Mapping[str, Scores], thresholds: npt.NDArray[np.float32]) -> dict[str, float]:
    """Detection rate per named set."""
    return {name: float(detected(scores, thresholds).mean()) for name, scores in sets.items()}
