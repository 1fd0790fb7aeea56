"""Quantitative MMLU questions of the *training* subjects, stripped of their options, as labelled word problems.

The word-problem head trains on template problems labelled by step count; whether its score also predicts where
the weak model fails on real quantitative questions is measurable on MMLU's training subjects: the question stem
(the text before the option lines) of a quantitative subject that the shape rule reads as a word problem, with
RouteLLM's per-item correctness of both models. Only subjects at even positions of the sorted list (the training
half) are used; the held-out half is never read here.
"""

from __future__ import annotations

import re

from homily.routing.benchmarks import MmluItem
from homily.routing.shapes import prompt_shape

QUANTITATIVE_SUBJECTS = frozenset(
    {
        "abstract_algebra",
        "astronomy",
        "college_chemistry",
        "college_mathematics",
        "college_physics",
        "conceptual_physics",
        "electrical_engineering",
        "high_school_computer_science",
        "high_school_macroeconomics",
        "high_school_microeconomics",
    }
)
_OPTION_LINE = re.compile(r"^\s*\(?[A-Ea-e][.)]\s", re.MULTILINE)


def stem(prompt: str) -> str:
    """The question before its option lines."""
    match = _OPTION_LINE.search(prompt)
    return (prompt[: match.start()] if match else prompt).strip()


def word_problem_stems(training_items: list[MmluItem]) -> list[tuple[str, MmluItem]]:
    """(stem, item) for every quantitative training-subject item whose stem is word-problem shaped."""
    rows = []
    for item in training_items:
        if item.subject in QUANTITATIVE_SUBJECTS:
            text = stem(item.prompt)
            if prompt_shape(text) == "word_problem":
                rows.append((text, item))
    return rows
