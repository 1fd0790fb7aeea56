"""The neighbour graph of large publishers and the keyword query plan chosen by publisher share."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from homily.grounding.dense import DenseShard
from homily.grounding.embedder import FloatMatrix
from homily.grounding.fusion import RetrievalParams
from homily.grounding.index import ChunkIndex, ChunkRecord

DIMENSION = 384


def _unit_rows(count: int, seed: int) -> FloatMatrix:
    rows = np.random.default_rng(seed).normal(size=(count, DIMENSION)).astype(np.float32)
    unit: FloatMatrix = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return unit


def _built_shard(count: int = 3000, threshold: int = 500) -> tuple[DenseShard, FloatMatrix]:
    shard = DenseShard(DIMENSION, graph_threshold=threshold)
    vectors = _unit_rows(count, seed=1)
    shard.add(list(range(1, count + 1)), vectors)
    while shard.extend_graph(700):
        pass
    return shard, vectors


def test_small_shards_never_build_a_graph() -> None:
    shard = DenseShard(DIMENSION, graph_threshold=500)
    shard.add(list(range(1, 100)), _unit_rows(99, seed=2))
    assert shard.extend_graph(1000) == 0
    assert shard.graph is None


def test_graph_search_agrees_with_the_exact_scan_and_scores_exactly() -> None:
    shard, vectors = _built_shard()
    assert shard.graph_current
    queries = _unit_rows(30, seed=3)
    overlaps = []
    for query in queries:
        exact_ids, _ = shard.exact_search(query, 10)
        graph_ids, graph_scores = shard.search(query, 10)
        overlaps.append(len(set(exact_ids.tolist()) & set(graph_ids.tolist())) / 10)
        # Scores come from the exact matrix, whatever proposed the rows.
        np.testing.assert_allclose(graph_scores, vectors[graph_ids - 1] @ query, rtol=1e-5)
        assert list(graph_scores) == sorted(graph_scores, reverse=True)
    assert float(np.mean(overlaps)) >= 0.95


def test_rows_added_after_the_build_are_found_before_the_graph_catches_up() -> None:
    shard, _ = _built_shard()
    fresh = _unit_rows(1, seed=4)
    shard.add([99_999], fresh)
    assert not shard.graph_current
    assert shard.search(fresh[0], 1)[0].tolist() == [99_999]
    while shard.extend_graph(700):
        pass
    assert shard.graph_current
    assert shard.search(fresh[0], 1)[0].tolist() == [99_999]


def test_deleted_and_replaced_rows_are_never_proposed() -> None:
    shard, vectors = _built_shard()
    shard.remove([5])
    assert 5 not in shard.search(vectors[4], 10)[0].tolist()
    replacement = _unit_rows(1, seed=5)
    shard.add([7], replacement)
    while shard.extend_graph(700):
        pass
    ids, scores = shard.search(replacement[0], 3)
    assert ids[0] == 7
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    old_ids, old_scores = shard.search(vectors[6], 10)
    assert 7 not in old_ids.tolist()  # row 7 now holds an unrelated vector
    assert old_scores[0] < 0.99


def test_compaction_keeps_the_graph_consistent() -> None:
    shard, vectors = _built_shard()
    doomed = list(range(1, 2001))
    shard.remove(doomed)
    assert shard.dead == 0  # compacted: dead rows outnumbered live ones
    assert shard.graph_current
    for row in (2100, 2500, 2999):
        assert shard.search(vectors[row - 1], 1)[0].tolist() == [row]
    assert not set(shard.search(vectors[0], 50)[0].tolist()) & set(doomed)


@pytest.fixture
def shared_index(tmp_path: Path) -> Iterator[ChunkIndex]:
    index = ChunkIndex.open(tmp_path / "chunks.db")
    words = ("grace", "mercy", "psalm", "covenant", "sabbath", "prophet")
    records = []
    for n in range(300):
        publisher = "big" if n % 10 else "small"
        text = f"{words[n % 6]} {words[(n * 7) % 6]} passage number {n}"
        records.append(ChunkRecord(f"c{n}", f"i{n}", publisher, 0, "", (), text, 0, len(text), 5, "h", None, None))
    index.add(records)
    yield index
    index.close()


def test_keyword_plans_agree_and_never_cross_publishers(shared_index: ChunkIndex) -> None:
    always_scoped = RetrievalParams(unscoped_keyword_share=1.01)
    never_scoped = RetrievalParams(unscoped_keyword_share=0.0, keyword_candidates=20)
    for publisher in ("big", "small"):
        for query in ("grace", "mercy psalm", "covenant prophet sabbath"):
            scoped = shared_index.keyword_candidates(query, publisher, always_scoped)
            unscoped = shared_index.keyword_candidates(query, publisher, never_scoped)
            assert [rowid for rowid, _ in unscoped] == [rowid for rowid, _ in scoped][:20]
    small_rows = {rowid for rowid, _ in shared_index.keyword_candidates("grace", "small", always_scoped)}
    big_rows = {rowid for rowid, _ in shared_index.keyword_candidates("grace", "big", never_scoped)}
    assert small_rows
    assert big_rows
    assert not small_rows & big_rows


def test_index_graph_upkeep_reports_progress_and_completion(tmp_path: Path) -> None:
    index = ChunkIndex.open(tmp_path / "graph.db", graph_threshold=200)
    vectors = _unit_rows(600, seed=6)
    index.add(
        [
            ChunkRecord(f"c{n}", f"i{n}", "big", 0, "", (), f"text {n}", 0, 6, 2, "h", None, vectors[n])
            for n in range(600)
        ]
    )
    assert not index.graphs_current()
    consumed = []
    while step := index.extend_graphs(256):
        consumed.append(step)
    assert consumed == [256, 256, 88]
    assert index.graphs_current()
    hits = index.search("", vectors[123], "big", params=RetrievalParams(keyword_candidates=0)).hits
    assert hits[0].item_id == "i123"
    index.close()


def test_vector_index_and_onnx_runtime_load_in_either_order() -> None:
    """usearch 2.25+ (numkong) segfaults when imported before onnxruntime; pyproject pins a version that
    does not. A fresh interpreter is needed: the order only matters on first import."""
    for first, second in (("usearch.index", "onnxruntime"), ("onnxruntime", "usearch.index")):
        script = f"import {first}, {second}; print('ok')"
        result = subprocess.run(
            [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, (first, second, result.stderr[-500:])
        assert result.stdout.strip() == "ok"


def _text_rows(start: int, count: int, publisher: str = "big") -> list[ChunkRecord]:
    return [
        ChunkRecord(f"s{n}", f"s{n}", publisher, 0, "", (), f"grace note {n}", 0, 12, 3, "h", None, None)
        for n in range(start, start + count)
    ]


def test_planning_statistics_survive_small_writes_and_refresh_after_large_ones(tmp_path: Path) -> None:
    index = ChunkIndex.open(tmp_path / "chunks.db")
    index.add(_text_rows(0, 3000))
    index.keyword_candidates("grace note", "big")  # gathers totals and term counts
    assert index._publisher_total("big") == 3000
    index.add(_text_rows(3000, 100))  # an ingestion batch: the query plan keeps its statistics
    assert index._chunk_totals["big"] == 3000
    index.delete_items(["s0", "s1"])
    assert index._term_counts
    index.add(_text_rows(3100, 450))  # 552 rows changed since they were gathered: over the slack of 500
    assert not index._term_counts
    assert index._publisher_total("big") == 3548
    index.close()
