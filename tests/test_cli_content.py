"""`homily ingest` and `homily search` on a real data directory (in-process, the real embedding model), on the
embedded SQLite database and on PostgreSQL (`database_url` in conftest runs the module on both)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from homily.cli.main import main
from tests.support.content import bible_chapters


def test_ingest_then_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, database_url: str | None
) -> None:
    if database_url is not None:
        monkeypatch.setenv("HOMILY_DATABASE_URL", database_url)
    data_dir = tmp_path / "data"
    assert main(["init", "--data-dir", str(data_dir), "--json"]) == 0
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "jonah.md").write_text("# Jonah\n\n" + bible_chapters("Jonah", range(1, 3)), encoding="utf-8")
    (docs / "ruth.txt").write_text(bible_chapters("Ruth", range(1, 2)), encoding="utf-8")
    (docs / "broken.pdf").write_bytes(b"this is not a pdf")
    (docs / "ignored.exe").write_bytes(b"MZ")
    capsys.readouterr()

    status = main(["ingest", str(docs), "--publisher", "Bible", "--data-dir", str(data_dir), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert status == 1  # one file failed
    assert summary["files"] == 3
    assert summary["completed"] == 2
    assert summary["failed"] == [{"filename": "broken.pdf", "reason": summary["failed"][0]["reason"]}]
    assert "PDF" in summary["failed"][0]["reason"]
    assert summary["chunks"] > 2

    again = main(["ingest", str(docs / "ruth.txt"), "--publisher", "Bible", "--data-dir", str(data_dir), "--json"])
    assert again == 0
    assert json.loads(capsys.readouterr().out)["duplicates"] == ["ruth.txt"]

    query = "Jonah prayed out of the fish's belly"
    assert main(["search", query, "--publisher", "Bible", "--data-dir", str(data_dir), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results[0]["title"] == "Jonah"
    assert "belly" in results[0]["snippet"]
    assert main(["search", query, "--publisher", "Nope", "--data-dir", str(data_dir)]) == 1
    assert (data_dir / "homily.db").exists() == (database_url is None)
