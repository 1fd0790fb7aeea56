"""Cheap, explainable features of a conversation, shared by the router (and later the guard)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from homily.protocol.chat import ChatMessage
from homily.routing.shapes import quantity_count, without_scripture
from homily.routing.signals import code_request, traditions_named

_CODE = re.compile(r"```|\bdef \w+\(|\bclass \w+[:(]|\bfunction \w*\(|[{};]\s*$|\bSELECT\b.+\bFROM\b", re.M)
_MATH = re.compile(r"\d+\s*[-+*/^=]\s*\d+|\b(solve|equation|integral|derivative|probability|prove)\b", re.I)
_REASONING = re.compile(
    r"\b(why|explain|compare|contrast|analy[sz]e|evaluate|argue|critique|step[- ]by[- ]step|trade-?offs?|"
    r"implications?|essay|in depth|detailed|differences? between|pros and cons|reconcile|synthesi[sz]e)\b",
    re.I,
)
_SMALL_TALK = re.compile(
    r"^\s*(hi|hello|hey|good (morning|afternoon|evening)|thanks?( you)?|thank you( so much)?|ok(ay)?|"
    r"great|bye|goodbye|amen|bless you)\b[\s!.,]*\w{0,12}[\s!.]*$",
    re.I,
)


@dataclass(frozen=True, slots=True)
class RequestFeatures:
    """Signals of complexity. All counts refer to the last user turn unless named otherwise."""

    last_user_text: str
    words: int
    chars: int
    sentences: int
    questions: int
    has_code: bool
    """Code in the text, or a request for code (a language or framework named next to a function, script...)."""
    has_math: bool
    reasoning_terms: int
    small_talk: bool
    quantities: int
    """Numbers in digits or words, scripture references excluded (many of them in a question: a multi-step
    word problem)."""
    traditions: int
    """Distinct traditions or theologians named (two or more: comparative theology)."""
    turns: int
    conversation_chars: int
    has_tools: bool
    grounded: bool


def last_user_text(messages: Sequence[ChatMessage]) -> str:
    """The text of the most recent user turn ('' when there is none)."""
    for message in reversed(messages):
        if message.role == "user":
            return message.text()
    return ""


def extract_features(messages: Sequence[ChatMessage], *, has_tools: bool, grounded: bool) -> RequestFeatures:
    text = last_user_text(messages)
    words = len(text.split())
    return RequestFeatures(
        last_user_text=text,
        words=words,
        chars=len(text),
        sentences=max(1, len(re.findall(r"[.!?]+(\s|$)", text))) if text else 0,
        questions=text.count("?"),
        has_code=bool(_CODE.search(text)) or code_request(text) > 0,
        has_math=bool(_MATH.search(without_scripture(text))),  # John 3:16-18 is not arithmetic
        reasoning_terms=len(_REASONING.findall(text)),
        small_talk=bool(_SMALL_TALK.match(text)) and words <= 6,
        quantities=quantity_count(text),
        traditions=traditions_named(text),
        turns=sum(1 for m in messages if m.role == "user"),
        conversation_chars=sum(len(m.text()) for m in messages),
        has_tools=has_tools,
        grounded=grounded,
    )
