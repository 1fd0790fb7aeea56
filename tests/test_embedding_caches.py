"""On-disk caches of evaluation and training embeddings never hand out vectors of another graph."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from homily.embeddings import offline_cache
from homily.embeddings.local import MODEL_NAME, graph_tag
from homily.embeddings.offline_cache import embed_cached
from homily.embeddings.protocol import Vectors
from homily.grounding.embedder import cached_embeddings


class ConstantEmbedder:
    """Embeds every text as the same vector; `cache_tag` names the 'graph' like a local embedder does."""

    model_name = MODEL_NAME
    dimension = 4

    def __init__(self, value: float, cache_tag: str) -> None:
        self.value = value
        self.cache_tag = cache_tag
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        return np.full((len(texts), self.dimension), self.value, dtype=np.float32)


def test_graph_tags_name_precision_and_builder() -> None:
    assert graph_tag() == graph_tag("int8")
    assert graph_tag("int8") != graph_tag("float32")
    assert graph_tag().startswith(MODEL_NAME)


def test_retrieval_cache_keeps_graphs_apart(tmp_path: Path) -> None:
    texts = ["grace", "mercy"]
    exact = ConstantEmbedder(1.0, graph_tag("float32"))
    quantised = ConstantEmbedder(2.0, graph_tag("int8"))
    assert np.all(cached_embeddings(exact, texts, tmp_path, "q") == 1.0)
    assert np.all(cached_embeddings(quantised, texts, tmp_path, "q") == 2.0)  # not the float32 file
    again = ConstantEmbedder(1.0, graph_tag("float32"))
    assert np.all(cached_embeddings(again, texts, tmp_path, "q") == 1.0)
    assert again.calls == 0  # the same graph's vectors are reused


def test_router_cache_file_names_the_default_graph(tmp_path: Path) -> None:
    embedder = ConstantEmbedder(3.0, graph_tag())
    vectors = embed_cached(["hello"], tmp_path, lambda: embedder)
    assert np.all(vectors == 3.0)
    assert [path.name for path in tmp_path.iterdir()] == [f"embeddings-{graph_tag()}.npz"]
    again = ConstantEmbedder(9.0, graph_tag())
    assert np.all(embed_cached(["hello"], tmp_path, lambda: again) == 3.0)
    assert again.calls == 0


class LengthEmbedder(ConstantEmbedder):
    """Embeds a text as its length, so order is checkable."""

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        return np.array([[float(len(text))] * self.dimension for text in texts], dtype=np.float32)


def test_a_long_first_run_says_how_far_it_got(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(offline_cache, "PROGRESS_SECONDS", 0.0)
    texts = ["x" * (i % 50 + 1) + str(i) for i in range(600)]
    embedder = LengthEmbedder(0.0, graph_tag())
    vectors = embed_cached(texts, tmp_path, lambda: embedder)
    assert [row[0] for row in vectors] == [float(len(text)) for text in texts]
    assert embedder.calls == 3  # batches of 256
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("embedding texts: 256 of 600 (43%), about ")
    assert lines[1].startswith("embedding texts: 512 of 600")
