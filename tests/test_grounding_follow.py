"""The embedded dense index follows chunks that other connections write to the same SQLite file (another process,
such as `homily ingest` while `homily serve` runs), through the trigger-filled `chunk_changes` log."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import numpy as np
import pytest

from homily.cli.main import main
from homily.grounding.embedder import FloatMatrix
from homily.grounding.fusion import RetrievalParams
from homily.grounding.index import ChunkIndex, ChunkRecord
from homily.grounding.schema import CHANGE_LOG_KEEP
from tests.support.live import make_settings, start_homily

PUBLISHER = "pub-1"
OTHER_PUBLISHER = "pub-2"
DENSE_ONLY = RetrievalParams(dense_weight=1.0, keyword_candidates=0)


def _unit(values: Sequence[float]) -> FloatMatrix:
    vector = np.zeros(384, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def _record(n: int, vector: FloatMatrix | None, publisher_id: str = PUBLISHER) -> ChunkRecord:
    return ChunkRecord(f"c{n}", f"item{n}", publisher_id, 0, f"T{n}", (), f"text {n}", 0, 6, 2, "h", None, vector)


def _dense(index: ChunkIndex, vector: FloatMatrix, publisher_id: str = PUBLISHER) -> list[tuple[str, float]]:
    hits = index.search("", vector, publisher_id, params=DENSE_ONLY).hits
    return [(hit.item_id, round(hit.similarity, 4)) for hit in hits]


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[ChunkIndex, ChunkIndex]]:
    """The server's index and another connection's (as another process would open it) on one database file."""
    path = tmp_path / "chunks.db"
    server = ChunkIndex.open(path)
    other = ChunkIndex.open(path)
    yield server, other
    other.close()
    server.close()


def test_chunks_another_connection_adds_are_found_by_meaning_without_reload(
    pair: tuple[ChunkIndex, ChunkIndex],
) -> None:
    server, other = pair
    server.add([_record(0, _unit([1, 0]))])
    assert _dense(server, _unit([0, 1])) == [("item0", 0.0)]
    other.add([_record(1, _unit([0, 1])), _record(2, _unit([0, 1, 1]), OTHER_PUBLISHER)])
    assert _dense(server, _unit([0, 1]))[0] == ("item1", 1.0)
    assert server.count(PUBLISHER) == 2
    assert server.count(OTHER_PUBLISHER) == 1
    assert _dense(server, _unit([0, 0, 1]), OTHER_PUBLISHER) == [("item2", 0.7071)]


def test_deletions_and_new_vectors_from_another_connection_reach_the_dense_search(
    pair: tuple[ChunkIndex, ChunkIndex],
) -> None:
    server, other = pair
    server.add([_record(n, _unit([1, n])) for n in range(4)])
    other.delete_items(["item3"])
    assert "item3" not in {item for item, _ in _dense(server, _unit([1, 3]))}
    assert server.count(PUBLISHER) == 3
    other.set_vectors(["c0"], _unit([0, 0, 1])[None, :])
    assert _dense(server, _unit([0, 0, 1]))[0] == ("item0", 1.0)
    other.add([_record(1, _unit([0, 0, 0, 1]))])  # the same chunk id written again: a new row replaces the old
    assert _dense(server, _unit([0, 0, 0, 1]))[0] == ("item1", 1.0)
    assert server.count(PUBLISHER) == 3
    other.add([_record(5, None)])  # keyword-indexed first, embedded later
    assert server.count(PUBLISHER) == 3
    other.set_vectors(["c5"], _unit([0, 0, 0, 0, 1])[None, :])
    assert _dense(server, _unit([0, 0, 0, 0, 1]))[0] == ("item5", 1.0)


def test_plain_sql_writes_of_any_process_are_followed(pair: tuple[ChunkIndex, ChunkIndex], tmp_path: Path) -> None:
    server, other = pair
    other.add([_record(n, _unit([1, n])) for n in range(3)])
    assert server.count(PUBLISHER) == 3
    raw = sqlite3.connect(str(tmp_path / "chunks.db"), isolation_level=None)
    raw.execute("UPDATE chunks SET publisher_id = ? WHERE chunk_id = 'c1'", (OTHER_PUBLISHER,))
    raw.execute("UPDATE chunks SET vector = NULL WHERE chunk_id = 'c2'")
    raw.close()
    assert server.count(PUBLISHER) == 1
    assert server.count(OTHER_PUBLISHER) == 1
    assert _dense(server, _unit([1, 1]), OTHER_PUBLISHER)[0][0] == "item1"
    assert {item for item, _ in _dense(server, _unit([1, 2]))} == {"item0"}


def test_own_writes_never_skip_a_change_another_connection_committed_before(
    pair: tuple[ChunkIndex, ChunkIndex],
) -> None:
    server, other = pair
    other.add([_record(1, _unit([0, 1]))])
    server.add([_record(2, _unit([0, 0, 1]))])  # no search in between: the write itself must catch up first
    other.add([_record(3, _unit([0, 0, 0, 1]))])
    server.delete_items(["item2"])
    assert _dense(server, _unit([0, 1]))[0] == ("item1", 1.0)
    assert _dense(server, _unit([0, 0, 0, 1]))[0] == ("item3", 1.0)
    assert server.count(PUBLISHER) == 2
    # The other index follows the server's writes the same way.
    assert {item for item, _ in _dense(other, _unit([0, 1]))} == {"item1", "item3"}


def test_an_index_behind_the_pruned_log_reloads(pair: tuple[ChunkIndex, ChunkIndex], tmp_path: Path) -> None:
    server, other = pair
    server.add([_record(0, _unit([1]))])
    other.add([_record(1, _unit([0, 1]))])
    raw = sqlite3.connect(str(tmp_path / "chunks.db"), isolation_level=None)
    raw.execute("DELETE FROM chunk_changes")  # as pruning would, before the server read the entry
    raw.close()
    other.add([_record(2, _unit([0, 0, 1]))])
    assert _dense(server, _unit([0, 1]))[0] == ("item1", 1.0)
    assert _dense(server, _unit([0, 0, 1]))[0] == ("item2", 1.0)
    assert server.count(PUBLISHER) == 3


def test_the_change_log_stays_bounded(tmp_path: Path) -> None:
    index = ChunkIndex.open(tmp_path / "chunks.db")
    total = CHANGE_LOG_KEEP + 3000
    index.add([_record(n, _unit([1, n])) for n in range(total)])
    kept, oldest = index._db.execute("SELECT count(*), min(seq) FROM chunk_changes").fetchone()
    assert CHANGE_LOG_KEEP <= kept < CHANGE_LOG_KEEP + 1024
    assert oldest > total - CHANGE_LOG_KEEP - 1024
    index.close()


def test_a_running_server_finds_what_homily_ingest_added_by_meaning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HOMILY_DATABASE_URL", raising=False)
    data_dir = tmp_path / "data"
    live = start_homily(make_settings(data_dir))
    try:
        headers = {"Authorization": f"Bearer {live.token()}"}
        docs = tmp_path / "docs"
        docs.mkdir()
        (docs / "shepherd.txt").write_text(
            "The shepherd leads his flock of sheep to green pastures beside still waters, and carries the "
            "lambs close to his heart.",
            encoding="utf-8",
        )
        (docs / "ledger.txt").write_text(
            "Quarterly invoices, receipts and the parish treasurer's ledger are audited each spring.",
            encoding="utf-8",
        )
        assert main(["ingest", str(docs), "--publisher", "P2", "--data-dir", str(data_dir)]) == 0
        capsys.readouterr()
        query = {"query": "herdsman guiding cattle over meadows", "tenant": "P2"}  # no word in common
        response = httpx.post(live.base_url + "/ai/data/v1/search", json=query, headers=headers, timeout=60)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data, "the dense index did not see the chunks the CLI stored"
        assert "shepherd" in data[0]["snippet"]
    finally:
        live.stop()
