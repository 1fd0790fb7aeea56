"""Which user turns count as small talk (a grounded request searches no publisher for them)."""

from __future__ import annotations

import json

import pytest

from homily.routing.benchmarks import default_data_dir
from homily.service.small_talk import is_small_talk
from tests.support.library_questions import LIBRARY_QUESTIONS
from tests.support.pastoral_questions import WRITTEN_AFTER_TRAINING, WRITTEN_BEFORE_TRAINING
from tests.support.realistic_traffic import realistic_requests
from tests.support.verse_quotes import VERSE_QUOTES

MT_BENCH = default_data_dir() / "routing" / "mt_bench" / "question.jsonl"


@pytest.mark.parametrize(
    "text",
    [
        "Hi there!",
        "Good morning",
        "Evening! Hope you're well.",
        "thanks, that helps a lot",
        "Thank you so much, that helped.",
        "ok great thanks",
        "Got it, cheers",
        "Amen",
        "God bless",
        "Bye, have a blessed day",
        "See you later",
        "I see",
        "No",
    ],
)
def test_greetings_thanks_acknowledgements_and_farewells_are_small_talk(text: str) -> None:
    assert is_small_talk(text)


@pytest.mark.parametrize(
    "text",
    [
        "Good morning! What does Romans 8:28 mean?",
        "Is God good?",
        "God is good",
        "Thanks! Now summarise Romans 8",
        "Yes, but why did Jesus weep?",
        "Tell me more",
        "Have you read Augustine?",
        "See John 3:16",
        "Peace be with you",
        "Pray for me",
        "hi, it's Pastor Dan again",
        "",
        "👍",
    ],
)
def test_questions_follow_ups_and_words_of_faith_are_not(text: str) -> None:
    assert not is_small_talk(text)


def test_no_question_of_the_check_sets_reads_as_small_talk() -> None:
    questions = [
        *WRITTEN_BEFORE_TRAINING,
        *WRITTEN_AFTER_TRAINING,
        *(question for question, _, _ in LIBRARY_QUESTIONS),
        *(quote for quote, _, _ in VERSE_QUOTES),
        *(json.loads(line)["turns"][0] for line in MT_BENCH.read_text("utf-8").splitlines() if line.strip()),
    ]
    assert len(questions) > 250
    assert [text for text in questions if is_small_talk(text)] == []


def test_in_realistic_traffic_only_greetings_and_thanks_are_small_talk() -> None:
    small_talk = [request for request in realistic_requests() if is_small_talk(request.text)]
    assert {request.category for request in small_talk} == {"greeting", "thanks"}
    assert len(small_talk) >= 8, [request.text for request in small_talk]
