"""The optional `token_states` output of the ONNX sentence encoder (what mean pooling averages)."""

from __future__ import annotations

import numpy as np
import onnxruntime  # type: ignore[import-untyped]
import pytest
from tokenizers import Tokenizer

from homily.embeddings import load_local_embedder
from homily.embeddings.local import default_model_dir
from homily.embeddings.onnx_graph import build_sentence_encoder, with_token_states
from homily.embeddings.weights import BertConfig, read_safetensors

TEXTS = ["How do I kill a Python process?", "How do I forgive someone who hurt me deeply and keeps doing it?"]


def test_token_states_mean_pool_to_the_sentence_embedding() -> None:
    model_dir = default_model_dir()
    graph = build_sentence_encoder(
        read_safetensors(model_dir / "model.safetensors"), BertConfig.from_file(model_dir / "config.json")
    )
    session = onnxruntime.InferenceSession(with_token_states(graph), providers=["CPUExecutionProvider"])
    assert [output.name for output in session.get_outputs()] == ["sentence_embedding", "token_states"]
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()  # tokenizer.json pads to a fixed width; the embedder does not
    ids = [encoding.ids for encoding in tokenizer.encode_batch(TEXTS)]
    width = max(len(row) for row in ids)
    input_ids = np.zeros((len(ids), width), dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, pieces in enumerate(ids):
        input_ids[row, : len(pieces)] = pieces
        mask[row, : len(pieces)] = 1
    sentence, states = session.run(None, {"input_ids": input_ids, "attention_mask": mask})
    assert states.shape == (len(TEXTS), width, 384)
    pooled = (states * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    np.testing.assert_allclose(pooled, sentence, atol=1e-5)
    np.testing.assert_allclose(sentence, load_local_embedder().embed(TEXTS), atol=1e-4)
    assert not np.allclose(states[0, 1], states[0, 2])  # per-token values, not a broadcast mean


def test_refuses_a_graph_without_an_encoder() -> None:
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "plain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 384])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 384])],
    )
    with pytest.raises(ValueError, match="LayerNormalization"):
        with_token_states(helper.make_model(graph).SerializeToString())
