"""Small talk: a user turn that only greets, thanks, acknowledges or says goodbye.

A grounded request whose latest turn is small talk searches no publisher: there is nothing to ground, and a greeting
would otherwise "find" sources by its words alone ("Good morning" finds Spurgeon's *Morning and Evening*), which the
answer would then cite. A turn counts only when it opens with a small-talk word and holds nothing else, so
"Good morning! What does Romans 8:28 mean?" and "Is God good?" are questions, and follow-ups ("Tell me more") are
grounded with the turn before them as usual.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_MAX_WORDS = 12

_OPENERS = frozenset(
    (
        "hi", "hello", "hey", "hiya", "howdy", "greetings", "good", "morning", "afternoon", "evening", "thanks",
        "thank", "thx", "cheers", "bye", "goodbye", "farewell", "ok", "okay", "alright", "yes", "yeah", "yep", "no",
        "nope", "sure", "got", "sounds", "perfect", "great", "cool", "awesome", "wonderful", "lovely", "amen",
        "blessings", "much", "makes", "hmm", "oh", "ah", "wow", "nice", "see", "have", "take", "god", "i", "lol",
        "haha",
    )
)  # fmt: skip
_SMALL_TALK_WORDS = _OPENERS | frozenset(
    (
        "night", "day", "there", "everyone", "all", "folks", "friend", "friends", "again", "back", "how", "are",
        "you", "you're", "it", "it's", "going", "doing", "well", "fine", "today", "hope", "so", "very", "a", "lot",
        "appreciated", "appreciate", "that", "helped", "helps", "helpful", "see", "later", "soon", "take", "care",
        "have", "blessed", "bless", "and", "to", "your", "too", "as", "always", "i", "sense", "the", "for",
        "this", "be", "with", "me", "we", "will", "talk", "then", "now", "indeed", "exactly", "right",
    )
)  # fmt: skip


def is_small_talk(text: str) -> bool:
    """Whether the turn only greets, thanks, acknowledges or says goodbye (see the module docstring)."""
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    return (
        0 < len(words) <= _MAX_WORDS and words[0] in _OPENERS and all(word in _SMALL_TALK_WORDS for word in words)
    )
