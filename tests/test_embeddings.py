"""The local all-MiniLM-L6-v2 embedder and the async batching front, against the real model."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest

from homily.embeddings import BatchingEmbedder, Embedder, OnnxSentenceEmbedder, Vectors, load_local_embedder
from homily.embeddings.local import cached_graph_path, default_model_dir
from homily.embeddings.onnx_graph import build_sentence_encoder, int8_blocks
from homily.embeddings.weights import BertConfig, WeightPrecision

TEXTS = [
    "How do I forgive someone who hurt me deeply?",
    "Grace and peace to you from God our Father and the Lord Jesus Christ.",
    "",
    "What time does the Sunday service start?",
    "In the beginning was the Word, and the Word was with God, and the Word was God. " * 12,
    "Καλημέρα κόσμε — 你好世界 — naïve café",
]

REAL_TEXT = [
    "How do I forgive someone who hurt me deeply?",
    "What time does the Sunday service start, and is there parking near the church?",
    "Compose an engaging travel blog post about a recent trip to Hawaii, highlighting cultural experiences.",
    "Explain the difference between justification and sanctification in simple terms.",
    "Can you suggest a prayer for a friend who is going through chemotherapy?",
    "Write a short reflection on Psalm 23 for a youth group meeting.",
    "Grace and peace to you from God our Father and the Lord Jesus Christ.",
    "In the beginning was the Word, and the Word was with God, and the Word was God.",
    "Great art Thou, O Lord, and greatly to be praised; great is Thy power, and of Thy wisdom there is no end. "
    "And man, being a part of Thy creation, desires to praise Thee, man, who bears about with him his mortality.",
    "The committee will review the budget for the parish hall renovation at next month's meeting.",
    "Summarise the main argument of Augustine's Confessions, Book One, in three sentences.",
    "Is it wrong to feel angry at God after losing a parent?",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def embedder(cache_dir: Path) -> OnnxSentenceEmbedder:
    return load_local_embedder(cache_dir)


def _cosines(a: Vectors, b: Vectors) -> Vectors:
    return np.asarray(np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))


@pytest.fixture(scope="module")
def float32_embedder(tmp_path_factory: pytest.TempPathFactory) -> OnnxSentenceEmbedder:
    return load_local_embedder(tmp_path_factory.mktemp("float32-models"), precision="float32")


def test_float32_graph_matches_sentence_transformers(
    float32_embedder: OnnxSentenceEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentence_transformers = pytest.importorskip("sentence_transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reference = sentence_transformers.SentenceTransformer(str(default_model_dir()), device="cpu")
    expected = np.asarray(reference.encode(TEXTS, normalize_embeddings=True), dtype=np.float32)
    got = float32_embedder.embed(TEXTS)
    assert got.shape == expected.shape
    assert np.all(_cosines(got, expected) > 1 - 1e-4)
    assert np.abs(got - expected).max() < 1e-4


def test_int8_graph_stays_close_to_float32(
    embedder: OnnxSentenceEmbedder, float32_embedder: OnnxSentenceEmbedder
) -> None:
    exact = float32_embedder.embed(TEXTS)
    quantised = embedder.embed(TEXTS)
    cosines = _cosines(quantised, exact)
    assert np.all(cosines > 0.997), cosines
    assert float(np.mean(cosines)) > 0.999
    assert not np.allclose(quantised, exact, atol=1e-6), "the default graph should hold int8 weights"


def test_int8_graph_is_within_cosine_0_9995_of_float32_on_real_text(
    embedder: OnnxSentenceEmbedder, float32_embedder: OnnxSentenceEmbedder
) -> None:
    cosines = _cosines(embedder.embed(REAL_TEXT), float32_embedder.embed(REAL_TEXT))
    assert float(cosines.min()) >= 0.9995, cosines


@pytest.mark.parametrize("fixture", ["embedder", "float32_embedder"])
def test_padded_mixed_length_batch_matches_single_calls(request: pytest.FixtureRequest, fixture: str) -> None:
    # One model call: the short texts are padded to the longest one's length and must not notice.
    local: OnnxSentenceEmbedder = request.getfixturevalue(fixture)
    texts = [*REAL_TEXT, TEXTS[4]]
    together = local.embed(texts)
    one_by_one = np.vstack([local.embed([text]) for text in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def _tiny_bert(layers: int = 2, hidden: int = 64, heads: int = 2) -> tuple[dict[str, Vectors], BertConfig]:
    rng = np.random.default_rng(3)
    config = BertConfig(
        hidden_size=hidden,
        num_attention_heads=heads,
        num_hidden_layers=layers,
        intermediate_size=4 * hidden,
        layer_norm_eps=1e-12,
        max_position_embeddings=32,
    )
    shapes = {
        "embeddings.word_embeddings.weight": (50, hidden),
        "embeddings.position_embeddings.weight": (32, hidden),
        "embeddings.token_type_embeddings.weight": (2, hidden),
        "embeddings.LayerNorm.weight": (hidden,),
        "embeddings.LayerNorm.bias": (hidden,),
    }
    for index in range(layers):
        prefix = f"encoder.layer.{index}"
        linears = {
            "attention.self.query": (hidden, hidden),
            "attention.self.key": (hidden, hidden),
            "attention.self.value": (hidden, hidden),
            "attention.output.dense": (hidden, hidden),
            "intermediate.dense": (4 * hidden, hidden),
            "output.dense": (hidden, 4 * hidden),
        }
        for name, shape in linears.items():
            shapes[f"{prefix}.{name}.weight"] = shape
            shapes[f"{prefix}.{name}.bias"] = shape[:1]
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[f"{prefix}.{norm}.weight"] = (hidden,)
            shapes[f"{prefix}.{norm}.bias"] = (hidden,)
    weights = {name: rng.normal(scale=0.1, size=shape).astype(np.float32) for name, shape in shapes.items()}
    return weights, config


@pytest.mark.parametrize(("precision", "linear_op"), [("int8", "MatMulNBits"), ("float32", "MatMul")])
def test_graph_projects_query_key_and_value_with_one_linear_per_layer(
    precision: WeightPrecision, linear_op: str
) -> None:
    weights, config = _tiny_bert(layers=3)
    model = onnx.load_from_string(build_sentence_encoder(weights, config, precision))
    weight_names = {tensor.name for tensor in model.graph.initializer}
    linears = [n for n in model.graph.node if n.op_type == linear_op and n.input[1] in weight_names]
    # Stacked query/key/value, attention output, and the two feed-forward layers.
    assert len(linears) == 4 * config.num_hidden_layers
    assert sum(n.op_type == "Split" for n in model.graph.node) == config.num_hidden_layers


def test_int8_blocks_round_trip_within_half_a_step() -> None:
    rng = np.random.default_rng(7)
    weight = rng.normal(size=(6, 64)).astype(np.float32)
    weight[0, :32] = 0.0  # an all-zero block keeps a usable scale
    codes, scales = int8_blocks(weight)
    assert codes.shape == (6, 2, 32)
    assert codes.dtype == np.uint8
    assert scales.shape == (12,)
    restored = (codes.astype(np.float32) - 128.0) * scales.reshape(6, 2, 1)
    step = np.repeat(scales.reshape(6, 2), 32, axis=1)
    assert np.all(np.abs(restored.reshape(6, 64) - weight) <= step / 2 + 1e-7)
    assert np.all(restored[0, 0] == 0.0)


def test_satisfies_protocol_and_rows_are_unit_float32(embedder: OnnxSentenceEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.model_name == "all-MiniLM-L6-v2"
    assert embedder.dimension == 384
    vectors = embedder.embed(TEXTS)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_meaning_is_captured(embedder: OnnxSentenceEmbedder) -> None:
    query, paraphrase, unrelated = embedder.embed(
        [
            "How should I pray?",
            "What is the right way to pray to God?",
            "The stock market fell sharply today.",
        ]
    )
    assert float(query @ paraphrase) > float(query @ unrelated) + 0.3


def test_batched_rows_keep_input_order(cache_dir: Path) -> None:
    # Tiny batch limits force the length-sorted input to be split over many model calls.
    small_batches = load_local_embedder(cache_dir, max_batch_tokens=256, max_batch_texts=3)
    texts = [f"{'very ' * (i * 7 % 23)}text number {i}" for i in range(20)] + TEXTS
    together = small_batches.embed(texts)
    one_by_one = np.vstack([small_batches.embed([text]) for text in texts])
    np.testing.assert_allclose(together, one_by_one, atol=2e-5)
    assert len({row.tobytes() for row in together}) == len(texts)


def test_empty_inputs(embedder: OnnxSentenceEmbedder) -> None:
    none = embedder.embed([])
    assert none.shape == (0, 384)
    assert none.dtype == np.float32
    (blank,) = embedder.embed([""])
    assert abs(float(np.linalg.norm(blank)) - 1.0) < 1e-5


def test_long_input_is_truncated_to_256_tokens(embedder: OnnxSentenceEmbedder) -> None:
    long_text = "word " * 5000
    (ids,) = embedder.token_ids([long_text])
    assert len(ids) == 256
    # [CLS] + 254 pieces + [SEP]: everything past word 254 is cut, exactly as sentence-transformers does.
    long_vector, cut_vector, shorter_vector = embedder.embed([long_text, "word " * 254, "word " * 100])
    np.testing.assert_allclose(long_vector, cut_vector, atol=1e-5)
    assert not np.allclose(long_vector, shorter_vector, atol=1e-5)


def test_building_a_graph_removes_stale_ones_but_keeps_the_other_precision(tmp_path: Path) -> None:
    stale = tmp_path / "all-MiniLM-L6-v2-0123456789abcdef.onnx"  # an older builder's file name
    stale.write_bytes(b"old graph")
    other_precision = cached_graph_path(default_model_dir(), tmp_path, "float32")
    other_precision.write_bytes(b"kept")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("not a graph")
    load_local_embedder(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [cached_graph_path(default_model_dir(), tmp_path).name, other_precision.name, "notes.txt"]
    )


def test_graph_is_cached_and_reused(cache_dir: Path, embedder: OnnxSentenceEmbedder) -> None:
    cached = cached_graph_path(default_model_dir(), cache_dir)
    assert cached.is_file()
    built_at = cached.stat().st_mtime_ns
    again = load_local_embedder(cache_dir)
    assert cached.stat().st_mtime_ns == built_at
    assert [p.name for p in cache_dir.iterdir()] == [cached.name]  # no temp files left behind
    np.testing.assert_array_equal(again.embed(TEXTS[:2]), embedder.embed(TEXTS[:2]))


class RecordingEmbedder:
    """Wraps a real embedder and records each call's batch, thread, and whether calls ever overlapped."""

    def __init__(self, inner: Embedder, fail_on: str | None = None) -> None:
        self.model_name = inner.model_name
        self.dimension = inner.dimension
        self.inner = inner
        self.fail_on = fail_on
        self.batches: list[list[str]] = []
        self.threads: set[int] = set()
        self.overlapped = False
        self._busy = threading.Lock()
        self.release = threading.Event()
        self.release.set()

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not self._busy.acquire(blocking=False):
            self.overlapped = True
            self._busy.acquire()
        try:
            self.release.wait()
            self.threads.add(threading.get_ident())
            self.batches.append(list(texts))
            if self.fail_on is not None and self.fail_on in texts:
                raise ValueError(f"refusing {self.fail_on!r}")
            return self.inner.embed(texts)
        finally:
            self._busy.release()


