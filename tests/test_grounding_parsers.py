"""Parsers on real files generated here: PDF via pypdf, DOCX via python-docx, and text formats."""

from __future__ import annotations

import io
import json

import pytest

from homily.grounding.document import ParseError
from homily.grounding.parsers import parse_document


def _minimal_pdf(lines: list[str], title: str) -> bytes:
    """A one-page PDF written by hand (Helvetica text objects), with an xref table pypdf can read."""
    stream = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        " /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({title}) /Author (Test Author) >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    size = len(objects) + 1
    out.write(f"trailer\n<< /Size {size} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def test_pdf_text_and_info_metadata() -> None:
    data = _minimal_pdf(["The mustard seed is the smallest of seeds.", "It grows into a great tree."], "Parables")
    document = parse_document("parables.pdf", data)
    assert document.title == "Parables"
    assert document.metadata.author == "Test Author"
    assert "mustard seed is the smallest" in document.full_text()
    assert "great tree" in document.full_text()


def test_pdf_written_by_pypdf_without_text_is_a_parse_error() -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(ParseError, match="no extractable text"):
        parse_document("blank.pdf", buffer.getvalue())


@pytest.mark.parametrize(
    "data", [b"%PDF-1.4\n garbage garbage", b"not a pdf at all", b"%PDF-1.7\n1 0 obj << /Type /Catalog"]
)
def test_damaged_pdf_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_document("broken.pdf", data)


def test_docx_headings_tables_and_core_properties() -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Sermon on Hope"
    document.core_properties.author = "Pastor Ruth"
    document.core_properties.keywords = "hope, advent"
    document.core_properties.category = "Mainline"
    document.add_heading("Introduction", level=1)
    document.add_paragraph("Hope is an anchor for the soul.")
    document.add_heading("Scripture", level=2)
    document.add_paragraph("Romans 5 speaks of hope that does not disappoint.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Advent"
    table.rows[0].cells[1].text = "Waiting"
    buffer = io.BytesIO()
    document.save(buffer)

    parsed = parse_document("hope.docx", buffer.getvalue())
    assert parsed.title == "Sermon on Hope"
    assert parsed.metadata.author == "Pastor Ruth"
    assert parsed.metadata.tags == ("hope", "advent")
    assert parsed.metadata.tradition == "mainline"
    paths = {section.heading_path for section in parsed.sections}
    assert ("Introduction",) in paths
    assert ("Introduction", "Scripture") in paths
    assert "Advent | Waiting" in parsed.full_text()


def test_docx_that_is_not_a_zip_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="DOCX"):
        parse_document("fake.docx", b"PK\x03\x04 this is not really a zip archive")


def test_markdown_heading_path_front_matter_and_inline_markup() -> None:
    text = (
        "---\ntitle: Grace Notes\nauthor: A. Writer\ntags: [grace, faith]\ntradition: Evangelical\n"
        "date: 2024-03-01\n---\n# Grace\n\nIntro with a [link](http://example.org) and **bold**.\n\n"
        "## Sola gratia\n\nSaved by *grace*.\n\n```\n# not a heading\n```\n\nSetext\n------\n\nBody.\n"
    )
    parsed = parse_document("notes.md", text.encode())
    assert parsed.title == "Grace Notes"
    assert parsed.metadata.tags == ("grace", "faith")
    assert parsed.metadata.tradition == "evangelical"
    assert parsed.metadata.publication_date == "2024-03-01"
    by_path = {s.heading_path: s.text for s in parsed.sections}
    assert by_path[("Grace",)] == "Intro with a link and bold."
    assert "Saved by grace." in by_path[("Grace", "Sola gratia")]
    assert "# not a heading" in by_path[("Grace", "Sola gratia")]
    assert ("Grace", "Setext") in by_path


def test_html_skips_scripts_and_navigation_and_reads_meta() -> None:
    html = (
        "<html><head><title>Psalm Study</title><meta name='author' content='Dr. Lee'>"
        "<link rel='canonical' href='https://example.org/psalm'><script>var x = 'no';</script>"
        "<body><nav>Home | About</nav><h1>Psalm 23</h1><p>The Lord is my shepherd.</p>"
        "<h2>Verse 4</h2><p>Even though I walk<br>through the valley</p><style>p{}</style></body></html>"
    )
    parsed = parse_document("study.html", html.encode())
    assert parsed.title == "Psalm Study"
    assert parsed.metadata.author == "Dr. Lee"
    assert parsed.metadata.url == "https://example.org/psalm"
    full = parsed.full_text()
    assert "var x" not in full
    assert "Home | About" not in full
    assert "p{}" not in full
    assert {s.heading_path for s in parsed.sections} == {("Psalm 23",), ("Psalm 23", "Verse 4")}


def test_txt_headings_and_encoding_fallback() -> None:
    text = "CHAPTER ONE\n\nIn the beginning was the Word.\n\nCHAPTER TWO\n\nCaf\xe9 talk.\n"
    parsed = parse_document("book.txt", text.encode("cp1252"))
    assert [s.heading_path for s in parsed.sections] == [("CHAPTER ONE",), ("CHAPTER TWO",)]
    assert "Café talk." in parsed.full_text()


def test_json_object_metadata_mapping() -> None:
    record = {
        "item_title": "On Prayer",
        "content": "Prayer is conversation with God.",
        "item_url": "https://example.org/prayer",
        "author": ["A", "B"],
        "item_tags": "prayer; devotion",
        "tradition": "catholic",
        "publication_date": "1999-12-31T10:00:00Z",
        "series": "Basics",
    }
    parsed = parse_document("prayer.json", json.dumps(record).encode())
    meta = parsed.metadata
    assert (parsed.title, meta.url, meta.author) == ("On Prayer", "https://example.org/prayer", "A, B")
    assert meta.tags == ("prayer", "devotion")
    assert (meta.tradition, meta.publication_date) == ("catholic", "1999-12-31")
    assert meta.extra["series"] == "Basics"


def test_jsonl_verses_group_by_chapter_and_constant_fields_are_metadata() -> None:
    lines = [
        {
            "book": "John",
            "chapter": 3,
            "verse": 16,
            "text": "For God so loved the world.",
            "tradition": "mainline",
        },
        {
            "book": "John",
            "chapter": 3,
            "verse": 17,
            "text": "For God didn't send his Son.",
            "tradition": "mainline",
        },
        {
            "book": "John",
            "chapter": 4,
            "verse": 1,
            "text": "Therefore when the Lord knew.",
            "tradition": "mainline",
        },
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    parsed = parse_document("john.jsonl", data)
    assert parsed.metadata.tradition == "mainline"
    assert [s.heading_path for s in parsed.sections] == [("John", "John 3"), ("John", "John 4")]
    assert parsed.sections[0].text.startswith("3:16 For God so loved the world.")


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("bad.json", b"{not json", "invalid JSON"),
        ("bad.jsonl", b'{"text": "ok"}\n[1, 2]\n', "line 2"),
        ("empty.txt", b"   \n\n", "empty"),
        ("photo.png", b"\x89PNG\r\n", "unsupported"),
        ("binary.txt", bytes(range(256)) * 4, "binary|encoding"),
        ("notext.json", b'{"title": "x"}', "no text"),
        ("deep.json", b"[" * 100_000, "invalid JSON"),
    ],
    ids=["json", "jsonl", "empty", "png", "binary", "no-text", "deep-json"],
)
def test_bad_files_raise_parse_error(filename: str, data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_document(filename, data)
