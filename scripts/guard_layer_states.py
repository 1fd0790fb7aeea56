"""guard8: MiniLM's encoder layers as torch modules, and the layer-k token states of every guard text (cached).

The guard8 experiment fine-tunes a guard-specific copy of MiniLM's last transformer layer(s) on top of the
states the shared encoder already computes. Here the checkpoint (the same safetensors file the ONNX encoder of
`homily.embeddings.onnx_graph` is built from) is loaded into plain torch modules: `embed` runs the embeddings and
the first k layers once for every text (cached on disk as NumPy, no pickle), and `BertLayer.from_weights` gives a
trainable copy of a later layer, initialised from MiniLM's weights. Texts are tokenised like the shared embedder
(same tokenizer, same truncation). Run against guard6's tree (60918b5), see `guard_layer_cv.py`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from tokenizers import Tokenizer

from homily.embeddings.local import DEFAULT_MAX_TOKENS, default_model_dir
from homily.embeddings.weights import BertConfig, read_safetensors

Weights = dict[str, npt.NDArray[Any]]
TokenStates = list[npt.NDArray[np.float16]]


def _linear(weights: Weights, prefix: str) -> torch.nn.Linear:
    weight = torch.from_numpy(np.array(weights[f"{prefix}.weight"], dtype=np.float32))
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(torch.from_numpy(np.array(weights[f"{prefix}.bias"], dtype=np.float32)))
    return layer


def _norm(weights: Weights, prefix: str, eps: float) -> torch.nn.LayerNorm:
    norm = torch.nn.LayerNorm(weights[f"{prefix}.weight"].shape[0], eps=eps)
    with torch.no_grad():
        norm.weight.copy_(torch.from_numpy(np.array(weights[f"{prefix}.weight"], dtype=np.float32)))
        norm.bias.copy_(torch.from_numpy(np.array(weights[f"{prefix}.bias"], dtype=np.float32)))
    return norm


class BertLayer(torch.nn.Module):
    """One post-norm BERT encoder layer (self-attention + GELU feed-forward), as `onnx_graph.encoder_layer`."""

    def __init__(self, weights: Weights, index: int, config: BertConfig, dropout: float = 0.1) -> None:
        super().__init__()
        prefix = f"encoder.layer.{index}"
        self.heads = config.num_attention_heads
        self.query = _linear(weights, f"{prefix}.attention.self.query")
        self.key = _linear(weights, f"{prefix}.attention.self.key")
        self.value = _linear(weights, f"{prefix}.attention.self.value")
        self.attention_out = _linear(weights, f"{prefix}.attention.output.dense")
        self.attention_norm = _norm(weights, f"{prefix}.attention.output.LayerNorm", config.layer_norm_eps)
        self.intermediate = _linear(weights, f"{prefix}.intermediate.dense")
        self.output = _linear(weights, f"{prefix}.output.dense")
        self.output_norm = _norm(weights, f"{prefix}.output.LayerNorm", config.layer_norm_eps)
        self.dropout = torch.nn.Dropout(dropout)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, hidden = x.shape
        return x.view(batch, tokens, self.heads, hidden // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x [B, T, H], mask [B, T] bool (True for real tokens)."""
        queries, keys, values = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        scores = queries @ keys.transpose(-1, -2) / math.sqrt(queries.shape[-1])
        scores = scores.masked_fill(~mask[:, None, None, :], -1e9)
        weights = self.dropout(torch.softmax(scores, dim=-1))
        context = (weights @ values).transpose(1, 2).reshape(x.shape)
        x = self.attention_norm(x + self.dropout(self.attention_out(context)))
        hidden = torch.nn.functional.gelu(self.intermediate(x))
        return self.output_norm(x + self.dropout(self.output(hidden)))  # type: ignore[no-any-return]


class MiniLM:
    """The checkpoint's embeddings and layers (inference), and trainable copies of its top layers."""

    def __init__(self, model_dir: Path | None = None, max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        source = model_dir or default_model_dir()
        self.config = BertConfig.from_file(source / "config.json")
        self.weights = read_safetensors(source / "model.safetensors")
        self.tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.no_padding()

    def layers(self, indices: Sequence[int], dropout: float = 0.1) -> torch.nn.ModuleList:
        return torch.nn.ModuleList([BertLayer(self.weights, index, self.config, dropout) for index in indices])

    def _embeddings(self, ids: torch.Tensor) -> torch.Tensor:
        words = torch.from_numpy(np.array(self.weights["embeddings.word_embeddings.weight"], dtype=np.float32))
        positions = np.array(self.weights["embeddings.position_embeddings.weight"], dtype=np.float32)
        token_type = np.array(self.weights["embeddings.token_type_embeddings.weight"], dtype=np.float32)[0]
        summed = words[ids] + torch.from_numpy(positions[: ids.shape[1]] + token_type)
        norm = _norm(self.weights, "embeddings.LayerNorm", self.config.layer_norm_eps)
        return norm(summed)  # type: ignore[no-any-return]

    def states(self, texts: Sequence[str], depth: int, batch: int = 32) -> TokenStates:
        """Each text's token states after the first `depth` encoder layers ([tokens, 384] float16)."""
        ids = [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda index: len(ids[index]))
        layers = self.layers(range(depth), dropout=0.0).eval()
        out: TokenStates = [np.zeros((0, 384), np.float16)] * len(texts)
        with torch.no_grad():
            for start in range(0, len(order), batch):
                chunk = order[start : start + batch]
                width = max(len(ids[index]) for index in chunk)
                input_ids = torch.zeros((len(chunk), width), dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.bool)
                for row, index in enumerate(chunk):
                    input_ids[row, : len(ids[index])] = torch.tensor(ids[index])
                    mask[row, : len(ids[index])] = True
                x = self._embeddings(input_ids)
                for layer in layers:
                    x = layer(x, mask)
                for row, index in enumerate(chunk):
                    out[index] = x[row, : len(ids[index])].numpy().astype(np.float16)
        return out


def cached_states(cache_dir: Path, texts: Sequence[str], depth: int, model: MiniLM | None = None) -> TokenStates:
    """`MiniLM.states` of `texts`, from `cache_dir` when these texts were encoded to this depth before."""
    digest = hashlib.sha256(("\x1e".join(texts) + f"\x1d{depth}").encode("utf-8")).hexdigest()[:24]
    path = cache_dir / f"layer{depth}-{digest}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as archive:
            flat, offsets = archive["flat"], archive["offsets"]
        return [flat[offsets[i] : offsets[i + 1]] for i in range(len(texts))]
    states = (model or MiniLM()).states(texts, depth)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(path, flat=np.concatenate(states), offsets=np.cumsum([0] + [len(item) for item in states]))
    return states
