"""guard8: serving cost of a guard-specific copy of MiniLM's top layer(s), on one ONNX Runtime thread.

The copies would run on top of the shared embedding's layer-k token states, so their cost is what the guard adds
beyond the shared embedding. The graph is built with `homily.embeddings.onnx_graph`'s own layer builder (same ops
as the shared encoder, float32 or int8 `MatMulNBits` weights) from MiniLM's weights (the fine-tuned copies have
the same shapes, so the same cost), plus guard5's attention head in NumPy (8 queries, random weights of its
shapes). The whole shared encoder (int8, as served) is timed on the same query for reference.

    PYTHONPATH=$PWD/src python scripts/guard_layer_latency.py --tokens 16
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import onnx
import onnxruntime  # type: ignore[import-untyped]
from onnx import TensorProto, helper

from homily.embeddings.local import default_model_dir
from homily.embeddings.onnx_graph import (
    _OPSET,
    MICROSOFT_DOMAIN,
    _EncoderGraph,
    _ints,
    _scalar,
    build_sentence_encoder,
)
from homily.embeddings.weights import BertConfig, WeightPrecision, read_safetensors

HIDDEN = 384


def top_layers_graph(first: int, precision: WeightPrecision) -> bytes:
    """Layers first..5 of MiniLM as a graph: states [batch, sequence, 384] + attention_mask -> token_states."""
    source = default_model_dir()
    config = BertConfig.from_file(source / "config.json")
    g = _EncoderGraph(read_safetensors(source / "model.safetensors"), config, precision)
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    padding = g.op("Sub", [g.const("one", _scalar(1.0)), mask])
    fill = g.op("Mul", [padding, g.const("mask_fill", _scalar(-1.0e9))])
    mask_bias = g.op("Unsqueeze", [fill, g.const("axes12", _ints(1, 2))])
    hidden = "states"
    for index in range(first, config.num_hidden_layers):
        hidden = g.encoder_layer(hidden, mask_bias, index)
    g.nodes.append(helper.make_node("Identity", [hidden], ["token_states"]))
    graph = helper.make_graph(
        g.nodes,
        "guard_top_layers",
        [
            helper.make_tensor_value_info("states", TensorProto.FLOAT, ["batch", "sequence", HIDDEN]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("token_states", TensorProto.FLOAT, ["batch", "sequence", HIDDEN])],
        initializer=g.initializers,
    )
    opsets = [helper.make_opsetid("", _OPSET), helper.make_opsetid(MICROSOFT_DOMAIN, 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="homily-guard8")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def session(graph: bytes) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def graph_call(run: onnxruntime.InferenceSession, feeds: dict[str, np.ndarray]) -> Callable[[], object]:
    return lambda: run.run(None, feeds)


def p50_ms(call: Callable[[], object], repeats: int) -> float:
    for _ in range(20):
        call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def head_call(tokens: int, rng: np.random.Generator) -> Callable[[], object]:
    """guard5's attention head (8 queries, keys 32, hidden 64, 8 outputs) in NumPy, as `numpy_logits`."""
    states = rng.standard_normal((tokens, HIDDEN)).astype(np.float32)
    embedding = rng.standard_normal(HIDDEN).astype(np.float32)
    w_keys = rng.standard_normal((HIDDEN, 32)).astype(np.float32)
    queries = rng.standard_normal((32, 8)).astype(np.float32)
    w1 = rng.standard_normal((HIDDEN * 9, 64)).astype(np.float32)
    w2 = rng.standard_normal((64, 8)).astype(np.float32)

    def call() -> object:
        scores = (states @ w_keys) @ queries
        scores = np.exp(scores - scores.max(axis=0))
        weights = scores / scores.sum(axis=0)
        pooled = (weights.T @ states).reshape(-1)
        hidden = np.maximum(np.concatenate([pooled, embedding]) @ w1, 0.0)
        return hidden @ w2

    return call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    precisions: tuple[WeightPrecision, ...] = ("float32", "int8")
    states = rng.standard_normal((1, args.tokens, HIDDEN)).astype(np.float32)
    mask = np.ones((1, args.tokens), dtype=np.int64)
    print(f"p50 ms, {args.tokens}-token query, one ONNX Runtime thread")
    for first in (5, 4):
        for precision in precisions:
            run = graph_call(session(top_layers_graph(first, precision)), {"states": states, "attention_mask": mask})
            print(f"layers {first}..5 ({6 - first}), {precision}: {p50_ms(run, args.repeats):.3f}")
    print(f"attention head (NumPy): {p50_ms(head_call(args.tokens, rng), args.repeats):.3f}")
    source = default_model_dir()
    config = BertConfig.from_file(source / "config.json")
    encoder = session(build_sentence_encoder(read_safetensors(source / "model.safetensors"), config))
    ids = np.full((1, args.tokens), 2000, dtype=np.int64)
    run = graph_call(encoder, {"input_ids": ids, "attention_mask": mask})
    print(f"whole shared encoder, int8 (reference): {p50_ms(run, args.repeats):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
