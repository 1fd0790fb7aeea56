"""Chunking invariants: offsets, sizes, heading paths, verses, overlap, determinism, duplicate hashes."""

from __future__ import annotations

import itertools

import pytest

from homily.grounding.chunking import chunk_document, content_hash, count_tokens, document_hash
from homily.grounding.document import DocumentMetadata, ParsedDocument, Section


def _document(*sections: Section) -> ParsedDocument:
    return ParsedDocument("Test", sections, DocumentMetadata())


def _sentence(n: int) -> str:
    return f"Sentence number {n} speaks of grace, mercy and the patience of God with his people."


def _long_section(heading: tuple[str, ...], paragraphs: int) -> Section:
    body = "\n\n".join(" ".join(_sentence(p * 10 + s) for s in range(4)) for p in range(paragraphs))
    return Section(heading, body)


@pytest.fixture
def document() -> ParsedDocument:
    return _document(
        _long_section(("Part I",), 12),
        Section(("Part I", "Short"), "A very short section."),
        _long_section(("Part II",), 9),
    )


def test_chunk_text_equals_full_text_slice(document: ParsedDocument) -> None:
    full = document.full_text()
    chunks = chunk_document(document)
    assert chunks
    for chunk in chunks:
        assert full[chunk.char_start : chunk.char_end] == chunk.text
        assert chunk.text == chunk.text.strip()


def test_sizes_stay_within_bounds(document: ParsedDocument) -> None:
    chunks = chunk_document(document, target_tokens=200, max_tokens=280)
    assert all(chunk.token_count <= 280 for chunk in chunks)
    assert sum(chunk.token_count >= 100 for chunk in chunks) >= len(chunks) - 3


def test_every_paragraph_is_covered_in_order(document: ParsedDocument) -> None:
    chunks = chunk_document(document)
    covered = "\n".join(chunk.text for chunk in chunks)
    for section in document.sections:
        for paragraph in section.text.split("\n\n"):
            assert paragraph in covered
    starts = [chunk.char_start for chunk in chunks]
    assert starts == sorted(starts)
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))


def test_chunks_do_not_cross_top_level_headings(document: ParsedDocument) -> None:
    for chunk in chunk_document(document):
        assert chunk.heading_path[:1] in (("Part I",), ("Part II",))
        assert not ("Part I" in chunk.heading_path and "Part II" in chunk.text)


def test_short_section_merges_under_common_heading(document: ParsedDocument) -> None:
    short = [c for c in chunk_document(document) if "A very short section." in c.text]
    assert len(short) == 1
    assert short[0].heading_path[0] == "Part I"


def test_consecutive_chunks_of_a_section_overlap(document: ParsedDocument) -> None:
    chunks = [c for c in chunk_document(document, overlap_tokens=60) if c.heading_path == ("Part II",)]
    assert len(chunks) >= 2
    for previous, following in itertools.pairwise(chunks):
        assert following.char_start < previous.char_end


def test_verses_are_never_split() -> None:
    verses = "\n".join(f"{n} " + " ".join(["blessed are the meek"] * 6) for n in range(1, 40))
    document = _document(Section(("Matthew", "Matthew 5"), verses))
    chunks = chunk_document(document, target_tokens=120, max_tokens=160)
    assert len(chunks) > 3
    for chunk in chunks:
        for line in chunk.text.split("\n"):
            assert line.split(" ", 1)[0].isdigit()
            assert line.endswith("meek")


def test_overlong_sentence_is_split_into_windows() -> None:
    document = _document(Section((), " ".join(["word"] * 1000)))
    chunks = chunk_document(document, target_tokens=200, max_tokens=250)
    assert all(chunk.token_count <= 250 for chunk in chunks)
    assert sum(count_tokens(c.text) for c in chunks) >= 1000


def test_chunking_is_deterministic(document: ParsedDocument) -> None:
    assert chunk_document(document) == chunk_document(document)


def test_content_hash_ignores_case_and_whitespace_only() -> None:
    assert content_hash("Grace  and\nPeace") == content_hash("grace and peace")
    assert content_hash("grace and peace") != content_hash("grace and peace.")
    a = ParsedDocument("A", (Section(("x",), "Same text."),), DocumentMetadata(title="A"))
    b = ParsedDocument("B", (Section(("y",), "Same   text."),), DocumentMetadata(title="B", author="Z"))
    assert document_hash(a) == document_hash(b)


def test_embedding_text_carries_title_and_headings() -> None:
    document = _document(Section(("Book", "Chapter"), "Body text here."))
    chunk = chunk_document(document)[0]
    assert chunk.embedding_text("Title") == "Title > Book > Chapter\nBody text here."
    assert chunk.embedding_text("Book") == "Book > Chapter\nBody text here."
