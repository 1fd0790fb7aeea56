"""JSON and JSONL parser.

Accepted shapes: one object with a text field (`content`, `text`, `body`) and metadata fields; a list of such
records (or JSONL, one per line; or an object holding the list under `items`, `records`, `sections`...).
For record lists, fields with the same value in every record are document metadata and fields that vary
(`book`, `chapter`, `section`...) build each record's heading path; consecutive records under the same path
form one section. Bible verse records (`book`, `chapter`, `verse`, `text`) become `3:16 ...` paragraphs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from homily.grounding.document import ParsedDocument, ParseError, Section, build_document, map_metadata
from homily.grounding.parse_text import decode_text, filename_title

_TEXT_KEYS = ("content", "text", "body", "answer", "passage", "abstract")
_LIST_KEYS = ("items", "records", "sections", "documents", "data", "chapters")
_HEADING_KEYS = (
    "work",
    "part",
    "book",
    "book_title",
    "treatise",
    "chapter",
    "chapter_title",
    "lesson_title",
    "section",
    "article_title",
    "question_title",
    "verse_heading",
    "heading",
    "title",
)
_MAX_RECORDS = 500_000


def _record_text(record: Mapping[str, Any]) -> str:
    question = record.get("question")
    answer = record.get("answer")
    if isinstance(question, str) and isinstance(answer, str):
        return f"Q. {question.strip()}\nA. {answer.strip()}"
    for key in _TEXT_KEYS:
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _is_verse(record: Mapping[str, Any]) -> bool:
    return (
        isinstance(record.get("book"), str)
        and isinstance(record.get("chapter"), int)
        and isinstance(record.get("verse"), int)
    )


def _records_to_document(
    records: Sequence[Mapping[str, Any]], wrapper: Mapping[str, Any], filename: str
) -> ParsedDocument:
    if not records:
        raise ParseError("the JSON holds no records")
    records = [_lower_keys(record) for record in records]
    wrapper = _lower_keys(wrapper)
    first = records[0]
    constant = {
        key: value
        for key, value in first.items()
        if isinstance(value, str | int | float) and all(r.get(key) == value for r in records[1:])
    }
    fields: dict[str, Any] = dict(constant)
    if isinstance(wrapper.get("metadata"), dict):
        fields.update(_lower_keys(wrapper["metadata"]))
    fields.update({k: v for k, v in wrapper.items() if k not in _LIST_KEYS and not isinstance(v, dict | list)})
    if constant.get("work") and not fields.get("title"):
        fields["title"] = constant["work"]
    sections: list[Section] = []
    current_path: tuple[str, ...] | None = None
    paragraphs: list[str] = []
    for record in records:
        text = _record_text(record).strip()
        if not text:
            continue
        if _is_verse(record):
            book, chapter = str(record["book"]), int(record["chapter"])
            path: tuple[str, ...] = (book, f"{book} {chapter}")
            text = f"{chapter}:{record['verse']} {' '.join(text.split())}"
        else:
            path = tuple(
                str(record[key]).strip()
                for key in _HEADING_KEYS
                if key not in constant and isinstance(record.get(key), str | int) and str(record[key]).strip()
            )
        if path != current_path and paragraphs:
            sections.append(Section(current_path or (), "\n\n".join(paragraphs)))
            paragraphs = []
        current_path = path
        paragraphs.append(text)
    if paragraphs:
        sections.append(Section(current_path or (), "\n\n".join(paragraphs)))
    return build_document(sections, map_metadata(fields), filename_title(filename))


def _lower_keys(value: Mapping[str, Any]) -> dict[str, Any]:
    """Field names compare case-insensitively (`Title`, `Content`, `Question` are common)."""
    return {str(key).lower(): item for key, item in value.items()}


def _object_to_document(value: Mapping[str, Any], filename: str) -> ParsedDocument:
    value = _lower_keys(value)
    for key in _LIST_KEYS:
        nested = value.get(key)
        if isinstance(nested, list) and nested and all(isinstance(r, dict) for r in nested):
            return _records_to_document(nested, value, filename)
    text = _record_text(value)
    if not text.strip():
        raise ParseError(f"the JSON object has no text field (one of: {', '.join(_TEXT_KEYS)})")
    fields = _lower_keys(value["metadata"]) if isinstance(value.get("metadata"), dict) else {}
    fields.update(value)
    return build_document([Section((), text)], map_metadata(fields), filename_title(filename))


def parse_json(data: bytes, filename: str) -> ParsedDocument:
    """A JSON document: an object with text, or a list of records (see module docstring)."""
    try:
        value: Any = json.loads(decode_text(data))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(f"invalid JSON: {exc}") from exc
    if isinstance(value, dict):
        return _object_to_document(value, filename)
    if isinstance(value, list) and all(isinstance(r, dict) for r in value):
        return _records_to_document(value, {}, filename)
    raise ParseError("the JSON must be an object or a list of objects")


def parse_jsonl(data: bytes, filename: str) -> ParsedDocument:
    """One JSON object per line; blank lines skipped; the first bad line is reported by number."""
    records: list[dict[str, Any]] = []
    for number, line in enumerate(decode_text(data).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ParseError(f"invalid JSON on line {number}: {exc.msg if hasattr(exc, 'msg') else exc}") from exc
        if not isinstance(record, dict):
            raise ParseError(f"line {number} is not a JSON object")
        records.append(record)
        if len(records) > _MAX_RECORDS:
            raise ParseError(f"more than {_MAX_RECORDS} records")
    return _records_to_document(records, {}, filename)
