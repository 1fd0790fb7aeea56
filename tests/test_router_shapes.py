"""Prompt shapes and word-problem signals: which head scores a prompt, and what the word-problem head reads."""

from __future__ import annotations

import numpy as np
import pytest

from homily.routing.learned import ComplexityModel, PromptInputs
from homily.routing.shapes import PROBLEM_SIGNAL_NAMES, problem_signals, prompt_shape, quantity_count
from homily.routing.signals import ConversationFacts

MULTIPLE_CHOICE = (
    "Which council defined the two natures of Christ?\nA. Nicaea\nB. Chalcedon\nC. Trent\nD. Orange\nAnswer:"
)
WORD_PROBLEM = (
    "A youth camp has 48 campers. Each cabin sleeps six campers, and every cabin needs two counsellors. "
    "How many counsellors does the camp need?"
)


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        (MULTIPLE_CHOICE, "multiple_choice"),
        ("(A) yes\n(B) no\n(C) maybe\nWhich is it?", "multiple_choice"),
        (WORD_PROBLEM, "word_problem"),
        ("Twelve volunteers each bake three dozen rolls. How many rolls are baked in all?", "word_problem"),
        ("What does John 3:16 say about eternal life in this chapter?", "open"),
        ("Write a poem about 2 doves and 3 olive trees in the garden of Gethsemane.", "open"),
        ("hello!", "open"),
        ("def add(a, b):\n    return a + b\nWhy does add(2, 3) return 5 and what is 2 + 3?", "open"),
    ],
)
def test_prompt_shape(text: str, shape: str) -> None:
    assert prompt_shape(text) == shape


def test_scripture_references_are_not_quantities() -> None:
    assert quantity_count("Compare Romans 8:28 with 1 Corinthians 13:4-7") == 0
    assert quantity_count("She bought 3 loaves for $4.50 and twelve eggs") == 3


def test_problem_signals_grow_with_steps() -> None:
    short = problem_signals("Ann has 3 apples and gets 2 more. How many apples does she have?")
    long = problem_signals(
        "Ann has 3 dozen apples. She gives 25% of them to Ben, then buys twice as many as she gave away at $2 "
        "each. After 3 weeks she sells half of the rest. How much money does she earn?"
    )
    assert short.shape == long.shape == (len(PROBLEM_SIGNAL_NAMES),)
    named_short = dict(zip(PROBLEM_SIGNAL_NAMES, short.tolist(), strict=True))
    named_long = dict(zip(PROBLEM_SIGNAL_NAMES, long.tolist(), strict=True))
    for name in ("quantities", "problem_sentences", "fraction_percent_cues", "multiplicative_cues", "money_cues"):
        assert named_long[name] > named_short[name], name


def test_each_shape_has_its_own_head() -> None:
    model = ComplexityModel.load()
    weights = model.weights
    assert not np.allclose(weights.embedding_weight[0], weights.embedding_weight[2])
    estimate = model.estimate(WORD_PROBLEM, ConversationFacts(), None)
    assert estimate.reasons[0] == "shape word_problem"
    assert model.estimate(MULTIPLE_CHOICE, ConversationFacts(), None).reasons[0] == "shape multiple_choice"


def test_word_problem_head_rises_with_steps() -> None:
    model = ComplexityModel.load()
    easy = "Tom has 4 pens and buys 3 more. How many pens does he have?"
    hard = (
        "Tom buys 3 boxes of 12 pens at $2 per pen, and a 15% discount applies to the whole order. He gives a "
        "third of the pens to his sister, then sells the rest at $3 each over 2 weeks. If he spends half of his "
        "profit on notebooks costing $4 each, how many notebooks does he buy?"
    )
    facts = ConversationFacts()
    assert model.score(PromptInputs.of(hard, facts, None)) > model.score(PromptInputs.of(easy, facts, None))