@pytest.fixture
def recording(embedder: OnnxSentenceEmbedder) -> RecordingEmbedder:
    return RecordingEmbedder(embedder)


def test_batcher_coalesces_concurrent_queries_on_one_worker_thread(
    recording: RecordingEmbedder, embedder: OnnxSentenceEmbedder
) -> None:
    texts = [f"question number {i} about {TEXTS[i % len(TEXTS)][:40]}" for i in range(70)]

    async def run() -> tuple[list[Vectors], int]:
        batcher = BatchingEmbedder(recording, max_batch=16)
        loop_thread = threading.get_ident()
        recording.release.clear()  # hold the first batch so the rest queue up behind it
        tasks = [asyncio.create_task(batcher.embed_one(text)) for text in texts]
        await asyncio.sleep(0)
        recording.release.set()
        vectors = await asyncio.gather(*tasks)
        await batcher.close()
        return vectors, loop_thread

    vectors, loop_thread = asyncio.run(run())
    np.testing.assert_allclose(np.vstack(vectors), embedder.embed(texts), atol=2e-5)
    assert all(v.shape == (384,) for v in vectors)
    assert loop_thread not in recording.threads
    assert len(recording.threads) == 1
    assert not recording.overlapped
    assert all(len(batch) <= 16 for batch in recording.batches)
    assert len(recording.batches) == 5  # 70 queued texts in batches of at most 16
    assert [t for batch in recording.batches for t in batch] == texts


