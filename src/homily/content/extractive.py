"""The `homily-extractive` answerer: a short answer quoted from the best passages, with `[n]` citations.

Used only on a server with no generative provider configured at all (DESIGN.md); it says plainly that it is extractive.
"""

from __future__ import annotations

import re

from homily.content.sources import Source
from homily.grounding.keyword import query_terms

EXTRACTIVE_MODEL_ID = "homily-extractive"

# A sentence ends at . ! ? ; : or a line break, except between digits: "8:28", "3.5" stay whole (a verse marker
# cut off its chapter would send a reader to the wrong verse).
_SENTENCE = re.compile(r"(?:[^.!?;:\n]|(?<=\d)[.:](?=\d))+(?:[.!?;:]+[\"'\u201d\u2019)\]]*|$)")
_MAX_SOURCES = 3
_SENTENCES_PER_SOURCE = 2
_MAX_SENTENCE_CHARS = 400
_STEM = 5


def _stems(text: str) -> set[str]:
    return {term[:_STEM] for term in query_terms(text, max_terms=200)}


def _sentences(text: str) -> list[str]:
    found = [match.group().strip() for match in _SENTENCE.finditer(text)]
    return [sentence for sentence in found if len(sentence.split()) >= 3]


def best_sentences(question: str, passages: tuple[str, ...], count: int = _SENTENCES_PER_SOURCE) -> list[str]:
    """The `count` sentences sharing most words (by 5-letter stem) with the question, in document order."""
    wanted = _stems(question)
    candidates = [sentence for passage in passages for sentence in _sentences(passage)]
    if not candidates:
        return [passages[0][:_MAX_SENTENCE_CHARS]] if passages else []
    scored = [(len(wanted & _stems(sentence)), -position, sentence) for position, sentence in enumerate(candidates)]
    chosen = sorted(scored, reverse=True)[:count]
    ordered = sorted(chosen, key=lambda entry: -entry[1])
    return [_trim(sentence) for _, _, sentence in ordered]


def _trim(sentence: str) -> str:
    if len(sentence) <= _MAX_SENTENCE_CHARS:
        return sentence
    return sentence[:_MAX_SENTENCE_CHARS].rsplit(" ", 1)[0] + "…"


def extractive_answer(question: str, publisher: str, sources: list[Source]) -> str:
    """Quote the most relevant sentences of the top sources, each followed by its `[n]` marker."""
    if not sources:
        return (
            "This is an extractive answer (no generative model is available): the publisher "
            f"{publisher!r} has no passage relevant to this question, so there is nothing to quote. "
            "An operator can configure a model provider (for example OPENAI_API_KEY) for generated answers."
        )
    lines = [
        "This is an extractive answer (no generative model is available), quoting the most relevant passages "
        f"from {publisher!r}:",
        "",
    ]
    for source in sources[:_MAX_SOURCES]:
        quoted = " ".join(best_sentences(question, source.passages))
        lines.append(f"- {source.title}: \u201c{quoted}\u201d [{source.index}]")
    return "\n".join(lines)
