"""Sentence embeddings shared by routing, guard and retrieval.

`load_local_embedder()` gives all-MiniLM-L6-v2 on ONNX Runtime (no torch at serve time);
`OpenAICompatibleEmbedder` calls a remote `/v1/embeddings`; `BatchingEmbedder` is the async front the service
uses so the blocking model runs on one worker thread with concurrent requests batched together.

    embedder = load_local_embedder(settings.data_dir / "models")   # graph cached there after the first start
    batcher = BatchingEmbedder(embedder)                           # create in the app lifespan
    query_vector = await batcher.embed_one(last_user_turn)          # (384,) float32, unit norm
    await batcher.close()                                           # on shutdown
"""

from homily.embeddings.batching import BatchingEmbedder
from homily.embeddings.local import OnnxSentenceEmbedder, load_local_embedder
from homily.embeddings.openai_compat import OpenAICompatibleEmbedder
from homily.embeddings.protocol import EmbeddedQuery, Embedder, Vectors

__all__ = [
    "BatchingEmbedder",
    "EmbeddedQuery",
    "Embedder",
    "OnnxSentenceEmbedder",
    "OpenAICompatibleEmbedder",
    "Vectors",
    "load_local_embedder",
]
