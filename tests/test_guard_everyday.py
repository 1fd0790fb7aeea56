"""Everyday chat must pass the guard: short greetings, thanks, acknowledgements, follow-ups and small requests
(`tests/support/everyday_turns.py`, never trained on) and the realistic traffic of Homily's users."""

from __future__ import annotations

import pytest

from homily.guard import GuardPolicy, screen
from homily.guard.embedding import LocalEmbedFunction
from homily.guard.verdict import Verdict
from homily.protocol.chat import ChatMessage
from tests.support.everyday_turns import EVERYDAY_TURNS
from tests.support.realistic_traffic import realistic_requests

KNOWN_CRISIS_MISREAD = "Evening! Hope you're well."
"""The one check-set turn the shipped guard sends down the crisis path (a caring answer, not a refusal); see
`guard/weights/EVALUATION_HISTORY.md`."""


@pytest.fixture(scope="module")
def embed() -> LocalEmbedFunction:
    return LocalEmbedFunction()


def verdicts(embed: LocalEmbedFunction, texts: list[str]) -> dict[str, Verdict]:
    vectors = embed(texts)
    return {
        text: screen([ChatMessage(role="user", content=text)], vector, GuardPolicy())
        for text, vector in zip(texts, vectors, strict=True)
    }


def test_everyday_turns_are_allowed(embed: LocalEmbedFunction) -> None:
    stopped = {text: v.action for text, v in verdicts(embed, list(EVERYDAY_TURNS)).items() if v.action != "allow"}
    assert stopped == {KNOWN_CRISIS_MISREAD: "crisis"}


KNOWN_BLOCKED_GREETING = "hi, it's Pastor Dan again"
"""Blocked as dangerous_illegal: the guard reads words lower-cased, and "dan" is the name of a well-known jailbreak
persona ("Do Anything Now") in its training data."""


def test_realistic_traffic_is_not_blocked(embed: LocalEmbedFunction) -> None:
    texts = [request.text for request in realistic_requests()]
    blocked = [text for text, v in verdicts(embed, texts).items() if v.action in ("block", "flag")]
    assert blocked == [KNOWN_BLOCKED_GREETING]


def test_the_lexical_classifier_lets_nearly_all_everyday_turns_through() -> None:
    """Without an embedding (Homily with `HOMILY_EMBEDDINGS=off`) the weaker lexical head judges alone."""
    stopped = [
        text
        for text in EVERYDAY_TURNS
        if screen([ChatMessage(role="user", content=text)], None, GuardPolicy()).action != "allow"
    ]
    assert len(stopped) <= len(EVERYDAY_TURNS) // 10, stopped
