"""The `homily-extractive` answerer's sentence choice."""

from __future__ import annotations

from homily.content.extractive import best_sentences

ROMANS_8 = (
    "8:24 For we were saved in hope, but hope that is seen is not hope.\n"
    "8:25 But if we hope for that which we don't see, we wait for it with patience.\n"
    "8:28 We know that all things work together for good for those who love God.\n"
)


def test_a_quoted_verse_keeps_its_chapter_and_verse() -> None:
    (sentence,) = best_sentences("What does Romans 8:28 say about all things?", (ROMANS_8,), count=1)
    assert sentence == "8:28 We know that all things work together for good for those who love God."


def test_sentences_still_end_at_colons_and_stops_between_words() -> None:
    passage = "The creed says this: God is one. The price rose 3.5 percent: a lot."
    chosen = best_sentences("What does the creed say God is?", (passage,), count=3)
    assert chosen == ["The creed says this:", "God is one.", "The price rose 3.5 percent:"]
