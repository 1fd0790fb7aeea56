"""Cheap lexical features shared by training and screening: hashed word/char n-grams and regex signals.

Hashing uses CRC-32 (deterministic across processes, unlike `hash()`), so weights trained once stay valid.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

HASH_BUCKETS: Final = 8192
MAX_SCREENED_CHARS: Final = 6000
"""Longer texts are screened on their first 4,500 and last 1,500 characters (attacks sit at either end)."""

_WORD_RE: Final = re.compile(r"[a-z0-9']+|[^\sa-z0-9]")
_SPACE_RE: Final = re.compile(r"\s+")

SIGNAL_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        (
            "ignore_previous_instructions",
            r"\b(ignore|disregard|forget|override|skip|bypass)\b[^.!?\n]{0,40}\b(previous|prior|above|earlier|"
            r"preceding|all|any|your|the)\b[^.!?\n]{0,30}\b(instructions?|directions?|rules|prompts?|guidelines|"
            r"context|orders|messages?)\b",
        ),
        (
            "new_instructions",
            r"\b(new|updated|real|actual|true)\s+(instructions?|task|orders|rules|directive)\b",
        ),
        ("role_marker", r"(^|\n|\[|<|###\s*)\s*/?(system|admin|assistant|developer)\s*(\]|>|:|override)"),
        (
            "end_of_context",
            r"(end of (context|document|input|prompt)|</?(end|user_input|context|system)[^>]*>)",
        ),
        ("print_only", r"\b(just|only)\s+(say|print|output|reply|respond|write)\b"),
        (
            "reveal_prompt",
            r"\b(system|initial|hidden|original|secret|pre-?)\s*(prompt|instructions?|message|rules)\b",
        ),
        (
            "repeat_verbatim",
            r"\b(repeat|print|output|reveal|show|dump|quote|spell out)\b[^.!?\n]{0,40}"
            r"\b(above|verbatim|word for word|everything before|your (instructions|prompt|rules))\b",
        ),
        (
            "persona_override",
            r"\b(you are now|from now on,? you|act as an? (ai|assistant|model)|pretend (to be|you are)|"
            r"stay in character|you (will|must) (always )?(answer|respond)|roleplay as)\b",
        ),
        (
            "no_restrictions",
            r"\b(no|without|free of|free from|ignore (your|all))\s+(any\s+)?(restrictions?|filters?|limits|"
            r"rules|ethics|morals?|guidelines|censorship|content polic(y|ies))\b",
        ),
        (
            "jailbreak_names",
            r"\b(dan|do anything now|developer mode|jailbr(eak|oken)\w*|evilbot|unfiltered|uncensored)\b",
        ),
        (
            "refusal_suppression",
            r"\b(never|don't|do not|must not)\s+(refuse|say (you|that you) can't|apologi[sz]e)",
        ),
        (
            "addresses_ai",
            r"\b(ai|assistant|language model|chatbot|llm|model)\b[^.!?\n]{0,30}\b(reading|processing|must)\b",
        ),
        ("your_response", r"\b(your|the)\s+(response|reply|answer|output|solution|code)\b"),
        ("code_fence", r"```"),
        ("url", r"https?://|www\."),
        (
            "first_person_self_harm",
            r"\b(i|i'm|i am|i've|myself|me)\b[^.!?\n]{0,40}\b(kill myself|end (it|my life|it all)|suicid|"
            r"want to die|hurt myself|cut(ting)? myself|not wake up|overdose|better off without me|"
            r"take my (own )?life|hang myself|disappear forever)",
        ),
        (
            "child_sexual",
            r"\b(child|kid|minor|underage|\d{1,2}[- ]year[- ]old|teen|boy|girl)s?\b[^.!?\n]{0,60}"
            r"\b(sex|sexual|nude|naked|explicit|erotic|porn)",
        ),
    )
)
SIGNAL_NAMES: Final[tuple[str, ...]] = tuple(name for name, _ in SIGNAL_PATTERNS)
N_SIGNALS: Final = len(SIGNAL_PATTERNS) + 2
"""Regex signals plus two shape features: log length and question-mark presence."""


@dataclass(frozen=True, slots=True)
class LexicalFeatures:
    """Sparse hashed n-grams (indices into HASH_BUCKETS with L2-normalised values) and dense signals."""

    indices: npt.NDArray[np.int64]
    values: npt.NDArray[np.float32]
    signals: npt.NDArray[np.float32]

    def fired_signals(self) -> list[str]:
        """Names of the regex signals present in the text."""
        return [name for name, value in zip(SIGNAL_NAMES, self.signals, strict=False) if value > 0]


def normalise(text: str) -> str:
    """NFKC, lowercase, collapse whitespace, and clip very long text to its head and tail."""
    folded = _SPACE_RE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
    if len(folded) > MAX_SCREENED_CHARS:
        folded = folded[:4500] + " " + folded[-1500:]
    return folded


def _bucket(token: str) -> int:
    return zlib.crc32(token.encode("utf-8")) & (HASH_BUCKETS - 1)


def lexical_features(text: str) -> LexicalFeatures:
    """Features of one text. Cost is linear in its (clipped) length: about 1 µs per character here."""
    folded = normalise(text)
    words = _WORD_RE.findall(folded)
    counts: dict[int, float] = {}
    previous = "<s>"
    for word in words:
        for token in ("w" + word, "b" + previous + " " + word):
            key = _bucket(token)
            counts[key] = counts.get(key, 0.0) + 1.0
        previous = word
        if len(word) > 4:
            padded = " " + word + " "
            for start in range(len(padded) - 3):
                key = _bucket("c" + padded[start : start + 4])
                counts[key] = counts.get(key, 0.0) + 0.5
    indices = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    values = np.log1p(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
    norm = float(np.sqrt(np.dot(values, values)))
    if norm > 0:
        values /= norm
    return LexicalFeatures(indices=indices, values=values, signals=_signals(folded))


def _signals(folded: str) -> npt.NDArray[np.float32]:
    signals = np.zeros(N_SIGNALS, dtype=np.float32)
    for position, (_, pattern) in enumerate(SIGNAL_PATTERNS):
        if pattern.search(folded):
            signals[position] = 1.0
    signals[-2] = np.log1p(len(folded)) / 8.0
    signals[-1] = 1.0 if "?" in folded else 0.0
    return signals


INSTRUCTION_VOCABULARY: Final = frozenset(
    [
        "i",
        "you",
        "your",
        "yours",
        "yourself",
        "we",
        "us",
        "our",
        "me",
        "my",
        "he",
        "she",
        "it",
        "they",
        "them",
        "his",
        "her",
        "their",
        "this",
        "that",
        "these",
        "those",
        "a",
        "an",
        "the",
        "to",
        "of",
        "in",
        "on",
        "for",
        "with",
        "as",
        "at",
        "by",
        "from",
        "into",
        "about",
        "below",
        "above",
        "following",
        "previous",
        "prior",
        "earlier",
        "can",
        "could",
        "would",
        "should",
        "must",
        "will",
        "shall",
        "may",
        "might",
        "do",
        "does",
        "did",
        "please",
        "now",
        "instead",
        "also",
        "always",
        "never",
        "only",
        "just",
        "then",
        "first",
        "before",
        "after",
        "all",
        "any",
        "every",
        "each",
        "more",
        "what",
        "how",
        "why",
        "who",
        "which",
        "when",
        "where",
        "is",
        "are",
        "be",
        "ai",
        "assistant",
        "model",
        "chatbot",
        "bot",
        "gpt",
        "llm",
        "response",
        "responses",
        "answer",
        "answers",
        "reply",
        "replies",
        "output",
        "outputs",
        "prompt",
        "prompts",
        "instruction",
        "instructions",
        "user",
        "users",
        "text",
        "code",
        "script",
        "snippet",
        "message",
        "messages",
        "summary",
        "json",
        "emoji",
        "emojis",
        "language",
        "sentence",
        "word",
        "words",
        "letter",
        "letters",
        "link",
        "url",
        "write",
        "analyze",
        "analyse",
        "recommend",
        "summarize",
        "summarise",
        "determine",
        "encrypt",
        "encode",
        "decode",
        "translate",
        "provide",
        "list",
        "generate",
        "create",
        "describe",
        "explain",
        "compose",
        "calculate",
        "classify",
        "give",
        "tell",
        "suggest",
        "draft",
        "include",
        "add",
        "use",
        "respond",
        "ignore",
        "disregard",
        "forget",
        "print",
        "repeat",
        "reverse",
        "convert",
        "rewrite",
        "format",
        "insert",
        "append",
        "replace",
        "show",
        "find",
        "identify",
        "compare",
        "evaluate",
        "outline",
        "design",
        "develop",
        "build",
        "make",
        "plan",
        "share",
        "send",
        "visit",
        "click",
        "call",
        "download",
        "install",
        "run",
        "execute",
        "implement",
        "incorporate",
        "embed",
        "integrate",
        "ensure",
        "validate",
        "upgrade",
        "blend",
        "let",
        "say",
        "state",
        "mention",
        "spread",
        "promote",
        "recommend",
        "advertise",
        "help",
        "enhance",
        "sentiment",
        "base64",
        "encoding",
        "style",
        "tone",
    ]
)
"""Function words, AI/task words and task verbs: the only words the passage scorer sees by name.

