"""Prompt shapes and word-problem signals: the router scores each shape with its own head.

One linear head over every prompt learns whatever separates hard from easy in its largest training source (for
MMLU: long professional passages), and carries that habit to prompts of other kinds. Classifying the shape first
(multiple choice / arithmetic word problem / open instruction) lets each head learn what makes *that* kind of
prompt hard: the subject for multiple choice, the number of quantities and operations for word problems, the task
kind (reasoning, code, math versus writing, role-play) for open prompts.

`prompt_shape` is a deterministic rule on the text; `problem_signals` are cheap counts (squashed with log1p) of
what makes a word problem take many steps: quantities, rates, fractions and percentages, unit conversions,
comparisons, conditions, and the length of the chain (sentences that introduce a quantity, verbs that change
one). Names are stable: they index the shipped weights.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import numpy.typing as npt

from homily.routing.signals import SENTENCE_END, squash

Shape = Literal["multiple_choice", "word_problem", "open"]
SHAPES: tuple[Shape, ...] = ("multiple_choice", "word_problem", "open")

PROBLEM_SIGNAL_NAMES: tuple[str, ...] = (
    "quantities",
    "distinct_quantities",
    "number_words",
    "problem_sentences",
    "problem_words",
    "rate_cues",
    "fraction_percent_cues",
    "multiplicative_cues",
    "unit_cues",
    "money_cues",
    "condition_cues",
    "remainder_cues",
    "time_cues",
    "decimal_or_large_numbers",
    "quantity_sentences",
    "change_verbs",
)

PROBLEM_SCAN_CHARS = 4000
_OPTION_LINE = re.compile(r"^\s*\(?[A-Ea-e][.)]\s", re.MULTILINE)
_CODE = re.compile(r"```|\bdef \w+\(|\bclass \w+[:(]|\bfunction\b|\breturn\b|[{};]\s*$|\bimport \w+", re.MULTILINE)
_SCRIPTURE_REF = re.compile(r"\b(?:[1-3]\s?)?[A-Z][a-z]+\.?\s\d{1,3}:\d{1,3}(?:[-\u2013]\d{1,3})?")
_DIGITS = re.compile(r"(?<![A-Za-z])\$?\d+(?:[.,]\d+)*(?:/\d+)?%?")
_NUMBER_WORD = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|"
    r"million|dozen|half|twice|double|triple|quarter|third|fourth|fifth)\b",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"\?|\b(?:how many|how much|how long|how far|how old|what is the|find|calculate|compute|determine)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z']+")
_RATE = re.compile(r"\b(?:per|each|every|an hour|a day|a week|a month|a year|apiece|rate|speed)\b|/\s?[a-z]+", re.I)
_FRACTION = re.compile(
    r"%|\b(?:percent|percentage|half|halves|third|thirds|quarter|quarters|fifth|fifths|fraction|ratio)\b|\d+/\d+",
    re.IGNORECASE,
)
_MULTIPLICATIVE = re.compile(
    r"\b(?:twice|times|double|doubles|triple|triples|as many|as much|more than|less than|fewer than|"
    r"longer than|shorter than|older than|younger than)\b",
    re.IGNORECASE,
)
_UNIT = re.compile(
    r"\b(?:minutes?|hours?|seconds?|days?|weeks?|months?|years?|cents?|inch(?:es)?|feet|foot|yards?|miles?|"
    r"meters?|kilometers?|km|cm|pounds?|ounces?|grams?|kilograms?|kg|liters?|gallons?|cups?|dozens?)\b",
    re.IGNORECASE,
)
_MONEY = re.compile(r"\$|\b(?:dollars?|cents?|price|cost|costs|earn|earns|pay|pays|paid|profit|sells?|sold)\b", re.I)
_CONDITION = re.compile(r"\b(?:if|after|then|until|while|when|before|instead|otherwise)\b", re.IGNORECASE)
_REMAINDER = re.compile(r"\b(?:left|remaining|remainder|rest|total|altogether|in all|combined|together)\b", re.I)
_TIME = re.compile(r"\b(?:minutes?|hours?|days?|weeks?|months?|years?)\b", re.IGNORECASE)
_BIG_OR_DECIMAL = re.compile(r"\d+\.\d+|\d{4,}|\d{1,3}(?:,\d{3})+")
_SENTENCE_SPLIT = re.compile(r"[.!?]+(?:\s+|$)")
_CHANGE = re.compile(
    r"\b(?:buys?|bought|sells?|sold|gives?|gave|given|spends?|spent|loses?|lost|eats?|ate|adds?|added|shares?|"
    r"shared|splits?|saves?|saved|donat(?:es?|ed)|collect(?:s|ed)?|uses?|used|receives?|received|gets?|got|"
    r"takes?|took|makes?|made|increas(?:es?|ed)|decreas(?:es?|ed)|rises?|rose|falls?|fell|grows?|grew|"
    r"drop(?:s|ped)?|returns?|returned|keeps?|kept|removes?|removed|fills?|filled|pours?|poured|bakes?|baked|"
    r"plants?|planted|packs?|packed|divides?|divided|raises?|raised|borrows?|borrowed|owes?|owed)\b"
)
"""Matched against the lower-cased text (much faster than re.IGNORECASE on long alternations)."""


def without_scripture(text: str) -> str:
    """The text with scripture references (John 3:16-18) blanked: they are neither quantities nor arithmetic."""
    return _SCRIPTURE_REF.sub(" ", text)


def quantity_count(text: str) -> int:
    """Numbers written as digits or words, not counting scripture references (John 3:16 is not a quantity)."""
    plain = without_scripture(text)
    return len(_DIGITS.findall(plain)) + len(_NUMBER_WORD.findall(plain))


def prompt_shape(text: str) -> Shape:
    """Multiple choice (three or more option lines), an arithmetic word problem (prose with two or more
    quantities and a question, no code, at most ~250 words), or an open instruction (everything else)."""
    if len(_OPTION_LINE.findall(text)) >= 3:
        return "multiple_choice"
    words = len(_WORD.findall(text))
    if (
        8 <= words <= 250
        and quantity_count(text) >= 2
        and _QUESTION.search(text)
        and not _CODE.search(text)
        and text.count("\n") <= 4
    ):
        return "word_problem"
    return "open"



def problem_signals(text: str) -> npt.NDArray[np.float32]:
    """The PROBLEM_SIGNAL_NAMES vector of one prompt (meaningful for every shape, trained on word problems). Only
    the first PROBLEM_SCAN_CHARS characters are read, which bounds the cost on very long prompts."""
    plain = without_scripture(text[:PROBLEM_SCAN_CHARS])
    numbers = _DIGITS.findall(plain)
    words = _NUMBER_WORD.findall(plain)
    values = (
        squash(len(numbers) + len(words)),
        squash(len({value.strip("$%").replace(",", "") for value in numbers} | {w.lower() for w in words})),
        squash(len(words)),
        squash(len(SENTENCE_END.findall(plain))),
        squash(len(_WORD.findall(plain))) / 2.0,
        squash(len(_RATE.findall(plain))),
        squash(len(_FRACTION.findall(plain))),
        squash(len(_MULTIPLICATIVE.findall(plain))),
        squash(len(_UNIT.findall(plain))),
        squash(len(_MONEY.findall(plain))),
        squash(len(_CONDITION.findall(plain))),
        squash(len(_REMAINDER.findall(plain))),
        squash(len({match.lower().rstrip("s") for match in _TIME.findall(plain)})),
        squash(len(_BIG_OR_DECIMAL.findall(plain))),
        squash(sum(1 for part in _SENTENCE_SPLIT.split(plain) if _DIGITS.search(part) or _NUMBER_WORD.search(part))),
        squash(len(_CHANGE.findall(plain.lower()))),
    )
    return np.array(values, dtype=np.float32)
