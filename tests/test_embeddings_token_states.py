"""Token states from the shared local embedder (what mean pooling averages), through the async and deferred fronts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import pytest

from homily.embeddings import BatchingEmbedder, OnnxSentenceEmbedder, Vectors, load_local_embedder
from homily.embeddings.deferred import DeferredEmbedder
from homily.embeddings.local import default_model_dir
from homily.embeddings.onnx_graph import build_sentence_encoder
from homily.embeddings.protocol import EmbeddedQuery, embedded_query
from homily.embeddings.weights import BertConfig, read_safetensors

TEXTS = ["How do I kill a Python process?", "How do I forgive someone who hurt me deeply and keeps doing it?"]


@pytest.fixture(scope="module")
def embedder() -> OnnxSentenceEmbedder:
    return load_local_embedder()


def test_token_states_mean_pool_to_the_query_vector(embedder: OnnxSentenceEmbedder) -> None:
    assert embedder.has_token_states
    for text in TEXTS:
        query = embedder.embed_with_token_states(text)
        assert query.token_states is not None
        (ids,) = embedder.token_ids([text])
        assert query.token_states.shape == (len(ids), 384)
        assert query.token_states.dtype == np.float32
        pooled = query.token_states.mean(axis=0)
        np.testing.assert_allclose(pooled / np.linalg.norm(pooled), query.vector, atol=1e-5)
        np.testing.assert_allclose(query.vector, embedder.embed([text])[0], atol=1e-5)
        assert not np.allclose(query.token_states[1], query.token_states[2])  # per token, not a broadcast mean


def test_graph_without_the_option_has_one_output() -> None:
    import onnxruntime  # type: ignore[import-untyped]

    model_dir = default_model_dir()
    weights = read_safetensors(model_dir / "model.safetensors")
    config = BertConfig.from_file(model_dir / "config.json")
    plain = onnxruntime.InferenceSession(build_sentence_encoder(weights, config), providers=["CPUExecutionProvider"])
    assert [output.name for output in plain.get_outputs()] == ["sentence_embedding"]
    both = build_sentence_encoder(weights, config, token_states=True)
    session = onnxruntime.InferenceSession(both, providers=["CPUExecutionProvider"])
    assert [output.name for output in session.get_outputs()] == ["sentence_embedding", "token_states"]


def test_a_graph_without_token_states_gives_none(embedder: OnnxSentenceEmbedder) -> None:
    import onnxruntime

    model_dir = default_model_dir()
    graph = build_sentence_encoder(
        read_safetensors(model_dir / "model.safetensors"), BertConfig.from_file(model_dir / "config.json")
    )
    from tokenizers import Tokenizer

    plain = OnnxSentenceEmbedder(
        onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"]),
        Tokenizer.from_file(str(model_dir / "tokenizer.json")),
        model_name=embedder.model_name,
        dimension=384,
    )
    assert not plain.has_token_states
    query = plain.embed_with_token_states(TEXTS[0])
    assert query.token_states is None
    np.testing.assert_allclose(query.vector, embedder.embed([TEXTS[0]])[0], atol=1e-5)


class _Constant:
    model_name = "constant"
    dimension = 3

    def embed(self, texts: Sequence[str]) -> Vectors:
        return np.tile(np.array([1.0, 0.0, 0.0], dtype=np.float32), (len(texts), 1))


def test_embedders_without_token_states_give_the_vector_alone() -> None:
    query = embedded_query(_Constant(), "anything")
    assert query.token_states is None
    np.testing.assert_array_equal(query.vector, [1.0, 0.0, 0.0])


def test_deferred_and_batching_fronts_pass_token_states_through(embedder: OnnxSentenceEmbedder) -> None:
    deferred = DeferredEmbedder(lambda: embedder, embedder.model_name, embedder.dimension)
    direct = embedder.embed_with_token_states(TEXTS[1])
    assert direct.token_states is not None
    through_deferred = deferred.embed_with_token_states(TEXTS[1])
    assert through_deferred.token_states is not None
    np.testing.assert_array_equal(through_deferred.token_states, direct.token_states)

    async def run() -> tuple[EmbeddedQuery, Vectors]:
        async with BatchingEmbedder(deferred) as batcher:
            query, vector = await asyncio.gather(batcher.embed_query(TEXTS[1]), batcher.embed_one(TEXTS[0]))
        with pytest.raises(RuntimeError, match="closed"):
            await batcher.embed_query(TEXTS[0])
        return query, vector

    query, vector = asyncio.run(run())
    assert query.token_states is not None
    np.testing.assert_array_equal(query.token_states, direct.token_states)
    np.testing.assert_array_equal(query.vector, direct.vector)
    np.testing.assert_allclose(vector, embedder.embed([TEXTS[0]])[0], atol=1e-6)
