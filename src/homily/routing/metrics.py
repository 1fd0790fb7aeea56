"""Router quality metrics as defined by RouteLLM (Ong et al., arXiv 2406.18665, section 5 and its
evaluation code).

A router gives every item a score; routing the items with score >= t to the strong model and the rest to
the weak one
yields a point (fraction of strong calls, mean quality). Sweeping t over the score quantiles traces a
curve from
"all weak" to "all strong".

- PGR (performance gap recovered) of a point: (quality - weak) / (strong - weak).
- APGR: the area under the quality curve over the strong-call fraction (trapezoid rule), normalised the
  same way,
  so a random router scores 0.5 in expectation and a perfect ranking approaches 1 (or above, when routing
  beats
  the strong model alone).
- CPT(x): the smallest strong-call fraction at which the curve reaches PGR x (linear interpolation between
  sweep points).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SweepPoint:
    threshold: float
    strong_fraction: float
    quality: float
    pgr: float


@dataclass(frozen=True, slots=True)
class RouterMetrics:
    """One router on one benchmark: the sweep and its summaries (fractions in 0..1)."""

    sweep: list[SweepPoint]
    apgr: float
    cpt50: float
    cpt80: float
    strong_quality: float
    weak_quality: float


def threshold_sweep(
    scores: FloatArray, strong_quality: FloatArray, weak_quality: FloatArray, num_bins: int = 10
) -> list[SweepPoint]:
    """Route by quantile thresholds of `scores` (num_bins + 1 points, RouteLLM's default of 10 bins)."""
    if not len(scores) == len(strong_quality) == len(weak_quality) or len(scores) == 0:
        raise ValueError("scores and qualities must be non-empty and of equal length")
    strong_mean = float(np.mean(strong_quality))
    weak_mean = float(np.mean(weak_quality))
    gap = strong_mean - weak_mean
    thresholds = np.quantile(scores, np.linspace(0.0, 1.0, num_bins + 1))
    points: list[SweepPoint] = []
    for index, threshold in enumerate(thresholds):
        last = index == len(thresholds) - 1
        to_strong = scores > threshold if last else scores >= threshold
        quality = float(np.mean(np.where(to_strong, strong_quality, weak_quality)))
        pgr = (quality - weak_mean) / gap if gap != 0 else 0.0
        points.append(SweepPoint(float(threshold), float(np.mean(to_strong)), quality, pgr))
    return sorted(points, key=lambda point: (point.strong_fraction, point.quality))


def apgr(points: list[SweepPoint]) -> float:
    """Normalised area under the quality-vs-strong-fraction curve."""
    fractions = np.array([point.strong_fraction for point in points])
    pgrs = np.array([point.pgr for point in points])
    span = float(fractions[-1] - fractions[0])
    if span <= 0:
        return 0.0
    return float(np.trapezoid(pgrs, fractions) / span)


def calls_to_reach(points: list[SweepPoint], target_pgr: float) -> float:
    """CPT: smallest strong-call fraction where the interpolated curve reaches `target_pgr` (1.0 if never)."""
    for previous, current in itertools.pairwise(points):
        if previous.pgr >= target_pgr:
            return previous.strong_fraction
        if current.pgr >= target_pgr:
            share = (target_pgr - previous.pgr) / (current.pgr - previous.pgr)
            return previous.strong_fraction + share * (current.strong_fraction - previous.strong_fraction)
    if points and points[-1].pgr >= target_pgr:
        return points[-1].strong_fraction
    return 1.0


def evaluate_router(
    scores: FloatArray, strong_quality: FloatArray, weak_quality: FloatArray, num_bins: int = 10
) -> RouterMetrics:
    points = threshold_sweep(scores, strong_quality, weak_quality, num_bins)
    return RouterMetrics(
        sweep=points,
        apgr=apgr(points),
        cpt50=calls_to_reach(points, 0.5),
        cpt80=calls_to_reach(points, 0.8),
        strong_quality=float(np.mean(strong_quality)),
        weak_quality=float(np.mean(weak_quality)),
    )


def random_router_metrics(
    strong_quality: FloatArray, weak_quality: FloatArray, seeds: int = 20, num_bins: int = 10
) -> tuple[float, float, float]:
    """Mean (APGR, CPT50, CPT80) of uniformly random scores over `seeds` draws: the baseline row."""
    results = []
    for seed in range(seeds):
        scores = np.random.default_rng(seed).random(len(strong_quality))
        metrics = evaluate_router(scores, strong_quality, weak_quality, num_bins)
        results.append((metrics.apgr, metrics.cpt50, metrics.cpt80))
    mean = np.mean(np.array(results), axis=0)
    return float(mean[0]), float(mean[1]), float(mean[2])