Any other word is reduced to its shape, so the scorer judges *how* a sentence addresses its reader (an
instruction to an AI versus document prose) and not what it is about: a topic never seen in training
(medicine, law) cannot by itself look like an instruction.
"""


def _shape(word: str) -> str:
    if word.isdigit():
        return "<num>"
    if not word.isalpha():
        return "<sym>"
    return "<w>"


def instruction_features(text: str) -> LexicalFeatures:
    """Topic-blind features of one sentence for the passage scorer (see INSTRUCTION_VOCABULARY)."""
    folded = normalise(text)
    tokens = [word if word in INSTRUCTION_VOCABULARY else _shape(word) for word in _WORD_RE.findall(folded)]
    counts: dict[int, float] = {}
    if tokens:
        for token in ("f" + tokens[0], "f" + " ".join(tokens[:2]), "f" + " ".join(tokens[:3])):
            key = _bucket(token)
            counts[key] = counts.get(key, 0.0) + 1.0
    previous = "<s>"
    for token in tokens:
        for feature in ("u" + token, "b" + previous + " " + token):
            key = _bucket(feature)
            counts[key] = counts.get(key, 0.0) + 1.0
        previous = token
    indices = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    values = np.log1p(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
    norm = float(np.sqrt(np.dot(values, values)))
    if norm > 0:
        values /= norm
    return LexicalFeatures(indices=indices, values=values, signals=_signals(folded))
