"""Turn free text into a safe SQLite FTS5 MATCH expression (never user syntax: every term is quoted)."""

from __future__ import annotations

import re

from homily.grounding.scripture import reference_terms

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Function words carry no topic; leaving them out keeps FTS5 from scoring half the corpus per query.
STOPWORDS = frozenset(
    (
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "may",
        "might",
        "must",
        "shall",
        "upon",
        "unto",
        "thee",
        "thou",
        "thy",
        "ye",
        "hath",
        "doth",
    )
)


def words_of(text: str) -> list[str]:
    """The lower-cased words of `text`, in order (letters and digits; punctuation and underscores split)."""
    return [match.group() for match in _WORD.finditer(text.lower())]


def query_terms(text: str, max_terms: int = 48) -> list[str]:
    """Distinct lower-cased words of `text` in order, without stopwords and one-letter tokens, after the full
    book names of its Bible references ("Rom 8:28" also searches "romans")."""
    seen: dict[str, None] = {}
    for word in reference_terms(text) + words_of(text):
        if len(seen) >= max_terms:
            break
        if (len(word) > 1 or word.isdigit()) and word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)


def match_expression(terms: list[str], scope_token: str | None = None) -> str | None:
    """`scope:"tok" AND ("t1" OR "t2" ...)`; None when no term is left (no keyword candidates then)."""
    if not terms:
        return None
    disjunction = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
    if scope_token is None:
        return disjunction
    return f'scope : "{scope_token}" AND ({disjunction})'
