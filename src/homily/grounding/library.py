"""GlooGrounded, the shared default library shipped in the package (built by scripts/build_library.py).

It ships with precomputed int8 vectors, so installing it is a bulk insert (seconds), not an embedding job
(4-5 minutes of CPU here on an idle machine): the library is fully searchable, keyword and dense, moments
after first start. A text-only build (no vectors.npz) still installs at once for keyword search; the caller
then embeds it in the background (`ChunkIndex.set_vectors`). The manifest binds the vectors to the chunk
texts and the model; a mismatch refuses to load rather than serving vectors from another model.
"""

from __future__ import annotations

import hashlib
import json
import lzma
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from homily.grounding.chunking import content_hash
from homily.grounding.embedder import FloatMatrix

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
LIBRARY_PUBLISHER = "GlooGrounded"


class LibraryError(RuntimeError):
    """The shipped library is missing or inconsistent (vectors not matching texts or model)."""


def quantize_vectors(vectors: FloatMatrix) -> tuple[npt.NDArray[np.int8], FloatMatrix]:
    """Row-wise symmetric int8: `row ~= q * scale`; cosine error is ~1e-3, a quarter of float32's size."""
    scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12).astype(np.float32) / 127.0
    quantized = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return quantized, scales


def dequantize_vectors(quantized: npt.NDArray[np.int8], scales: FloatMatrix) -> FloatMatrix:
    """Back to float32 rows re-normalised to unit length."""
    vectors = quantized.astype(np.float32) * scales[:, None]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalised: FloatMatrix = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


def texts_digest(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class LibraryChunk:
    text: str
    heading_path: tuple[str, ...]
    char_start: int
    char_end: int
    token_count: int
    content_hash: str
    vector: FloatMatrix | None

    def embedding_text(self, title: str) -> str:
        return library_embedding_text(title, {"heading_path": self.heading_path, "text": self.text})


@dataclass(frozen=True, slots=True)
class LibraryItem:
    """One work (or part of one) of the library with its chunks and their vectors, ready to insert."""

    item_id: str
    title: str
    author: str | None
    tradition: str
    tags: tuple[str, ...]
    source: str
    filename: str
    chunks: tuple[LibraryChunk, ...]


@dataclass(frozen=True, slots=True)
class LibraryManifest:
    model: str
    dimension: int
    items: int
    chunks: int
    texts_sha256: str
    per_tradition: dict[str, dict[str, int]]


def read_manifest(directory: Path = LIBRARY_DIR) -> LibraryManifest:
    try:
        raw: dict[str, Any] = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        return LibraryManifest(
            raw["model"],
            int(raw["dimension"]),
            int(raw["items"]),
            int(raw["chunks"]),
            raw["texts_sha256"],
            raw.get("per_tradition", {}),
        )
    except (OSError, ValueError, KeyError) as exc:
        raise LibraryError(f"library manifest unreadable in {directory}: {exc}") from exc


def load_library(
    directory: Path = LIBRARY_DIR, expected_model: str = "all-MiniLM-L6-v2", *, with_vectors: bool = True
) -> Iterator[LibraryItem]:
    """Items in build order with dequantised vectors (None when the library shipped text only or `with_vectors`
    is False: the caller then indexes them lexically at once and embeds them in the background). Raises
    `LibraryError` on mismatch."""
    manifest = read_manifest(directory)
    vectors_path = directory / "vectors.npz"
    try:
        rows = _read_rows(directory)
        vectors: FloatMatrix | None = None
        if with_vectors and vectors_path.exists():
            if manifest.model != expected_model:
                raise LibraryError(f"library vectors are from {manifest.model}, the embedder is {expected_model}")
            with np.load(vectors_path) as packed:
                vectors = dequantize_vectors(packed["vectors"], packed["scales"])
    except (OSError, ValueError, KeyError, lzma.LZMAError) as exc:
        raise LibraryError(f"library data unreadable in {directory}: {exc}") from exc
    embedded = [library_embedding_text(row["title"], chunk) for row in rows for chunk in row["chunks"]]
    if texts_digest(embedded) != manifest.texts_sha256:
        raise LibraryError("library texts do not match the manifest; rebuild with scripts/build_library.py")
    if vectors is not None and len(embedded) != len(vectors):
        raise LibraryError("library vectors do not match the library texts; rebuild with scripts/build_library.py")
    position = 0
    for row in rows:
        chunks = []
        for chunk in row["chunks"]:
            chunks.append(
                LibraryChunk(
                    chunk["text"],
                    tuple(chunk["heading_path"]),
                    int(chunk["char_start"]),
                    int(chunk["char_end"]),
                    int(chunk["token_count"]),
                    content_hash(chunk["text"]),
                    None if vectors is None else vectors[position],
                )
            )
            position += 1
        yield LibraryItem(
            row["item_id"],
            row["title"],
            row.get("author"),
            row["tradition"],
            tuple(row.get("tags") or ()),
            row["source"],
            row["filename"],
            tuple(chunks),
        )


def _read_rows(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lzma.decompress((directory / "items.jsonl.xz").read_bytes()).splitlines()]


def library_item_ids(directory: Path = LIBRARY_DIR) -> set[str]:
    """The item ids of a built library (a fraction of a second: no vectors, no digest). Raises `LibraryError`."""
    try:
        return {str(row["item_id"]) for row in _read_rows(directory)}
    except (OSError, ValueError, KeyError, lzma.LZMAError) as exc:
        raise LibraryError(f"library data unreadable in {directory}: {exc}") from exc


def write_library(
    directory: Path,
    rows: Sequence[dict[str, Any]],
    vectors: FloatMatrix | None,
    *,
    model: str,
    extra: dict[str, Any] | None = None,
) -> LibraryManifest:
    """Write items.jsonl.xz, vectors.npz and manifest.json; `rows` hold titles and chunks in vector order."""
    texts = [library_embedding_text(row["title"], chunk) for row in rows for chunk in row["chunks"]]
    if vectors is not None and len(texts) != len(vectors):
        raise LibraryError(f"{len(texts)} chunks but {len(vectors)} vectors")
    directory.mkdir(parents=True, exist_ok=True)
    payload = "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)
    (directory / "items.jsonl.xz").write_bytes(lzma.compress(payload.encode("utf-8"), preset=9 | lzma.PRESET_EXTREME))
    if vectors is not None:
        quantized, scales = quantize_vectors(vectors)
        np.savez_compressed(directory / "vectors.npz", vectors=quantized, scales=scales)
    else:
        (directory / "vectors.npz").unlink(missing_ok=True)
    manifest = {
        "name": LIBRARY_PUBLISHER,
        "model": model,
        "dimension": 384 if vectors is None else int(vectors.shape[1]),
        "items": len(rows),
        "chunks": len(texts),
        "texts_sha256": texts_digest(texts),
        **(extra or {}),
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return read_manifest(directory)


def library_embedding_text(title: str, chunk: dict[str, Any]) -> str:
    """Mirror of `Chunk.embedding_text` for a stored chunk, checked against the build by the manifest digest."""
    context = list(dict.fromkeys(part for part in (title, *chunk["heading_path"]) if part))
    return (" > ".join(context) + "\n" + chunk["text"]) if context else str(chunk["text"])
