"""Choose a parser by file extension: `parse_document(filename, data) -> ParsedDocument` or `ParseError`."""

from __future__ import annotations

import logging
from collections.abc import Callable

from homily.grounding.document import ParsedDocument, ParseError
from homily.grounding.parse_html import parse_html
from homily.grounding.parse_json import parse_json, parse_jsonl
from homily.grounding.parse_office import parse_docx, parse_pdf
from homily.grounding.parse_text import parse_markdown, parse_txt

log = logging.getLogger(__name__)

Parser = Callable[[bytes, str], ParsedDocument]

PARSERS: dict[str, Parser] = {
    ".txt": parse_txt,
    ".text": parse_txt,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".html": parse_html,
    ".htm": parse_html,
    ".pdf": parse_pdf,
    ".docx": parse_docx,
    ".json": parse_json,
    ".jsonl": parse_jsonl,
    ".ndjson": parse_jsonl,
}
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(PARSERS)


def extension_of(filename: str) -> str:
    """The lower-cased final suffix including the dot (`Notes.PDF` -> `.pdf`), or `""`."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def is_supported(filename: str) -> bool:
    return extension_of(filename) in PARSERS


def parse_document(filename: str, data: bytes) -> ParsedDocument:
    """Parse `data` by the extension of `filename`. Every failure, parser bugs included, is a `ParseError`."""
    parser = PARSERS.get(extension_of(filename))
    if parser is None:
        raise ParseError(
            f"unsupported file type {extension_of(filename) or '(none)'}; use one of " + ", ".join(SUPPORTED_EXTENSIONS)
        )
    if not data.strip():
        raise ParseError("the file is empty")
    try:
        return parser(data, filename)
    except ParseError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, UnicodeError, RecursionError) as exc:
        log.warning("parser %s failed on %s", parser.__name__, filename, exc_info=True)
        raise ParseError(f"the file could not be parsed ({type(exc).__name__})") from exc
