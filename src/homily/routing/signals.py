"""Structural and lexical signals of a request, the hand-readable half of the learned router's input.

Every signal is a cheap regular-expression or length measure of the last user turn plus conversation facts
(turn
count, tools, grounding), squashed into roughly 0..3 so one weight vector can mix them with the embedding.
Names are
stable: they index the shipped weights and appear in `homily route` explanations.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SIGNAL_NAMES: tuple[str, ...] = (
    "length_chars",
    "length_words",
    "line_count",
    "sentence_count",
    "number_count",
    "math_notation",
    "code_markers",
    "code_request",
    "question_marks",
    "reasoning_cues",
    "comparison_cues",
    "traditions_named",
    "creation_cues",
    "constraint_cues",
    "greeting_or_thanks",
    "scripture_reference",
    "multiple_choice_options",
    "mean_word_length",
    "user_turns",
    "has_tools",
    "grounded",
)

_WORD = re.compile(r"[A-Za-z\u00C0-\u024F']+")
_NUMBER = re.compile(r"(?<![A-Za-z])[-+]?\$?\d+(?:[.,]\d+)*%?")
SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_MATH = re.compile(
    r"[=^<>√∑∫≤≥±÷\u00d7]|\b(?:sqrt|log|sin|cos|mod|integral|derivative|matrix|equation)\b|\d\s*[-+*/]\s*\d"
)
_CODE = re.compile(
    r"```|\b(?:def|class|return|import|function|const|let|var|public|static|void|lambda|SELECT|FROM|WHERE)\b"
    r"|[{};]\s*$|=>|::|\w+\(\)|\b(?:python|javascript|typescript|java|rust|sql|regex|algorithm|api|json|bug)\b",
    re.IGNORECASE | re.MULTILINE,
)
_CODE_LANGUAGE = re.compile(
    r"\b(?:python|javascript|typescript|java|kotlin|swift|rust|golang|php|ruby|perl|bash|shell|powershell|sql|"
    r"sqlite|postgres(?:ql)?|mysql|html|css|react|vue|angular|svelte|django|flask|fastapi|node(?:\.?js)?|"
    r"apps script|vba|excel formula|regex|regular expression|json|yaml|csv|api|graphql|github|docker)\b"
)
"""Matched against the lower-cased text (much faster than re.IGNORECASE on long alternations)."""
_CODE_LANGUAGE_CASED = re.compile(r"\bC\+\+|\bC#|\bGo\b")
_CODE_ARTEFACT = re.compile(
    r"\b(?:functions?|scripts?|quer(?:y|ies)|class(?:es)?|methods?|components?|endpoints?|parsers?|programs?|"
    r"unit tests?|algorithms?|snippets?|code|bugs?|debug|refactor|compile[sd]?|deploy|schema|database|cli|"
    r"webhook|app|regex|regular expression)\b"
)
_REASONING = re.compile(
    r"\b(?:why|explain|prove|derive|analy[sz]e|evaluate|justify|reason|step[- ]by[- ]step|implications?|"
    r"assess|critique|argue|calculate|solve|determine|estimate|infer|deduce|trade-?offs?)\b",
    re.IGNORECASE,
)
_COMPARISON = re.compile(
    r"\b(?:compare|comparison|contrast|versus|vs\.?|differ(?:ence|ences|ent)?|similarit(?:y|ies)|between|"
    r"relative to|pros and cons)\b",
    re.IGNORECASE,
)
_TRADITION = re.compile(
    r"\b(catholic|orthodox|protestant|lutheran|reformed|calvinis[tm]|arminian|anglican|episcopal|methodist|"
    r"wesleyan|baptist|pentecostal|charismatic|anabaptist|mennonite|presbyterian|congregationalist|evangelical|"
    r"dispensational|covenant theology|new perspective|prosperity gospel|puritan|quaker|jewish|judaism|rabbinic|"
    r"islam|muslim|buddhis[tm]|hindu|augustine|aquinas|luther|calvin|zwingli|wesley|barth|brunner|bonhoeffer|"
    r"niebuhr|anselm|abelard|pelagius|arius|athanasius|origen|tertullian|irenaeus|kierkegaard|tillich|"
    r"schleiermacher|edwards|arminius|erasmus|premillennial|postmillennial|amillennial|preteris[tm]|"
    r"cessationis[tm]|continuationis[tm]|complementarian|egalitarian|molinis[tm]|open theism|universalis[tm]|"
    r"annihilationis[tm]|transubstantiation|consubstantiation|memorialis[tm]|sacramental union|theosis|"
    r"penal substitution|christus victor|monergis[tm]|synergis[tm])(?:s|'s|ism|ists?|ans?)?\b"
)
_CREATION = re.compile(
    r"\b(?:write|draft|compose|design|implement|build|create|develop|plan|outline|essay|story|poem|sermon)\b",
    re.IGNORECASE,
)
_CONSTRAINT = re.compile(
    r"\b(?:must|exactly|at least|at most|no more than|without|only|each|every|ensure|format|words?|"
    r"paragraphs?|bullet|table|cite|include)\b",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|good (?:morning|afternoon|evening|night)|greetings|thanks|thank you|thx|"
    r"much appreciated|bye|goodbye|see you|ok(?:ay)?|great|cool|amen|blessings)\b",
    re.IGNORECASE,
)
_SCRIPTURE = re.compile(
    r"\b(?:[1-3]\s?)?[A-Z][a-z]+\.?\s\d{1,3}:\d{1,3}(?:-\d{1,3})?\b|\b(?:verse|psalm|gospel|chapter)\b",
    re.IGNORECASE,
)
_OPTIONS = re.compile(r"^\s*\(?[A-D][.)]\s", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """What the router knows about the request beyond the last user turn's text."""

    user_turns: int = 1
    has_tools: bool = False
    grounded: bool = False


