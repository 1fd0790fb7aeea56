"""Helpers for content tests: real PDF/DOCX files, a tiny library from the shared corpus, polling items."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from homily.grounding.chunking import chunk_document, content_hash
from homily.grounding.document import DocumentMetadata, ParsedDocument, Section
from homily.grounding.library import LibraryChunk, LibraryItem

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CORPUS = SHARED_DATA / "corpus" / "christian_texts"


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF (Helvetica text) written by hand, with a correct cross-reference table."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = "BT /F1 11 Tf 14 TL 72 740 Td " + " ".join(f"({escape(line)}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        "/Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def docx_bytes(title: str, paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _creed_text(name: str) -> tuple[str, str]:
    data = json.loads((CORPUS / "creeds_confessions_catechisms" / f"{name}.json").read_text(encoding="utf-8"))
    return str(data["Metadata"]["Title"]), str(data["Data"]["Content"])


def bible_chapters(book: str, chapters: range) -> str:
    """WEB text of some chapters, one verse per line under `## Book N` headings."""
    lines: dict[int, list[str]] = {}
    with (CORPUS / "bible_web" / "web_verses.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            verse = json.loads(line)
            if verse["book"] == book and verse["chapter"] in chapters:
                lines.setdefault(verse["chapter"], []).append(f"{verse['verse']} {verse['text']}")
    return "\n\n".join(f"## {book} {chapter}\n\n" + "\n".join(verses) for chapter, verses in sorted(lines.items()))


def write_sample_library(directory: Path) -> Path:
    """A tiny plain-document GlooGrounded: two creeds and Psalm 23 from the public-domain corpus."""
    directory.mkdir(parents=True, exist_ok=True)
    metadata: dict[str, dict[str, Any]] = {}
    for name in ("apostles_creed", "nicene_creed"):
        title, text = _creed_text(name)
        (directory / f"{name}.md").write_text(f"# {title}\n\n{text}\n", encoding="utf-8")
        metadata[f"{name}.md"] = {"title": title, "tradition": "not_faith_specific", "tags": ["Creed"]}
    (directory / "psalm_23.md").write_text("# Psalms\n\n" + bible_chapters("Psalms", range(23, 24)), encoding="utf-8")
    metadata["psalm_23.md"] = {"title": "Psalm 23 (World English Bible)", "tradition": "not_faith_specific"}
    (directory / "library.json").write_text(json.dumps(metadata), encoding="utf-8")
    return directory


def wait_for_statuses(
    client: httpx.Client, publisher_id: str, item_ids: list[str], timeout: float = 180.0
) -> dict[str, dict[str, Any]]:
    """Poll the item list until every given item is COMPLETED or FAILED; returns the rows by id."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/engine/v2/publisher/{publisher_id}/items")
        response.raise_for_status()
        rows = {row["item_id"]: row for row in response.json() if row["item_id"] in item_ids}
        if len(rows) == len(item_ids) and all(row["status"] in ("COMPLETED", "FAILED") for row in rows.values()):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"items did not finish in {timeout}s: {rows}")
        time.sleep(0.2)


def prebuilt_item(
    item_id: str, title: str, paragraphs: list[str], seed: int | None, *, whole: bool = False
) -> LibraryItem:
    """A library item as `homily.grounding.library.load_library` yields it; `seed=None`: text only; `whole`: each
    paragraph one chunk (otherwise chunks of about 20 tokens)."""
    document = ParsedDocument(title, (Section((title,), "\n\n".join(paragraphs)),), DocumentMetadata())
    generator = np.random.default_rng(seed)
    chunks = []
    size = {"target_tokens": 400, "max_tokens": 500} if whole else {"target_tokens": 20, "max_tokens": 30}
    for chunk in chunk_document(document, min_tokens=5, overlap_tokens=8, **size):
        vector = generator.standard_normal(384).astype(np.float32)
        chunks.append(
            LibraryChunk(
                chunk.text,
                chunk.heading_path,
                chunk.char_start,
                chunk.char_end,
                chunk.token_count,
                content_hash(chunk.text),
                None if seed is None else vector / np.linalg.norm(vector),
            )
        )
    return LibraryItem(item_id, title, "Anon", "catholic", ("Prayer",), "test", f"{item_id}.md", tuple(chunks))
