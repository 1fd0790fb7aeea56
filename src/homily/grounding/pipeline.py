"""The ingestion steps as plain functions: parse + chunk (CHUNKING), embed (EMBEDDING), index (COMPLETED).

The job runner (storage + status machine) calls these in order; each step is idempotent given the same input,
so a restart may simply redo the step it was in. `library_records` gives a packaged GlooGrounded item's chunks
(installed by `homily.content.library.install_prebuilt`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from homily.grounding.chunking import Chunk, chunk_document, document_hash
from homily.grounding.document import ParsedDocument
from homily.grounding.embedder import FloatMatrix, TextEmbedder
from homily.grounding.index import ChunkRecord
from homily.grounding.library import LibraryItem
from homily.grounding.parsers import parse_document

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A parsed and chunked upload. `content_hash` identifies duplicates within a publisher."""

    document: ParsedDocument
    chunks: tuple[Chunk, ...]
    content_hash: str

    def embedding_texts(self, title: str | None = None) -> list[str]:
        return [chunk.embedding_text(title or self.document.title) for chunk in self.chunks]


def prepare(filename: str, data: bytes) -> PreparedDocument:
    """Parse and chunk; raises `ParseError` with a reason fit for the item's FAILED status."""
    document = parse_document(filename, data)
    return PreparedDocument(document, tuple(chunk_document(document)), document_hash(document))


def chunk_id(item_id: str, ordinal: int) -> str:
    """Deterministic, so re-running a step after a crash replaces rather than duplicates."""
    return f"{item_id}:{ordinal}"


def chunk_records(
    prepared: PreparedDocument,
    *,
    item_id: str,
    publisher_id: str,
    title: str,
    tradition: str | None,
    vectors: FloatMatrix | None,
) -> list[ChunkRecord]:
    return [
        ChunkRecord(
            chunk_id=chunk_id(item_id, chunk.index),
            item_id=item_id,
            publisher_id=publisher_id,
            ordinal=chunk.index,
            title=title,
            heading_path=chunk.heading_path,
            text=chunk.text,
            char_start=chunk.char_start,
            char_end=chunk.char_end,
            token_count=chunk.token_count,
            content_hash=chunk.content_hash,
            tradition=tradition,
            vector=None if vectors is None else vectors[position],
        )
        for position, chunk in enumerate(prepared.chunks)
    ]


def embed_prepared(embedder: TextEmbedder, prepared: PreparedDocument, title: str | None = None) -> FloatMatrix:
    return embedder.embed(prepared.embedding_texts(title))


def library_records(publisher_id: str, item: LibraryItem) -> list[ChunkRecord]:
    """The chunk records of one packaged library item (with its shipped vectors, when it has them)."""
    return [
        ChunkRecord(
            chunk_id=chunk_id(item.item_id, ordinal),
            item_id=item.item_id,
            publisher_id=publisher_id,
            ordinal=ordinal,
            title=item.title,
            heading_path=tuple(chunk.heading_path),
            text=chunk.text,
            char_start=chunk.char_start,
            char_end=chunk.char_end,
            token_count=chunk.token_count,
            content_hash=chunk.content_hash,
            tradition=item.tradition,
            vector=None if chunk.vector is None else np.asarray(chunk.vector, dtype=np.float32),
        )
        for ordinal, chunk in enumerate(item.chunks)
    ]
