"""Write an ONNX graph of a sentence-transformers BERT encoder (mean pooling + L2 norm) from its weights.

No torch is involved: the graph is built op by op from the checkpoint arrays, so serving needs only
`onnxruntime` (and `onnx` when the graph is first built). Inputs are `input_ids` and `attention_mask` (int64,
[batch, sequence]); the output is `sentence_embedding` (float32, [batch, hidden], unit rows).

With `precision="int8"` (the default) the encoder's linear layers keep their weights as int8 in blocks of 32 along
the input dimension, one float scale per block (ONNX Runtime's `MatMulNBits`, computing in int8 with
block-quantised activations). A short query reads the whole weight set once per call, and float32 weights (44 MB)
do not fit in the CPU cache while int8 ones do: queries and batches run 1.2-1.3x faster, and embeddings stay
within cosine ~0.9995 of the float32 graph's.

A short query costs mostly per-call overhead, so both precisions use the same lean structure: each layer projects
query, key and value with one linear layer over their stacked weights (four linear layers per encoder layer, not
six), and pooling normalises the masked token sum from one MatMul. Measured back to back on the 2-core box with 2
intra-op threads, a 16-token query's p50 fell ~7% (int8) and ~5-9% (float32) against three projections and the
mean's seven ops, mostly from fewer parallel sections to hand to the second thread (with one thread the CPU per
query hardly changes); batch throughput stayed the same within noise.

ONNX Runtime's fused contrib kernels were measured on its CPU provider (1.32, 16-token queries and 229-token
batches) and are deliberately not used: `MultiHeadAttention` has no packed-QKV CPU kernel and, fed split Q/K/V,
was slower than the plain MatMul/Softmax ops; `SkipLayerNormalization` took about twice as long as `Add` +
`LayerNormalization`; `EmbedLayerNormalization` was no faster than Gather/Add/LayerNormalization; and the erf
pattern below is already fused into `Gelu` by the runtime. `DynamicQuantizeMatMul` multiplies ~3x faster than
`MatMulNBits` but quantises activations per tensor: cosine to float32 fell to ~0.994 and a text's vector would
depend on its batch-mates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from homily.embeddings.weights import BertConfig, WeightPrecision

GRAPH_VERSION = 4
"""Bumped whenever the graph changes, so graphs cached by an older builder are rebuilt."""

_OPSET = 18
_MASK_FILL = -1.0e9
_INT8_BLOCK = 32
_INT8_ZERO_POINT = 128
"""`MatMulNBits` stores 8-bit weights unsigned; with no zero-point input it subtracts 128."""
_ACCURACY_INT8 = 4
"""`MatMulNBits` accuracy level 4: multiply in int8 (level 0, float32 arithmetic, is several times slower)."""
Weights = dict[str, npt.NDArray[Any]]
MICROSOFT_DOMAIN = "com.microsoft"


def _f32(array: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    return np.ascontiguousarray(array, dtype=np.float32)


def _scalar(value: float) -> npt.NDArray[np.float32]:
    return np.array(value, dtype=np.float32)


def _ints(*values: int) -> npt.NDArray[np.int64]:
    return np.array(values, dtype=np.int64)


def int8_blocks(weight: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """Symmetric int8 quantisation of a torch `Linear` weight ([out, in]) in blocks of 32 inputs.

    Returns the `MatMulNBits` layout: codes [out, in / 32, 32] offset by 128, and scales [out * in / 32] with
    `weight ~= (codes - 128) * scale` block by block.
    """
    rows, columns = weight.shape
    if columns % _INT8_BLOCK:
        raise ValueError(f"input dimension {columns} is not a multiple of {_INT8_BLOCK}")
    blocks = weight.reshape(rows, columns // _INT8_BLOCK, _INT8_BLOCK)
    scales = np.abs(blocks).max(axis=2) / 127.0
    scales[scales == 0.0] = 1.0
    codes = np.clip(np.rint(blocks / scales[:, :, None]), -127, 127) + _INT8_ZERO_POINT
    return codes.astype(np.uint8), scales.astype(np.float32).reshape(-1)


class _EncoderGraph:
    """Accumulates the nodes and initializers of one encoder graph, naming every value uniquely."""

    def __init__(self, weights: Weights, config: BertConfig, precision: WeightPrecision) -> None:
        self.w = weights
        self.config = config
        self.precision = precision
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._counter = 0

    def _fresh(self, stem: str) -> str:
        self._counter += 1
        return f"{stem}_{self._counter}"

    def const(self, stem: str, value: npt.NDArray[Any]) -> str:
        name = self._fresh(stem)
        # Not np.ascontiguousarray: it would turn 0-d scalars into shape (1,).
        self.initializers.append(numpy_helper.from_array(value.copy(order="C"), name))
        return name

    def op(self, op_type: str, inputs: list[str], *, domain: str = "", **attrs: Any) -> str:
        output = self._fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [output], domain=domain, **attrs))
        return output

    def ops(self, op_type: str, inputs: list[str], outputs: int, *, domain: str = "", **attrs: Any) -> list[str]:
        """A node with several outputs (e.g. `Split`); returns their names in order."""
        names = [self._fresh(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, domain=domain, **attrs))
        return names

    def linear(self, x: str, prefix: str) -> str:
        """x @ W.T + b for the torch `Linear` stored under `prefix` (weight is [out, in])."""
        return self.project(x, self.w[f"{prefix}.weight"], self.w[f"{prefix}.bias"])

    def project(self, x: str, weight_array: npt.NDArray[Any], bias_array: npt.NDArray[Any]) -> str:
        """x @ W.T + b for a weight laid out like a torch `Linear`'s ([out, in])."""
        weight = _f32(weight_array)
        bias = self.const("b", _f32(bias_array))
        if self.precision == "float32":
            return self.op("Add", [self.op("MatMul", [x, self.const("w", weight.T)]), bias])
        codes, scales = int8_blocks(weight)
        out_features, in_features = weight.shape
        return self.op(
            "MatMulNBits",
            [x, self.const("w_int8", codes), self.const("w_scales", scales), "", "", bias],
            domain=MICROSOFT_DOMAIN,
            K=in_features,
            N=out_features,
            bits=8,
            block_size=_INT8_BLOCK,
            accuracy_level=_ACCURACY_INT8,
        )

    def layer_norm(self, x: str, prefix: str) -> str:
        gamma = self.const("gamma", _f32(self.w[f"{prefix}.weight"]))
        beta = self.const("beta", _f32(self.w[f"{prefix}.bias"]))
        return self.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=self.config.layer_norm_eps)

    def gelu(self, x: str) -> str:
        """Exact (erf) GELU, in the pattern ONNX Runtime fuses with the preceding bias into `BiasGelu`."""
        erf = self.op("Erf", [self.op("Div", [x, self.const("sqrt2", _scalar(math.sqrt(2.0)))])])
        gated = self.op("Mul", [x, self.op("Add", [erf, self.const("one", _scalar(1.0))])])
        return self.op("Mul", [gated, self.const("half", _scalar(0.5))])

    def embeddings(self, input_ids: str) -> str:
        """Word + position + token-type embeddings; all tokens are type 0, so that row joins the positions."""
        positions = (
            _f32(self.w["embeddings.position_embeddings.weight"])
            + _f32(self.w["embeddings.token_type_embeddings.weight"])[0]
        )
        seq_len = self.op("Shape", [input_ids], start=1, end=2)
        zero = self.const("zero", _ints(0))
        position_rows = self.op("Slice", [self.const("positions", positions), zero, seq_len, zero])
        table = self.const("words", _f32(self.w["embeddings.word_embeddings.weight"]))
        words = self.op("Gather", [table, input_ids], axis=0)
        return self.layer_norm(self.op("Add", [words, position_rows]), "embeddings.LayerNorm")

    def attention(self, x: str, mask_bias: str, prefix: str) -> str:
        """Self-attention with query, key and value projected by one linear layer over their stacked weights.

        One [3 * hidden] projection instead of three [hidden] ones: a short query pays per-call overhead (and, in
        int8, per-call activation quantisation) once instead of three times. Its output is split into heads as
        [batch, 3 * heads, seq, head_dim] and then into the query, key and value heads.
        """
        heads = self.config.num_attention_heads
        head_dim = self.config.hidden_size // heads
        names = [f"{prefix}.self.{name}" for name in ("query", "key", "value")]
        stacked = self.project(
            x,
            np.concatenate([_f32(self.w[f"{name}.weight"]) for name in names]),
            np.concatenate([_f32(self.w[f"{name}.bias"]) for name in names]),
        )
        split_heads = self.const("split_heads", _ints(0, 0, 3 * heads, head_dim))
        by_head = self.op("Transpose", [self.op("Reshape", [stacked, split_heads])], perm=[0, 2, 1, 3])
        query, key, value = self.ops("Split", [by_head], 3, axis=1, num_outputs=3)
        key_t = self.op("Transpose", [key], perm=[0, 1, 3, 2])
        scale = self.const("scale", _scalar(1.0 / math.sqrt(head_dim)))
        scores = self.op("Mul", [self.op("MatMul", [query, key_t]), scale])
        probs = self.op("Softmax", [self.op("Add", [scores, mask_bias])], axis=-1)
        context = self.op("Transpose", [self.op("MatMul", [probs, value])], perm=[0, 2, 1, 3])
        merge_heads = self.const("merge_heads", _ints(0, 0, self.config.hidden_size))
        return self.linear(self.op("Reshape", [context, merge_heads]), f"{prefix}.output.dense")

    def encoder_layer(self, x: str, mask_bias: str, index: int) -> str:
        prefix = f"encoder.layer.{index}"
        attended = self.attention(x, mask_bias, f"{prefix}.attention")
        x = self.layer_norm(self.op("Add", [attended, x]), f"{prefix}.attention.output.LayerNorm")
        hidden = self.gelu(self.linear(x, f"{prefix}.intermediate.dense"))
        out = self.linear(hidden, f"{prefix}.output.dense")
        return self.layer_norm(self.op("Add", [out, x]), f"{prefix}.output.LayerNorm")

    def mean_pool_normalise(self, hidden: str, mask: str) -> str:
        """The L2-normalised mean of the real tokens' states.

        Scaling does not change a normalised vector, so the masked sum ([batch, 1, seq] @ [batch, seq, hidden])
        is normalised directly instead of first being divided by the token count.
        """
        token_weights = self.op("Unsqueeze", [mask, self.const("axis1", _ints(1))])
        total = self.op("MatMul", [token_weights, hidden])
        norm = self.op("ReduceL2", [total, self.const("axis2", _ints(2))], keepdims=1)
        unit = self.op("Div", [total, self.op("Max", [norm, self.const("norm_floor", _scalar(1e-12))])])
        return self.op("Reshape", [unit, self.const("rows", _ints(0, self.config.hidden_size))])


def build_sentence_encoder(weights: Weights, config: BertConfig, precision: WeightPrecision = "int8") -> bytes:
    """The serialized ONNX model of a mean-pooled, L2-normalised BERT sentence encoder."""
    g = _EncoderGraph(weights, config, precision)
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    # Additive attention bias, [batch, 1, 1, seq]: 0 for real tokens, a large negative number for padding.
    padding = g.op("Sub", [g.const("one", _scalar(1.0)), mask])
    fill = g.op("Mul", [padding, g.const("mask_fill", _scalar(_MASK_FILL))])
    mask_bias = g.op("Unsqueeze", [fill, g.const("axes12", _ints(1, 2))])
    hidden = g.embeddings("input_ids")
    for index in range(config.num_hidden_layers):
        hidden = g.encoder_layer(hidden, mask_bias, index)
    pooled = g.mean_pool_normalise(hidden, mask)
    g.nodes.append(helper.make_node("Identity", [pooled], ["sentence_embedding"]))
    graph = helper.make_graph(
        g.nodes,
        "sentence_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", config.hidden_size])],
        initializer=g.initializers,
    )
    opsets = [helper.make_opsetid("", _OPSET), helper.make_opsetid(MICROSOFT_DOMAIN, 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="homily")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())
