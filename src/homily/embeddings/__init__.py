"""Sentence embeddings shared by routing, guard and retrieval.

`load_local_embedder()` gives all-MiniLM-L6-v2 on ONNX Runtime (no torch at serve time);
`OpenAICompatibleEmbedder` calls a remote `/v1/embeddings`; `BatchingEmbedder` is the async front the service
uses so the blocking model runs on one worker thread with concurrent requests batched together.
"""

from homily.embeddings.batching import BatchingEmbedder
from homily.embeddings.local import OnnxSentenceEmbedder, load_local_embedder
from homily.embeddings.openai_compat import OpenAICompatibleEmbedder
from homily.embeddings.protocol import Embedder, Vectors

__all__ = [
    "BatchingEmbedder",
    "Embedder",
    "OnnxSentenceEmbedder",
    "OpenAICompatibleEmbedder",
    "Vectors",
    "load_local_embedder",
]
