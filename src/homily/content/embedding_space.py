"""Which model embeds content for retrieval, and keeping stored vectors in that model's space.

Vectors of different models cannot be compared, so the database records the space (model, dimension) its chunk
vectors belong to. When the configured retrieval embedder changes, `adopt_embedding_space` clears every stored
vector and returns the items that had them to EMBEDDING, in one transaction: the ingestion worker then embeds
them again in the background (keyword search works meanwhile), and a crash at any point leaves either the old
space intact or the new one fully recorded.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from homily.embeddings.local import MODEL_DIMENSION, MODEL_NAME
from homily.grounding.embedder import TextEmbedder, load_default_embedder
from homily.settings import Settings

log = logging.getLogger("homily.content.embedding_space")

REMOTE_EMBEDDER_THREADS = 8

LIBRARY_PRIORITY = -1
"""Queue priority of background re-embedding: uploads (priority 0) go first."""


@dataclass(frozen=True, slots=True)
class EmbeddingSpace:
    model: str
    dimension: int


LOCAL_SPACE = EmbeddingSpace(MODEL_NAME, MODEL_DIMENSION)
"""The local model's space: the GlooGrounded library ships vectors in it."""


def retrieval_space(settings: Settings) -> EmbeddingSpace:
    if settings.retrieval_embeddings == "local":
        return LOCAL_SPACE
    return EmbeddingSpace(settings.retrieval_embeddings_model, settings.retrieval_embeddings_dimension)


def retrieval_embedder_factory(
    settings: Settings, shared: Callable[[], TextEmbedder] | None = None
) -> Callable[[], TextEmbedder]:
    """How to build the retrieval embedder (called once, on the embedding thread). `shared`: gives the process's
    local model (waiting while it loads), reused when retrieval is local."""
    if settings.retrieval_embeddings == "local":
        return shared or load_default_embedder
    from homily.embeddings import OpenAICompatibleEmbedder

    key = settings.retrieval_embeddings_api_key or settings.openai_api_key
    url, model, dimension = (
        settings.retrieval_embeddings_url,
        settings.retrieval_embeddings_model,
        settings.retrieval_embeddings_dimension,
    )
    return lambda: OpenAICompatibleEmbedder(
        url, key.get_secret_value() if key is not None else None, model, dimension, send_dimensions=False
    )


def retrieval_embedder_threads(settings: Settings) -> int:
    """Worker threads for the retrieval embedder: one for the local model (CPU-bound), several for a remote
    endpoint (network-bound)."""
    return 1 if settings.retrieval_embeddings == "local" else REMOTE_EMBEDDER_THREADS


def stored_space(connection: sqlite3.Connection) -> EmbeddingSpace | None:
    row = connection.execute("SELECT model, dimension FROM embedding_space WHERE id = 1").fetchone()
    return None if row is None else EmbeddingSpace(str(row[0]), int(row[1]))


def adopt_embedding_space(connection: sqlite3.Connection, space: EmbeddingSpace) -> int:
    """Make `space` the database's embedding space; returns how many items were queued to be embedded again.

    `connection` must be in autocommit mode (`isolation_level=None`)."""
    if stored_space(connection) == space:
        return 0
    connection.execute("BEGIN IMMEDIATE")
    try:
        previous = stored_space(connection)  # re-read under the write lock
        requeued = 0
        if previous is not None and previous != space:
            requeued = connection.execute(
                "UPDATE items SET status = 'EMBEDDING', priority = ?"
                " WHERE status = 'COMPLETED' AND item_id IN (SELECT item_id FROM chunks)",
                (LIBRARY_PRIORITY,),
            ).rowcount
            connection.execute("UPDATE chunks SET vector = NULL WHERE vector IS NOT NULL")
        connection.execute(
            "INSERT INTO embedding_space (id, model, dimension) VALUES (1, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET model = excluded.model, dimension = excluded.dimension",
            (space.model, space.dimension),
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    if previous is not None and previous != space:
        log.warning(
            "retrieval embeddings changed from %s (%d dimensions) to %s (%d): %d items will be embedded again in the"
            " background; keyword search works meanwhile",
            previous.model,
            previous.dimension,
            space.model,
            space.dimension,
            requeued,
        )
    return requeued
