"""Tier boundaries, confidence calibration and rank correlation on out-of-fold router scores."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def _accuracy(scores: Array, levels: npt.NDArray[np.int_], low: float, high: float) -> float:
    tiers = np.where(scores < low, 0, np.where(scores < high, 1, 2))
    return float(np.mean(tiers == levels))


def _centre(points: Array, start: float, keeps: Callable[[float], bool]) -> float:
    """Midpoint of the contiguous run of `points` around `start` on which `keeps` holds."""
    index = int(np.searchsorted(points, start))
    lower = upper = min(index, len(points) - 1)
    if not len(points) or not keeps(float(points[lower])):
        return start
    while lower > 0 and keeps(float(points[lower - 1])):
        lower -= 1
    while upper < len(points) - 1 and keeps(float(points[upper + 1])):
        upper += 1
    return float((points[lower] + points[upper]) / 2)


def choose_boundaries(scores: Array, levels: npt.NDArray[np.int_]) -> tuple[float, float, float]:
    """Boundaries maximising tier accuracy on out-of-fold traffic scores; each boundary then moves to the middle
    of the score interval over which the accuracy stays the same (the widest margin on both sides)."""
    candidates = np.unique(np.round(np.quantile(scores, np.linspace(0.02, 0.98, 97)), 4))
    best = (-1.0, 0.0, 0.0)
    for low, high in itertools.combinations(candidates, 2):
        accuracy = _accuracy(scores, levels, low, high)
        if accuracy > best[0] + 1e-9:
            best = (accuracy, float(low), float(high))
    accuracy, low, high = best
    gaps = np.unique(scores)
    gaps = (gaps[:-1] + gaps[1:]) / 2
    low = _centre(gaps[gaps < high], low, lambda g: _accuracy(scores, levels, g, high) >= accuracy - 1e-9)
    high = _centre(gaps[gaps > low], high, lambda g: _accuracy(scores, levels, low, g) >= accuracy - 1e-9)
    return low, high, accuracy


def fit_confidence(scores: Array, levels: npt.NDArray[np.int_], bounds: tuple[float, float]) -> tuple[float, float]:
    """Logistic regression of 'tier correct' on distance to the nearest boundary (Newton steps)."""
    tiers = np.where(scores < bounds[0], 0, np.where(scores < bounds[1], 1, 2))
    correct = (tiers == levels).astype(np.float64)
    distance = np.min(np.abs(scores[:, None] - np.array(bounds)[None, :]), axis=1)
    design = np.column_stack([np.ones_like(distance), distance])
    coef = np.zeros(2)
    for _ in range(50):
        prob = 1 / (1 + np.exp(-(design @ coef)))
        hessian = design.T @ (design * (prob * (1 - prob))[:, None]) + 1e-3 * np.eye(2)
        coef -= np.linalg.solve(hessian, design.T @ (prob - correct) + 1e-3 * coef)
    return float(coef[0]), float(coef[1])


def _ranks(values: Array) -> Array:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values), dtype=np.float64)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(first: Array, second: Array) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    return float(np.corrcoef(_ranks(first), _ranks(second))[0, 1])


def auc(scores: Array, positive: Array) -> float:
    """Area under the ROC curve of `scores` for the 0/1 labels `positive` (Mann-Whitney, average ranks for ties)."""
    ranks = _ranks(scores) + 1.0
    hits = positive > 0.5
    count, others = int(hits.sum()), int((~hits).sum())
    return float((ranks[hits].sum() - count * (count + 1) / 2) / (count * others))
