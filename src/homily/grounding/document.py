"""What every parser produces: a title, sections of plain text under a heading path, and mapped metadata."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, get_args

Tradition = Literal["evangelical", "catholic", "mainline", "not_faith_specific"]
TRADITIONS: tuple[str, ...] = get_args(Tradition)


class ParseError(ValueError):
    """A file that cannot be turned into text. Its message is the FAILED reason shown to the uploader."""


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text under one heading path. Paragraphs inside `text` are separated by a blank line."""

    heading_path: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class DocumentMetadata:
    """Item metadata a file may carry; every field optional. `tradition` is one of `TRADITIONS` or None."""

    title: str | None = None
    subtitle: str | None = None
    summary: str | None = None
    url: str | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    tradition: str | None = None
    publication_date: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """A parsed file. Invariant: at least one section has non-blank text (else parsers raise `ParseError`)."""

    title: str
    sections: tuple[Section, ...]
    metadata: DocumentMetadata

    def full_text(self) -> str:
        """The sections' text joined by blank lines: the coordinate system of chunk offsets."""
        return SECTION_SEPARATOR.join(section.text for section in self.sections)


SECTION_SEPARATOR = "\n\n"

_WHITESPACE_RUN = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def normalise_paragraphs(text: str) -> str:
    """Collapse runs of spaces, keep single newlines, exactly one blank line between paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [_WHITESPACE_RUN.sub(" ", line).strip() for line in text.split("\n")]
    joined = "\n".join(lines)
    return _BLANK_LINES.sub("\n\n", joined).strip()


def build_document(sections: Iterable[Section], metadata: DocumentMetadata, fallback_title: str) -> ParsedDocument:
    """Drop empty sections, pick the title (metadata, else first heading, else the fallback) and validate."""
    kept = tuple(
        Section(tuple(h for h in section.heading_path if h), normalise_paragraphs(section.text)) for section in sections
    )
    kept = tuple(section for section in kept if section.text)
    if not kept:
        raise ParseError("the file contains no text")
    title = metadata.title or next((s.heading_path[0] for s in kept if s.heading_path), None)
    return ParsedDocument(title=(title or fallback_title).strip()[:500], sections=kept, metadata=metadata)


_METADATA_KEYS: dict[str, tuple[str, ...]] = {
    "title": ("title", "item_title", "name", "headline"),
    "subtitle": ("subtitle", "item_subtitle"),
    "summary": ("summary", "item_summary", "description", "abstract"),
    "url": ("url", "item_url", "link", "href", "canonical_url", "source_url"),
    "author": ("author", "authors", "creator", "by"),
    "tags": ("tags", "item_tags", "keywords", "categories"),
    "tradition": ("tradition",),
    "publication_date": (
        "publication_date",
        "date",
        "published",
        "published_at",
        "pub_date",
        "created",
        "year",
    ),
}
METADATA_FIELD_NAMES: frozenset[str] = frozenset(k for keys in _METADATA_KEYS.values() for k in keys)


def _as_text(value: object) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, list | tuple):
        parts = [str(v).strip() for v in value if isinstance(v, str | int | float) and str(v).strip()]
        return ", ".join(parts) or None
    text = str(value).strip()
    return text or None


def _as_tags(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        parts: list[str] = re.split(r"[,;]", value)
    elif isinstance(value, list | tuple):
        parts = [str(v) for v in value if isinstance(v, str | int | float)]
    else:
        return ()
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


def normalise_tradition(value: object) -> str | None:
    """`Catholic`, `not-faith-specific`, ... -> the API's enum value; anything else -> None."""
    text = _as_text(value)
    if text is None:
        return None
    key = re.sub(r"[\s-]+", "_", text.lower())
    return key if key in TRADITIONS else None


def normalise_date(value: object) -> str | None:
    """ISO dates, datetimes and PDF `D:YYYYMMDD...` stamps -> `YYYY-MM-DD`; a bare year -> `YYYY-01-01`."""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    text = _as_text(value)
    if text is None:
        return None
    text = text.removeprefix("D:")
    match = re.match(r"(\d{4})-?(\d{2})-?(\d{2})", text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
        except ValueError:
            return None
    if re.fullmatch(r"\d{4}", text):
        return f"{text}-01-01"
    return None


def map_metadata(fields: Mapping[str, object]) -> DocumentMetadata:
    """Map loosely named fields (`item_title`, `keywords`, `date`...) onto `DocumentMetadata`."""
    lowered = {str(k).lower(): v for k, v in fields.items()}

    def first(name: str) -> object:
        return next((lowered[k] for k in _METADATA_KEYS[name] if lowered.get(k) not in (None, "", [])), None)

    extra = {
        key: text
        for key, value in lowered.items()
        if key not in METADATA_FIELD_NAMES and (text := _as_text(value)) is not None and len(text) <= 200
    }
    return DocumentMetadata(
        title=_as_text(first("title")),
        subtitle=_as_text(first("subtitle")),
        summary=_as_text(first("summary")),
        url=_as_text(first("url")),
        author=_as_text(first("author")),
        tags=_as_tags(first("tags")),
        tradition=normalise_tradition(first("tradition")),
        publication_date=normalise_date(first("publication_date")),
        extra=extra,
    )
