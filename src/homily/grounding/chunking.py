"""Split a `ParsedDocument` into retrieval chunks that follow headings, paragraphs and Bible verses.

Units are paragraphs; a paragraph of verse lines (`16 For God...`, `3:16 ...`) splits into verses, an overlong
paragraph into sentences, an overlong sentence into word windows. Units are packed greedily up to
`target_tokens`; a chunk never crosses into a new heading unless it is still below `min_tokens` and the
headings share their top level; consecutive chunks of one section share up to `overlap_tokens` of trailing
units.
Every chunk's text is exactly `document.full_text()[char_start:char_end]`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from homily.grounding.document import SECTION_SEPARATOR, ParsedDocument

_TOKEN = re.compile(r"\w+|[^\w\s]")
_PARAGRAPH_BREAK = re.compile(r"\n\n+")
_VERSE_LINE = re.compile(r"^\s*(?:\d{1,3}:)?\d{1,3}[a-z]?\s+\S")
_SENTENCE_END = re.compile(r"(?<=[.!?;])[\"'\u201d\u2019)\]]*\s+")


def count_tokens(text: str) -> int:
    """Words and punctuation marks: close to (slightly under) the embedder's word-piece count for English."""
    return len(_TOKEN.findall(text))


def content_hash(text: str) -> str:
    """SHA-256 of the text with case and whitespace folded: equal for re-uploads of the same content."""
    return hashlib.sha256(" ".join(text.lower().split()).encode("utf-8")).hexdigest()


def document_hash(document: ParsedDocument) -> str:
    """Duplicate key of a whole document (its text only; metadata changes do not make new content)."""
    return content_hash(document.full_text())


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable passage: `text == full_text[char_start:char_end]`; headings common to its units."""

    index: int
    text: str
    heading_path: tuple[str, ...]
    char_start: int
    char_end: int
    token_count: int
    content_hash: str

    def embedding_text(self, title: str = "") -> str:
        """What the embedder and keyword index see: title and headings give a passage its context."""
        context = [part for part in (title, *self.heading_path) if part]
        deduplicated = list(dict.fromkeys(context))
        return (" > ".join(deduplicated) + "\n" + self.text) if deduplicated else self.text


@dataclass(frozen=True, slots=True)
class _Unit:
    start: int
    end: int
    tokens: int
    section: int


def _spans(text: str, pattern: re.Pattern[str], base: int) -> Iterator[tuple[int, int]]:
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            yield base + position, base + match.start()
        position = match.end()
    if position < len(text):
        yield base + position, base + len(text)


def _word_windows(text: str, base: int, max_tokens: int) -> Iterator[tuple[int, int]]:
    matches = list(_TOKEN.finditer(text))
    for index in range(0, len(matches), max_tokens):
        window = matches[index : index + max_tokens]
        yield base + window[0].start(), base + window[-1].end()


def _units_of_paragraph(full: str, start: int, end: int, max_tokens: int) -> Iterator[tuple[int, int]]:
    paragraph = full[start:end]
    lines = paragraph.split("\n")
    if len(lines) > 1 and sum(bool(_VERSE_LINE.match(line)) for line in lines) * 2 >= len(lines):
        pieces = list(_spans(paragraph, re.compile(r"\n"), start))
    elif count_tokens(paragraph) > max_tokens:
        pieces = list(_spans(paragraph, _SENTENCE_END, start))
    else:
        yield start, end
        return
    for piece_start, piece_end in pieces:
        piece = full[piece_start:piece_end]
        if count_tokens(piece) > max_tokens:
            yield from _word_windows(piece, piece_start, max_tokens)
        else:
            yield piece_start, piece_end


def _units(document: ParsedDocument, full: str, max_tokens: int) -> list[_Unit]:
    units: list[_Unit] = []
    offset = 0
    for section_index, section in enumerate(document.sections):
        for start, end in _spans(section.text, _PARAGRAPH_BREAK, offset):
            for unit_start, unit_end in _units_of_paragraph(full, start, end, max_tokens):
                text = full[unit_start:unit_end]
                stripped_start = unit_start + (len(text) - len(text.lstrip()))
                stripped_end = unit_end - (len(text) - len(text.rstrip()))
                if stripped_end > stripped_start:
                    tokens = count_tokens(full[stripped_start:stripped_end])
                    units.append(_Unit(stripped_start, stripped_end, tokens, section_index))
        offset += len(section.text) + len(SECTION_SEPARATOR)
    return units


def _common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    prefix = paths[0]
    for path in paths[1:]:
        length = 0
        while length < min(len(prefix), len(path)) and prefix[length] == path[length]:
            length += 1
        prefix = prefix[:length]
    return prefix


def _overlap(full: str, group: list[_Unit], budget: int) -> list[_Unit]:
    """Trailing units of `group` worth at most `budget` tokens; the trailing sentences of a unit too big."""
    carried: list[_Unit] = []
    for position in range(len(group) - 1, -1, -1):
        previous = group[position]
        if previous.tokens <= budget and position > 0:
            carried.insert(0, previous)
            budget -= previous.tokens
            continue
        sentences = list(_spans(full[previous.start : previous.end], _SENTENCE_END, previous.start))
        for start, end in reversed(sentences[1:]):
            tokens = count_tokens(full[start:end])
            if tokens > budget:
                break
            carried.insert(0, _Unit(start, end, tokens, previous.section))
            budget -= tokens
        break
    return carried


def chunk_document(
    document: ParsedDocument,
    *,
    target_tokens: int = 200,
    max_tokens: int = 280,
    min_tokens: int = 60,
    overlap_tokens: int = 40,
) -> list[Chunk]:
    """Chunks in document order (see module docstring). Deterministic: same document, same chunks."""
    full = document.full_text()
    paths = [section.heading_path for section in document.sections]
    units = _units(document, full, max_tokens)
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    tokens = 0
    for unit in units:
        if current:
            new_section = unit.section != current[-1].section
            mergeable = (
                tokens < min_tokens
                and tokens + unit.tokens <= max_tokens
                and paths[unit.section][:1] == paths[current[-1].section][:1]
            )
            if new_section and not mergeable:
                groups.append(current)
                current, tokens = [], 0
            elif not new_section and tokens + unit.tokens > target_tokens:
                groups.append(current)
                carried = _overlap(full, current, overlap_tokens)
                carried_tokens = sum(u.tokens for u in carried)
                if carried_tokens + unit.tokens > max_tokens:
                    carried, carried_tokens = [], 0
                current, tokens = carried, carried_tokens
        current.append(unit)
        tokens += unit.tokens
    if current:
        groups.append(current)

    chunks: list[Chunk] = []
    for index, group in enumerate(groups):
        start, end = group[0].start, group[-1].end
        text = full[start:end]
        heading = _common_prefix([paths[unit.section] for unit in group])
        chunks.append(Chunk(index, text, heading, start, end, count_tokens(text), content_hash(text)))
    return chunks
