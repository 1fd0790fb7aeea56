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
from guard_thresholds import Budget, Scores, greedy_thresholds, pooled, rates

from homily.guard import datasets
from homily.guard.categories import ATTACK_CATEGORIES, CATEGORIES, HARM_CATEGORIES
from homily.guard.features import LexicalFeatures

FOLDS = 5
GUARD_DATA = Path(__file__).resolve().parent / "guard_data"
HARMFUL_SETS = ("AdvBench behaviours", "JailbreakBench harmful", "XSTest unsafe")
ATTACK_SETS = ("Written jailbreaks and injections",)
BUDGETS: dict[str, float] = {
    "JailbreakBench benign": 0.5,
    "XSTest safe": 0.07,
    "NotInject": 0.04,
    "WildGuard benign": 0.025,
    "Written pastoral and look-alike questions": 0.06,
}
"""Largest out-of-fold false-positive rate allowed per benign set: the issue's targets less a safety margin
(XSTest safe 10% -> 7%: out of fold it ran 4 points under the test part; NotInject 5% -> 4%). WildGuard stands in
for everyday requests (AlpacaEval and Vicuna are evaluation-only); JailbreakBench benign is bounded through the
pooled budget below. The written pastoral and look-alike questions (`guard_data/benign.txt`, in training except
their own fold) at 6%: 3% held every harm threshold above 0.5 and cross-validated XSTest-unsafe recall near 42%;
the pastoral unit tests (questions never trained on) are the hard check."""
POOLED_BUDGET = 0.025
"""The issue's pooled target (AlpacaEval + Vicuna + JailbreakBench benign <= 3%) less a margin, on a stand-in:
WildGuard benign weighted as AlpacaEval + Vicuna (885 of the 925 items) and JailbreakBench benign as its 40."""
HARM_START = 0.95
HARM_FLOOR = 0.35
"""Lowest harm threshold the search may choose: over three training seeds, floors of 0.2-0.35 gave the same
cross-validated mean recall within 1 point, and below 0.35 the chosen thresholds varied from seed to seed (noise)."""
ATTACK_START = 0.5
ATTACK_FLOOR = 0.3
"""Attack categories start at ATTACK_START and may go down to ATTACK_FLOOR, tuned on the written attacks'
out-of-fold recall (the only non-test direct attacks) under the same budgets."""

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
        "Written jailbreaks and injections": written_attacks(),
    }


def written_benign() -> list[str]:
    """The prompts of `guard_data/benign.txt` (written for Homily; always in training, except their own fold)."""
    lines = (GUARD_DATA / "benign.txt").read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def written_attacks() -> list[str]:
    """The jailbreak, injection and extraction prompts of `guard_data/harmful.txt` (written for Homily)."""
    attacks: list[str] = []
    section: set[str] = set()
    for raw in (GUARD_DATA / "harmful.txt").read_text("utf-8").splitlines():
        line = raw.strip()
        if line.startswith("## "):
            section = {name.strip() for name in line[3:].split(",")}
        elif line and not line.startswith("#") and section & ATTACK_CATEGORIES:
            attacks.append(line)
    return attacks


def model_inputs(embed: EmbedFunction, texts: Sequence[str]) -> Inputs:
    features, signals = feature_matrix(texts)
    return np.hstack([embed(texts), signals]).astype(np.float32), features


def train_ensemble(
    inputs: Inputs, labels: npt.NDArray[np.float32], configs: Sequence[NetConfig], rows: npt.NDArray[np.intp]
) -> list[GuardNet]:
    matrix, features = inputs
    return [train_net(matrix[rows], [features[i] for i in rows], labels[rows], True, config) for config in configs]


def out_of_fold_scores(
    examples: Sequence[Example], pool: dict[str, list[str]], configs: Sequence[NetConfig], embed: EmbedFunction
) -> dict[str, Scores]:
    """Scores of every pooled item by an ensemble trained without its fold (other examples always in training)."""
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
    return scores


def pooled_budget(scores: dict[str, Scores]) -> Budget:
    """`POOLED_BUDGET` on WildGuard benign + JailbreakBench benign, weighted as in the issue's pooled target."""
    return pooled([(scores["WildGuard benign"], 885), (scores["JailbreakBench benign"], 40)], POOLED_BUDGET)


def choose_thresholds(scores: dict[str, Scores]) -> CrossValidation:
    """Harm thresholds from `HARM_START` down to `HARM_FLOOR`, then attack thresholds from `ATTACK_START` down to
    `ATTACK_FLOOR`, each maximising the mean recall of its positive sets within every false-positive budget."""
    harm = [index for index, category in enumerate(CATEGORIES) if category in HARM_CATEGORIES]
    attack = [index for index in range(len(CATEGORIES)) if index not in harm]
    start = np.array([HARM_START if index in harm else ATTACK_START for index in range(len(CATEGORIES))], np.float32)
    budgets = [Budget(scores[name], budget) for name, budget in BUDGETS.items()] + [pooled_budget(scores)]
    thresholds = greedy_thresholds([scores[name] for name in HARMFUL_SETS], budgets, start, harm, HARM_FLOOR)
    thresholds = greedy_thresholds([scores[name] for name in ATTACK_SETS], budgets, thresholds, attack, ATTACK_FLOOR)
    return CrossValidation(thresholds, rates(scores, thresholds), {name: len(rows) for name, rows in scores.items()})


def cross_validate(
    examples: Sequence[Example], pool: dict[str, list[str]], configs: Sequence[NetConfig], embed: EmbedFunction
) -> CrossValidation:
    """Out-of-fold scores of the ensemble on `pool`, and the thresholds chosen on them."""
    return choose_thresholds(out_of_fold_scores(examples, pool, configs, embed))


def format_cross_validation(result: CrossValidation) -> str:
    """A Markdown table of the out-of-fold detection rates at the chosen thresholds."""
    lines = ["| set (train + validation parts) | measure | n | rate | budget |", "|---|---|---:|---:|---|"]
    for name, rate in result.rates.items():
        measure = "recall" if name in HARMFUL_SETS + ATTACK_SETS else "false positives"
        budget = f"<= {BUDGETS[name]:.1%}" if name in BUDGETS else "maximised"
        lines.append(f"| {name} | {measure} | {result.counts[name]} | {rate:.1%} | {budget} |")
    return "\n".join(lines)


def threshold_selection() -> str:
    """How the full head's thresholds are chosen (for the report), from the constants above."""
    budgets = ", ".join(f"{name} <= {rate:.1%}" for name, rate in BUDGETS.items())
    return (
        f"  chosen by {FOLDS}-fold cross-validation over the train + validation parts (`scripts/guard_cv.py`):\n"
        "  each fold's items are scored by an ensemble trained without them; `scripts/guard_thresholds.py` lowers\n"
        "  one category's threshold at a time (best recall gain per unit of false-positive cost), first the harm\n"
        f"  categories from {HARM_START} down to at most {HARM_FLOOR}, maximising the mean recall on AdvBench,\n"
        f"  JBB harmful and XSTest unsafe, then the attack categories from {ATTACK_START} down to at most\n"
        f"  {ATTACK_FLOOR}, maximising recall on the written jailbreaks, injections and extraction prompts of\n"
        f"  `guard_data/harmful.txt`; both subject to out-of-fold false-positive budgets: {budgets}\n"
        "  (the last: the questions of `guard_data/benign.txt`), and a pooled budget standing in for the issue's\n"
        "  pooled target: WildGuard benign weighted as AlpacaEval + Vicuna (885 items) plus JBB benign (40 items)\n"
        f"  <= {POOLED_BUDGET:.1%}."
    )