def test_embed_many_interleaves_with_queries(recording: RecordingEmbedder) -> None:
    bulk = [f"passage {i} of a long ingest" for i in range(40)]

    async def run() -> tuple[Vectors, Vectors]:
        async with BatchingEmbedder(recording, max_batch=8) as batcher:
            many = asyncio.create_task(batcher.embed_many(bulk))
            await asyncio.sleep(0)
            one = await batcher.embed_one("a live query")
            return await many, one

    many_vectors, one_vector = asyncio.run(run())
    assert many_vectors.shape == (40, 384)
    np.testing.assert_allclose(many_vectors, recording.inner.embed(bulk), atol=2e-5)
    np.testing.assert_allclose(one_vector, recording.inner.embed(["a live query"])[0], atol=2e-5)
    query_batch = next(i for i, b in enumerate(recording.batches) if "a live query" in b)
    last_bulk_batch = max(i for i, b in enumerate(recording.batches) if bulk[-1] in b)
    assert query_batch < last_bulk_batch


def test_batcher_reports_failures_to_that_batch_only(embedder: OnnxSentenceEmbedder) -> None:
    failing = RecordingEmbedder(embedder, fail_on="poison")

    async def run() -> tuple[list[Vectors | BaseException], Vectors]:
        async with BatchingEmbedder(failing, max_batch=4) as batcher:
            failing.release.clear()
            first = asyncio.create_task(batcher.embed_one("first"))
            await asyncio.sleep(0)
            rest = [asyncio.create_task(batcher.embed_one(t)) for t in ("a", "poison", "b")]
            failing.release.set()
            await first
            outcomes = await asyncio.gather(*rest, return_exceptions=True)
            after = await batcher.embed_one("still works")
            return outcomes, after

    outcomes, after = asyncio.run(run())
    assert all(isinstance(outcome, ValueError) for outcome in outcomes)
    assert after.shape == (384,)


