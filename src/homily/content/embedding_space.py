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

from homily.content.embedding import EmbeddingRunner
from homily.embeddings import OpenAICompatibleEmbedder, load_local_embedder
from homily.embeddings.local import MODEL_DIMENSION, MODEL_NAME
from homily.grounding.embedder import TextEmbedder
from homily.settings import Settings

log = logging.getLogger("homily.content.embedding_space")

REMOTE_EMBEDDER_THREADS = 8
"""Worker threads of a remote retrieval embedder, so concurrent queries do not queue behind one network call."""

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


def retrieval_embedding_runner(
    settings: Settings, shared: Callable[[], TextEmbedder] | None = None
) -> EmbeddingRunner:
    """The runner that embeds content and grounded queries. `shared` gives the process's local model (waiting
    while it loads), reused when retrieval is local instead of loading a second copy; without it the local model
    loads from the data directory's graph cache. A local model gets one thread (CPU-bound), a remote endpoint
    several (network-bound)."""
    space = retrieval_space(settings)
    if settings.retrieval_embeddings == "local":
        models, precision = settings.data_dir / "models", settings.embedding_weights
        factory = shared or (lambda: load_local_embedder(models, precision=precision))
        return EmbeddingRunner(factory, space.dimension)
    key = settings.retrieval_embeddings_api_key or settings.openai_api_key
    secret = key.get_secret_value() if key is not None else None
    url = settings.retrieval_embeddings_url
    return EmbeddingRunner(
        lambda: OpenAICompatibleEmbedder(url, secret, space.model, space.dimension),
        space.dimension,
        threads=REMOTE_EMBEDDER_THREADS,
    )


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
        changed = previous is not None and previous != space
        requeued = 0
        if changed:
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
    if changed and previous is not None:
        announce_space_change(previous, space, requeued)
    return requeued


def announce_space_change(previous: EmbeddingSpace, space: EmbeddingSpace, requeued: int) -> None:
    log.warning(
        "retrieval embeddings changed from %s (%d dimensions) to %s (%d): %d items will be embedded again in the"
        " background; keyword search works meanwhile",
        previous.model,
        previous.dimension,
        space.model,
        space.dimension,
        requeued,
    )
