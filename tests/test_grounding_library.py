"""GlooGrounded packaging: int8 round trip, manifest binding, bulk install, and the shipped library itself."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from homily.embeddings import load_local_embedder
from homily.grounding.document import TRADITIONS
from homily.grounding.fusion import RetrievalParams
from homily.grounding.index import ChunkIndex
from homily.grounding.library import (
    LIBRARY_DIR,
    LibraryError,
    dequantize_vectors,
    load_library,
    quantize_vectors,
    read_manifest,
    write_library,
)
from homily.grounding.pipeline import library_records


def _unit_rows(count: int, seed: int = 3) -> np.ndarray[Any, np.dtype[np.float32]]:
    rows = np.random.default_rng(seed).normal(size=(count, 384)).astype(np.float32)
    normalised: np.ndarray[Any, np.dtype[np.float32]] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return normalised


def test_int8_round_trip_keeps_cosines() -> None:
    vectors = _unit_rows(200)
    restored = dequantize_vectors(*quantize_vectors(vectors))
    assert np.allclose(np.linalg.norm(restored, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(vectors * restored, axis=1))) > 0.999
    query = vectors[0]
    assert int(np.argmax(restored @ query)) == 0


def _rows() -> list[dict[str, Any]]:
    return [
        {
            "item_id": f"item-{n}",
            "title": f"Work {n}",
            "author": None,
            "tradition": tradition,
            "tags": [],
            "source": "test",
            "filename": f"test/{n}",
            "chunks": [
                {
                    "text": f"passage {n} about {word}",
                    "heading_path": ["Part"],
                    "char_start": 0,
                    "char_end": 10,
                    "token_count": 4,
                }
                for word in ("grace", "peace")
            ],
        }
        for n, tradition in enumerate(("catholic", "mainline"))
    ]


def test_written_library_loads_and_installs(tmp_path: Path) -> None:
    vectors = _unit_rows(4)
    write_library(tmp_path, _rows(), vectors, model="all-MiniLM-L6-v2")
    items = list(load_library(tmp_path))
    assert [item.item_id for item in items] == ["item-0", "item-1"]
    assert items[1].tradition == "mainline"
    assert float(items[1].chunks[1].vector @ vectors[3]) > 0.999

    index = ChunkIndex.open(tmp_path / "db.sqlite")
    records = [record for item in items for record in library_records("gloo", item)]
    assert [(record.item_id, record.ordinal) for record in records] == [(f"item-{n // 2}", n % 2) for n in range(4)]
    assert records[3].tradition == "mainline"
    index.add(records)
    hits = index.search("", vectors[3], "gloo", params=RetrievalParams(dense_weight=1.0)).hits
    assert (hits[0].item_id, hits[0].text) == ("item-1", "passage 1 about peace")
    assert index.count("gloo") == 4
    index.close()


def test_mismatched_texts_or_model_refuse_to_load(tmp_path: Path) -> None:
    write_library(tmp_path, _rows(), _unit_rows(4), model="all-MiniLM-L6-v2")
    with pytest.raises(LibraryError, match="vectors are from"):
        list(load_library(tmp_path, expected_model="another-model"))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["texts_sha256"] = "0" * 64
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(LibraryError, match="do not match"):
        list(load_library(tmp_path))
    with pytest.raises(LibraryError):
        list(load_library(tmp_path / "missing"))


# Questions about books the library lacked before it held the whole Bible and the deuterocanon (none was found).
BIBLE_QUESTIONS = (
    ("Romans 8:28", "Romans", 8),
    ("What is faith according to Hebrews 11?", "Hebrews", 11),
    ("Isaiah 53 suffering servant", "Isaiah", 53),
    ("Pentecost: the Holy Spirit comes on the disciples in Acts 2", "Acts", 2),
    ("Daniel in the lions' den", "Daniel", 6),
    ("What does 2 Macc 12:46 say about praying for the dead?", "2 Machabees", 12),
    ("Sir 6:14 a faithful friend", "Ecclesiasticus", 6),
)
WEB_BOOKS = 66
WEB_CHAPTERS = 1189
CONFESSIONS_BOOKS = 13


@pytest.mark.skipif(not (LIBRARY_DIR / "manifest.json").exists(), reason="library not built")
def test_shipped_library_is_consistent_balanced_and_small() -> None:
    manifest = read_manifest()
    assert set(manifest.per_tradition) == set(TRADITIONS)
    # The tradition-specific works are balanced; not_faith_specific also holds the whole Bible, shared by all.
    chunk_counts = [stats["chunks"] for name, stats in manifest.per_tradition.items() if name != "not_faith_specific"]
    assert min(chunk_counts) * 2 > max(chunk_counts)
    total_bytes = sum(path.stat().st_size for path in LIBRARY_DIR.iterdir())
    assert total_bytes < 8_000_000
    items = list(load_library())
    assert sum(len(item.chunks) for item in items) == manifest.chunks
    assert len({item.item_id for item in items}) == len(items)


@pytest.mark.skipif(not (LIBRARY_DIR / "manifest.json").exists(), reason="library not built")
def test_shipped_library_holds_the_whole_bible_and_whole_confessions() -> None:
    """Readers ask about any book, chapter and verse: every chapter of the World English Bible is there, verse by
    verse, and every book of Augustine's Confessions."""
    items = list(load_library())
    bible = [item for item in items if item.title.endswith("(World English Bible)")]
    assert len(bible) == WEB_BOOKS
    chapters = {
        (item.title, line.split(":", 1)[0])
        for item in bible
        for chunk in item.chunks
        for line in chunk.text.splitlines()
        if re.match(r"\d+:1 ", line)
    }
    assert len(chapters) == WEB_CHAPTERS
    romans = next(item for item in bible if item.title == "Romans (World English Bible)")
    assert any("8:28 " in chunk.text and "all things work together for good" in chunk.text for chunk in romans.chunks)
    confessions = {item.title for item in items if item.title.startswith("Augustine: Confessions Book ")}
    assert len(confessions) == CONFESSIONS_BOOKS


@pytest.mark.skipif(not (LIBRARY_DIR / "manifest.json").exists(), reason="library not built")
def test_shipped_library_installs_and_answers_by_tradition(tmp_path: Path) -> None:
    index = ChunkIndex.open(tmp_path / "library.db")
    for item in load_library():
        index.add(library_records("gloo", item))
    assert index.count("gloo") == read_manifest().chunks
    embedder = load_local_embedder()
    query = "What is the chief end of man?"
    result = index.search(query, embedder.embed([query])[0], "gloo", limit=5)
    assert result.sources_returned
    assert "Westminster Shorter Catechism" in result.hits[0].title
    for question, book, chapter in BIBLE_QUESTIONS:
        found = index.search(question, embedder.embed([question])[0], "gloo", limit=3)
        # A hit is a chunk of the book holding verses of the chapter (a chunk may span two chapters).
        assert any(
            hit.title.startswith(f"{book} (") and re.search(rf"^{chapter}:\d", hit.text, re.MULTILINE)
            for hit in found.hits
        ), (
            question,
            [(hit.title, hit.heading_path) for hit in found.hits],
        )
    question = "What does the catechism teach about the sacrament of penance?"
    catholic = index.search(question, embedder.embed([question])[0], "gloo", limit=3, tradition="catholic")
    assert catholic.hits[0].tradition == "catholic"
    index.close()
