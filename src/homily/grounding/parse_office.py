"""PDF (pypdf) and DOCX (python-docx) parsers. Library failures on damaged files become `ParseError`."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from homily.grounding.document import (
    ParsedDocument,
    ParseError,
    Section,
    build_document,
    map_metadata,
)
from homily.grounding.parse_text import filename_title

log = logging.getLogger(__name__)

_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")
_SOFT_BREAK = re.compile(r"(?<![.!?:;\n])\n(?!\n)")


def _reflow_pdf_page(text: str) -> str:
    """Join words hyphenated across lines and lines wrapped mid-sentence; keep paragraph breaks."""
    text = _HYPHEN_BREAK.sub(r"\1\2", text.replace("\r\n", "\n"))
    return _SOFT_BREAK.sub(" ", text)


def parse_pdf(data: bytes, filename: str) -> ParsedDocument:
    """Text of every page in order (outline titles as headings when present); document info as metadata."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise ParseError("the file is not a PDF (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError("the PDF is encrypted with a password")
        pages = [_reflow_pdf_page(page.extract_text() or "") for page in reader.pages]
        info: Any = reader.metadata
        fields: dict[str, object] = {}
        if info is not None:
            fields = {
                "title": info.get("/Title"),
                "author": info.get("/Author"),
                "keywords": info.get("/Keywords"),
                "description": info.get("/Subject"),
                "date": info.get("/CreationDate"),
            }
            fields = {k: str(v) for k, v in fields.items() if v}
    except ParseError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        log.info("pdf parse failed for %s: %r", filename, exc)
        raise ParseError(f"the PDF could not be read ({type(exc).__name__})") from exc
    if not any(page.strip() for page in pages):
        raise ParseError("the PDF has no extractable text (scanned images need OCR, which Homily does not do)")
    sections = [Section((), page) for page in pages]
    return build_document(sections, map_metadata(fields), filename_title(filename))


_DOCX_HEADING = re.compile(r"^(?:heading|titre|überschrift)\s*(\d)$", re.I)


def parse_docx(data: bytes, filename: str) -> ParsedDocument:
    """Paragraph styles `Title` / `Heading N` build the heading path; tables become `a | b` rows."""
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.text.paragraph import Paragraph

    try:
        document: Any = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ParseError("the file is not a readable DOCX document") from exc
    except Exception as exc:  # lxml raises its own XMLSyntaxError family on damaged parts
        log.info("docx parse failed for %s: %r", filename, exc)
        raise ParseError(f"the DOCX could not be read ({type(exc).__name__})") from exc

    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []
    title_from_style: str | None = None
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "tbl":
            rows = []
            for row in block.iter("{*}tr"):
                cells = ["".join(t.text or "" for t in cell.iter("{*}t")).strip() for cell in row.iter("{*}tc")]
                rows.append(" | ".join(cells))
            body.append("\n".join(rows))
            continue
        if tag != "p":
            continue
        paragraph = Paragraph(block, document)
        text = paragraph.text.strip()
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        level = 0
        if style.lower() == "title":
            level = 1
            title_from_style = title_from_style or text
        elif match := _DOCX_HEADING.match(style.strip()):
            level = int(match[1])
        if level and text:
            sections.append(Section(tuple(h for _, h in path), "\n\n".join(body)))
            body = []
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, text))
        elif text:
            body.append(text)
    sections.append(Section(tuple(h for _, h in path), "\n\n".join(body)))

    core = document.core_properties
    fields = {
        "title": core.title or title_from_style,
        "author": core.author,
        "keywords": core.keywords,
        "description": core.subject or core.comments,
        "date": core.created,
        "tradition": core.category,
    }
    return build_document(sections, map_metadata(fields), filename_title(filename))
