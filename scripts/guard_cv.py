"""Cross-validated thresholds for the guard's full head, on the train and validation parts only.

The labelled sets' non-test items (AdvBench, JailbreakBench, XSTest, NotInject, WildGuard) are dealt into five
folds by a hash of their text; for each fold the ensemble is trained without that fold's items (written and
templated examples always stay in training) and scores them. Per-category thresholds are then chosen on these
out-of-fold scores by `guard_thresholds.greedy_thresholds`, with the budgets below; the shipped head is refitted
on all non-test items. The test part is never read here.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from guard_net import Example, GuardNet, NetConfig, ensemble_scores, feature_matrix, label_matrix, train_net
from guard_thresholds import Budget, greedy_thresholds, rates

from homily.guard import datasets
from homily.guard.categories import CATEGORIES, HARM_CATEGORIES
from homily.guard.features import LexicalFeatures

FOLDS = 5
GUARD_DATA = Path(__file__).resolve().parent / "guard_data"
HARMFUL_SETS = ("AdvBench behaviours", "JailbreakBench harmful", "XSTest unsafe")
BUDGETS: dict[str, float] = {
    "JailbreakBench benign": 0.35,
    "XSTest safe": 0.09,
    "NotInject": 0.04,
    "WildGuard benign": 0.015,
    "Written pastoral and look-alike questions": 0.03,
}
"""Largest out-of-fold false-positive rate allowed per benign set. WildGuard stands in for everyday requests
(AlpacaEval and Vicuna are evaluation-only); the pooled target of 3% weighs JailbreakBench benign at 40/925.
The written pastoral questions (`guard_data/benign.txt`) must pass: honest, hard questions are the point."""
HARM_FLOOR = 0.5
"""No harm threshold goes below 0.5: lower ones followed noise in the out-of-fold scores from run to run."""
ATTACK_START = 0.5
"""Attack categories keep this threshold (no held-out attack set outside the test part to tune them on)."""

EmbedFunction = Callable[[Sequence[str]], npt.NDArray[np.float32]]
Inputs = tuple[npt.NDArray[np.float32], list[LexicalFeatures]]


@dataclass(frozen=True)
class CrossValidation:
    thresholds: npt.NDArray[np.float32]
    rates: dict[str, float]
    counts: dict[str, int]


def fold_of(text: str) -> int:
    return zlib.crc32(f"fold:{text}".encode()) % FOLDS


def pool_sets(data_dir: Path) -> dict[str, list[str]]:
    """The non-test items of every labelled set (train and validation parts)."""

    def not_test(rows: list[tuple[str, str]]) -> list[str]:
        return [text for (text, _), split in zip(rows, datasets.stratified_split(rows), strict=True) if split != "test"]

    return {
        "AdvBench behaviours": [t for t in datasets.advbench_behaviors(data_dir) if datasets.split_of(t) != "test"],
        "JailbreakBench harmful": not_test(datasets.jbb_rows(data_dir, "harmful")),
        "XSTest unsafe": not_test(datasets.xstest_rows(data_dir, "unsafe")),
        "JailbreakBench benign": not_test(datasets.jbb_rows(data_dir, "benign")),
        "XSTest safe": not_test(datasets.xstest_rows(data_dir, "safe")),
        "NotInject": not_test(datasets.notinject_rows(data_dir)),
        "WildGuard benign": [t for t in datasets.wildguard_benign(data_dir) if datasets.split_of(t) != "test"],
        "Written pastoral and look-alike questions": written_benign(),
    }


def written_benign() -> list[str]:
    """The prompts of `guard_data/benign.txt` (written for Homily; always in training, except their own fold)."""
    lines = (GUARD_DATA / "benign.txt").read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def model_inputs(embed: EmbedFunction, texts: Sequence[str]) -> Inputs:
    features, signals = feature_matrix(texts)
    return np.hstack([embed(texts), signals]).astype(np.float32), features


def train_ensemble(
    inputs: Inputs, labels: npt.NDArray[np.float32], configs: Sequence[NetConfig], rows: npt.NDArray[np.intp]
) -> list[GuardNet]:
    matrix, features = inputs
    return [train_net(matrix[rows], [features[i] for i in rows], labels[rows], True, config) for config in configs]


def cross_validate(
    examples: Sequence[Example], pool: dict[str, list[str]], configs: Sequence[NetConfig], embed: EmbedFunction
) -> CrossValidation:
    """Out-of-fold scores of the ensemble on `pool`, and the thresholds chosen on them."""
    inputs = model_inputs(embed, [text for text, _ in examples])
    labels = label_matrix(examples)
    pooled = {text for texts in pool.values() for text in texts}
    folds = np.array([fold_of(text) if text in pooled else -1 for text, _ in examples])
    pool_inputs = {name: model_inputs(embed, texts) for name, texts in pool.items()}
    scores = {name: np.zeros((len(texts), len(CATEGORIES)), dtype=np.float32) for name, texts in pool.items()}
    for fold in range(FOLDS):
        nets = train_ensemble(inputs, labels, configs, np.flatnonzero(folds != fold))
        for name, texts in pool.items():
            rows = [index for index, text in enumerate(texts) if fold_of(text) == fold]
            matrix, features = pool_inputs[name]
            scores[name][rows] = ensemble_scores(nets, matrix[rows], [features[i] for i in rows])
    harm = [index for index, category in enumerate(CATEGORIES) if category in HARM_CATEGORIES]
    start = np.array([0.95 if index in harm else ATTACK_START for index in range(len(CATEGORIES))], np.float32)
    thresholds = greedy_thresholds(
        [scores[name] for name in HARMFUL_SETS],
        [Budget(scores[name], budget) for name, budget in BUDGETS.items()],
        start,
        harm,
        HARM_FLOOR,
    )
    return CrossValidation(thresholds, rates(scores, thresholds), {name: len(texts) for name, texts in pool.items()})


def format_cross_validation(result: CrossValidation) -> str:
    """A Markdown table of the out-of-fold detection rates at the chosen thresholds."""
    lines = ["| set (train + validation parts) | measure | n | rate | budget |", "|---|---|---:|---:|---|"]
    for name, rate in result.rates.items():
        measure = "recall" if name in HARMFUL_SETS else "false positives"
        budget = f"<= {BUDGETS[name]:.1%}" if name in BUDGETS else "maximised"
        lines.append(f"| {name} | {measure} | {result.counts[name]} | {rate:.1%} | {budget} |")
    return "\n".join(lines)