def squash(count: float) -> float:
    """log1p of a non-negative count: every count signal of the router is squashed this way."""
    return math.log1p(max(count, 0.0))


def traditions_named(text: str) -> int:
    """How many distinct Christian traditions, other religions, theologians or named doctrinal positions
    (premillennial, cessationist, transubstantiation...) the text names: two or more mark a comparative theology
    question, which the product wants answered by the strongest tier."""
    return len(set(_TRADITION.findall(text.lower())))


def code_request(text: str) -> int:
    """Evidence that the user asks for software: a programming language, framework or data format named next to
    a code artefact (function, script, query, endpoint...), as in one-line requests without any code in them.
    Either alone is weak evidence ("the function of the law", "the Python snake"), so the count is their
    product, capped."""
    lower = text.lower()
    languages = len(_CODE_LANGUAGE.findall(lower)) + len(_CODE_LANGUAGE_CASED.findall(text))
    artefacts = len(_CODE_ARTEFACT.findall(lower))
    return min(languages, 3) * min(artefacts, 3)


def text_signals(text: str, facts: ConversationFacts) -> npt.NDArray[np.float32]:
    """The SIGNAL_NAMES vector for one request (float32, same order as SIGNAL_NAMES)."""
    words = _WORD.findall(text)
    mean_word = sum(len(word) for word in words) / len(words) if words else 0.0
    values = (
        squash(len(text)) / 2.0,
        squash(len(words)) / 2.0,
        squash(text.count("\n")),
        squash(len(SENTENCE_END.findall(text))),
        squash(len(_NUMBER.findall(text))),
        squash(len(_MATH.findall(text))),
        squash(len(_CODE.findall(text))),
        squash(code_request(text)),
        squash(text.count("?")),
        squash(len(_REASONING.findall(text))),
        squash(len(_COMPARISON.findall(text))),
        squash(traditions_named(text)),
        squash(len(_CREATION.findall(text))),
        squash(len(_CONSTRAINT.findall(text))),
        1.0 if _GREETING.match(text) and len(words) <= 12 else 0.0,
        min(len(_SCRIPTURE.findall(text)), 3) / 3.0,
        1.0 if len(_OPTIONS.findall(text)) >= 3 else 0.0,
        min(mean_word, 12.0) / 4.0,
        squash(facts.user_turns - 1),
        1.0 if facts.has_tools else 0.0,
        1.0 if facts.grounded else 0.0,
    )
    return np.array(values, dtype=np.float32)
