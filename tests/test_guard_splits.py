"""The guard's data splits (stratified, deterministic) and the hand-written contrast pairs."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from scripts.guard_contrasts import PAIRS, contrast_pairs, pair_examples

from homily.guard import datasets
from homily.guard.categories import CATEGORIES, HARM_CATEGORIES

DATA_DIR = datasets.default_data_dir()
needs_data = pytest.mark.skipif(
    not (DATA_DIR / "safety" / "jbb_behaviors").is_dir(), reason="../shared/data/safety is not present"
)


def _rows(strata: dict[str, int]) -> list[tuple[str, str]]:
    return [(f"item {index} of {stratum}", stratum) for stratum, size in strata.items() for index in range(size)]


def test_stratified_split_is_50_10_40_within_every_stratum() -> None:
    rows = _rows({"a": 10, "b": 20, "c": 5})
    splits = datasets.stratified_split(rows)
    by_stratum: dict[str, Counter[str]] = {}
    for (_, stratum), split in zip(rows, splits, strict=True):
        by_stratum.setdefault(stratum, Counter())[split] += 1
    assert by_stratum["a"] == Counter({"train": 5, "val": 1, "test": 4})
    assert by_stratum["b"] == Counter({"train": 10, "val": 2, "test": 8})
    assert by_stratum["c"] == Counter({"train": 2, "val": 1, "test": 2})


def test_stratified_split_depends_on_text_not_order_or_other_rows() -> None:
    rows = _rows({"a": 30, "b": 30})
    splits = dict(zip(rows, datasets.stratified_split(rows), strict=True))
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    assert dict(zip(shuffled, datasets.stratified_split(shuffled), strict=True)) == splits
    # Rows of another stratum do not move a row between splits.
    only_a = [row for row in rows if row[1] == "a"]
    assert all(splits[row] == split for row, split in zip(only_a, datasets.stratified_split(only_a), strict=True))


def test_part_returns_each_row_in_exactly_one_split() -> None:
    rows = _rows({"x": 17, "y": 9})
    parts = {split: datasets.part(rows, split) for split in ("train", "val", "test")}
    assert sorted(text for texts in parts.values() for text in texts) == sorted(text for text, _ in rows)
    assert datasets.part(rows, None) == [text for text, _ in rows]


@needs_data
def test_real_sets_split_as_documented() -> None:
    harmful = datasets.jbb_rows(DATA_DIR, "harmful")
    assert Counter(datasets.stratified_split(harmful)) == Counter({"train": 50, "val": 10, "test": 40})
    test_goals = datasets.jbb_goals(DATA_DIR, "harmful", "test")
    assert len(test_goals) == 40
    assert Counter(category for text, category in harmful if text in test_goals) == dict.fromkeys(
        {category for _, category in harmful}, 4
    )
    unsafe = datasets.xstest(DATA_DIR, "unsafe", "test")
    assert len(unsafe) == 80
    assert not set(unsafe) & set(datasets.xstest(DATA_DIR, "unsafe", "train"))
    assert len(datasets.bipia_instructions(DATA_DIR, "code", "test")) == 20


def test_contrast_pairs_share_a_topic_and_differ_in_label() -> None:
    assert len(PAIRS) >= 90
    for category, harmful, benign in PAIRS:
        assert category in HARM_CATEGORIES
        assert harmful != benign
    texts = [text for _, harmful, benign in PAIRS for text in (harmful, benign)]
    assert len(texts) == len(set(texts)), "a contrast prompt is written twice"
    examples = pair_examples()
    assert sum(bool(labels) for _, labels in examples) == len(PAIRS)


def test_contrast_generation_is_deterministic_and_labelled() -> None:
    first = contrast_pairs(random.Random(5))
    assert first == contrast_pairs(random.Random(5))
    labels = Counter(label for _, categories in first for label in categories)
    assert set(labels) <= set(CATEGORIES)
    assert sum(1 for _, categories in first if not categories) > len(PAIRS)


@needs_data
def test_contrast_pairs_copy_no_evaluation_prompt() -> None:
    evaluation = {
        text.strip().lower()
        for text in datasets.jbb_goals(DATA_DIR, "harmful")
        + datasets.jbb_goals(DATA_DIR, "benign")
        + datasets.xstest(DATA_DIR, "safe")
        + datasets.xstest(DATA_DIR, "unsafe")
        + datasets.notinject(DATA_DIR)
    }
    others = [datasets.word_set(text) for text in evaluation]
    for text, _ in contrast_pairs(random.Random(1)):
        assert text.strip().lower() not in evaluation
        assert not datasets.near_duplicate(text, others, threshold=0.8), text
