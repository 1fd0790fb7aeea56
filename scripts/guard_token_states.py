"""MiniLM token states for the guard's intent experiment (training only; see `guard_attention.py`).

The sentence encoder of `homily.embeddings.onnx_graph` is built as the service builds it, with its optional
`token_states` output (`with_token_states`: the last encoder layer's per-token states, what mean pooling
averages). Texts are tokenised exactly like the shared embedder (same tokenizer, same truncation), so
the states are those the request path would have. Results are cached on disk (NumPy, no pickle), keyed by text.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from homily.embeddings.local import DEFAULT_MAX_TOKENS, default_model_dir
from homily.embeddings.onnx_graph import build_sentence_encoder, with_token_states
from homily.embeddings.weights import BertConfig, read_safetensors

TokenStates = list[npt.NDArray[np.float16]]
"""One (tokens, 384) array per text, [CLS] and [SEP] included."""


def encoder_with_token_states(model_dir: Path) -> bytes:
    """The shared sentence encoder graph plus its `token_states` output ([batch, sequence, hidden])."""
    config = BertConfig.from_file(model_dir / "config.json")
    return with_token_states(build_sentence_encoder(read_safetensors(model_dir / "model.safetensors"), config))


class TokenStateEncoder:
    """texts -> (sentence embeddings, token states), batched by length on one ONNX Runtime thread."""

    def __init__(
        self,
        cache_dir: Path,
        model_dir: Path | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        graph: bytes | None = None,
    ) -> None:
        """`graph`: an encoder graph that already has the `token_states` output (e.g. the int8 one); by default
        this tree's float32 encoder is built."""
        import onnxruntime  # type: ignore[import-untyped]

        source = model_dir or default_model_dir()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
        self._session = onnxruntime.InferenceSession(
            graph or encoder_with_token_states(source), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.no_padding()
        self._cache_dir = cache_dir

    def _run(self, ids: list[list[int]]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        width = max(len(row) for row in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, pieces in enumerate(ids):
            input_ids[row, : len(pieces)] = pieces
            mask[row, : len(pieces)] = 1
        sentence, states = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})
        return np.asarray(sentence, dtype=np.float32), np.asarray(states, dtype=np.float32)

    def _compute(self, texts: Sequence[str]) -> tuple[npt.NDArray[np.float32], TokenStates]:
        ids = [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda index: len(ids[index]))
        embeddings = np.zeros((len(texts), 384), dtype=np.float32)
        states: list[npt.NDArray[np.float16]] = [np.zeros((0, 384), np.float16)] * len(texts)
        for start in range(0, len(order), 32):
            chunk = order[start : start + 32]
            sentence, hidden = self._run([ids[index] for index in chunk])
            for row, index in enumerate(chunk):
                embeddings[index] = sentence[row]
                states[index] = hidden[row, : len(ids[index])].astype(np.float16)
        return embeddings, states

    def __call__(self, texts: Sequence[str]) -> tuple[npt.NDArray[np.float32], TokenStates]:
        """Embeddings and token states of `texts`, from the cache when these texts were encoded before."""
        digest = hashlib.sha256("\x1e".join(texts).encode("utf-8")).hexdigest()[:24]
        path = self._cache_dir / f"states-{digest}.npz"
        if path.exists():
            with np.load(path, allow_pickle=False) as archive:
                flat, offsets, embeddings = archive["flat"], archive["offsets"], archive["embeddings"]
            return embeddings, [flat[offsets[i] : offsets[i + 1]] for i in range(len(texts))]
        embeddings, states = self._compute(texts)
        offsets = np.cumsum([0] + [len(item) for item in states])
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        np.savez(path, flat=np.concatenate(states), offsets=offsets, embeddings=embeddings)
        return embeddings, states


def encoder_for(work: Path, graph: Path | None = None) -> TokenStateEncoder:
    """Float32 states cached in `work/states`, or those of `graph` (e.g. int8) cached beside it."""
    if graph is None:
        return TokenStateEncoder(work / "states")
    return TokenStateEncoder(graph.parent / f"states-{graph.stem}", graph=graph.read_bytes())
