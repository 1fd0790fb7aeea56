"""Plain text and Markdown parsers."""

from __future__ import annotations

import re

from homily.grounding.document import (
    DocumentMetadata,
    ParsedDocument,
    ParseError,
    Section,
    build_document,
    map_metadata,
)

_ENCODINGS = ("utf-8-sig", "utf-16")


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252; binary junk is a `ParseError`."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ParseError("the file is not valid UTF-16 text") from exc
    try:
        text = data.decode(_ENCODINGS[0])
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        if text.count("\ufffd") > max(8, len(text) // 100):
            raise ParseError("the file is not text in a known encoding") from None
    if text.count("\x00") > max(8, len(text) // 100):
        raise ParseError("the file looks binary, not text")
    return text


_TEXT_HEADING = re.compile(
    r"^(?:(?:chapter|book|part|section|psalm)\s+[\w.]+.*|[A-Z0-9][A-Z0-9 ,.'\u2019:;()-]{2,78})$", re.I
)


def _is_plain_heading(paragraph: str) -> bool:
    """A one-line paragraph in capitals, or `Chapter 3 ...`, reads as a heading in plain text."""
    if "\n" in paragraph or len(paragraph) > 80 or paragraph.endswith((".", ",", ";")):
        return False
    if re.match(r"^(?:chapter|book|part|section|psalm)\s+[\w.]+", paragraph, re.I):
        return True
    letters = [c for c in paragraph if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters) and bool(_TEXT_HEADING.match(paragraph))


def parse_txt(data: bytes, filename: str) -> ParsedDocument:
    """Paragraphs split at blank lines; one-line capitalised paragraphs and `Chapter N` become headings."""
    text = decode_text(data)
    sections: list[Section] = []
    heading: tuple[str, ...] = ()
    body: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        stripped = paragraph.strip()
        if not stripped:
            continue
        if _is_plain_heading(stripped):
            sections.append(Section(heading, "\n\n".join(body)))
            heading, body = (stripped,), []
        else:
            body.append(stripped)
    sections.append(Section(heading, "\n\n".join(body)))
    first_line = text.strip().split("\n", 1)[0].strip() if text.strip() else ""
    title = first_line if 0 < len(first_line) <= 120 else None
    return build_document(sections, DocumentMetadata(title=title), _stem(filename))


_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_INLINE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<[^>\n]+>"), ""),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])"), r"\2"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"^\s{0,3}>\s?", re.M), ""),
    (re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.M), ""),
    (re.compile(r"^\s{0,3}(?:[-*_]\s*){3,}$", re.M), ""),
)


def strip_markdown_inline(text: str) -> str:
    """Links and images to their text, emphasis and code markers removed, quote and list markers dropped."""
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return text


def _front_matter(lines: list[str]) -> tuple[dict[str, object], list[str]]:
    if not lines or lines[0].strip() != "---":
        return {}, lines
    for index in range(1, min(len(lines), 200)):
        if lines[index].strip() in ("---", "..."):
            fields: dict[str, object] = {}
            for line in lines[1:index]:
                key, sep, value = line.partition(":")
                if sep and key.strip() and not key.startswith((" ", "\t", "-")):
                    raw = value.strip().strip("'\"")
                    if raw.startswith("[") and raw.endswith("]"):
                        fields[key.strip()] = [v.strip().strip("'\"") for v in raw[1:-1].split(",")]
                    else:
                        fields[key.strip()] = raw
            return fields, lines[index + 1 :]
    return {}, lines


def parse_markdown(data: bytes, filename: str) -> ParsedDocument:
    """ATX and setext headings build the heading path; YAML-style front matter maps to metadata."""
    fields, lines = _front_matter(decode_text(data).replace("\r\n", "\n").split("\n"))
    sections: list[Section] = []
    path: list[str] = []
    levels: list[int] = []
    body: list[str] = []
    in_fence = False

    def open_heading(level: int, heading: str) -> None:
        sections.append(Section(tuple(path), strip_markdown_inline("\n".join(body))))
        body.clear()
        while levels and levels[-1] >= level:
            levels.pop()
            path.pop()
        levels.append(level)
        path.append(strip_markdown_inline(heading).strip())

    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            atx = _ATX_HEADING.match(line)
            if atx:
                open_heading(len(atx[1]), atx[2])
                continue
            underline = _SETEXT_UNDERLINE.match(line)
            if underline and body and body[-1].strip() and (underline[1][0] == "=" or len(underline[1]) >= 2):
                previous = body.pop()
                if previous.strip():
                    open_heading(1 if underline[1][0] == "=" else 2, previous)
                    continue
                body.append(previous)
        body.append(line)
    sections.append(Section(tuple(path), strip_markdown_inline("\n".join(body))))
    return build_document(sections, map_metadata(fields), _stem(filename))


def _stem(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem.replace("_", " ").replace("-", " ").strip() or "Untitled"


def filename_title(filename: str) -> str:
    """A readable title from a file name: `my_sermon-notes.pdf` -> `my sermon notes`."""
    return _stem(filename)