def test_cancelled_caller_does_not_disturb_others(recording: RecordingEmbedder) -> None:
    async def run() -> Vectors:
        async with BatchingEmbedder(recording, max_batch=8) as batcher:
            recording.release.clear()
            blocker = asyncio.create_task(batcher.embed_one("blocker"))
            await asyncio.sleep(0)
            doomed = asyncio.create_task(batcher.embed_one("doomed"))
            survivor = asyncio.create_task(batcher.embed_one("survivor"))
            await asyncio.sleep(0)
            doomed.cancel()
            recording.release.set()
            await blocker
            with pytest.raises(asyncio.CancelledError):
                await doomed
            return await survivor

    survivor = asyncio.run(run())
    assert survivor.shape == (384,)
    assert all("doomed" not in batch for batch in recording.batches)


def test_close_answers_queued_work_then_refuses(recording: RecordingEmbedder) -> None:
    async def run() -> list[Vectors]:
        batcher = BatchingEmbedder(recording, max_batch=2)
        recording.release.clear()
        tasks = [asyncio.create_task(batcher.embed_one(f"queued {i}")) for i in range(5)]
        await asyncio.sleep(0)
        recording.release.set()
        await batcher.close()
        assert all(task.done() for task in tasks)
        with pytest.raises(RuntimeError, match="closed"):
            await batcher.embed_one("too late")
        await batcher.close()  # idempotent
        return [task.result() for task in tasks]

    results = asyncio.run(run())
    assert len(results) == 5
    assert not any(t.name.startswith("homily-embed") for t in threading.enumerate())


def test_batcher_embed_many_of_nothing(recording: RecordingEmbedder) -> None:
    async def run() -> Vectors:
        async with BatchingEmbedder(recording) as batcher:
            return await batcher.embed_many([])

    assert asyncio.run(run()).shape == (0, 384)
    assert recording.batches == []
