"""GlooGrounded packaging: int8 round trip, manifest binding, bulk install, and the shipped library itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

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
from homily.grounding.pipeline import install_library


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
    progress: list[tuple[int, int]] = []
    assert install_library(index, "gloo", items, progress=lambda i, c: progress.append((i, c))) == 4
    assert progress[-1] == (2, 4)
    assert install_library(index, "gloo", items, skip_item_ids=["item-0", "item-1"]) == 0
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


def test_text_only_library_installs_lexically_then_embeds(tmp_path: Path) -> None:
    from homily.grounding.embedder import SentenceTransformerEmbedder
    from homily.grounding.pipeline import embed_missing_library_vectors

    write_library(tmp_path, _rows(), None, model="all-MiniLM-L6-v2")
    assert not (tmp_path / "vectors.npz").exists()
    items = list(load_library(tmp_path))
    assert all(chunk.vector is None for item in items for chunk in item.chunks)
    index = ChunkIndex.open(tmp_path / "db.sqlite")
    install_library(index, "gloo", items)
    assert index.count("gloo") == 0  # nothing dense yet ...
    keyword = index.search("peace", _unit_rows(1)[0], "gloo", params=RetrievalParams(dense_weight=0.0))
    assert keyword.hits[0].text.endswith("about peace")  # ... but keyword search works at once
    embedder = SentenceTransformerEmbedder()
    assert embed_missing_library_vectors(index, embedder, items) == 4
    assert index.count("gloo") == 4
    query = embedder.embed(["tranquility and calm"])[0]
    dense = index.search("", query, "gloo", params=RetrievalParams(dense_weight=1.0, keyword_candidates=0))
    assert dense.hits[0].text.endswith("about peace")
    index.close()


@pytest.mark.skipif(not (LIBRARY_DIR / "manifest.json").exists(), reason="library not built")
def test_shipped_library_is_consistent_balanced_and_small() -> None:
    manifest = read_manifest()
    assert set(manifest.per_tradition) == set(TRADITIONS)
    chunk_counts = [stats["chunks"] for stats in manifest.per_tradition.values()]
    assert min(chunk_counts) * 2 > max(chunk_counts)
    total_bytes = sum(path.stat().st_size for path in LIBRARY_DIR.iterdir())
    assert total_bytes < 8_000_000
    items = list(load_library())
    assert sum(len(item.chunks) for item in items) == manifest.chunks
    assert any("World English Bible" in item.title for item in items)
