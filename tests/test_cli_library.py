"""`homily search` on the shared GlooGrounded library installs it itself when it is missing or behind (no server
needed), one line off a terminal; it waits for another process installing into the same database; and it never
prints an empty table under its explanation. A small library built in the test stands in for the packaged one."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from homily.cli.main import main
from homily.content.install_lock import lock_if_free
from homily.embeddings import load_local_embedder
from homily.grounding.library import library_embedding_text, write_library
from tests.support.cli import clean_cli_environment, run_cli

_WORKS = (
    ("psalm-23", "Psalm 23", "The Lord is my shepherd; I shall not want. He makes me lie down in green pastures."),
    ("jonah-2", "Jonah 2", "Then Jonah prayed to the Lord his God out of the fish's belly."),
    ("ruth-1", "Ruth 1", "Where you go, I will go; and where you lodge, I will lodge."),
    ("micah-6", "Micah 6", "To act justly, to love mercy, and to walk humbly with your God."),
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_cli_environment(monkeypatch, tmp_path)


def _write_library(directory: Path, works: int) -> Path:
    rows: list[dict[str, Any]] = [
        {
            "item_id": item_id,
            "title": title,
            "author": None,
            "tradition": "not_faith_specific",
            "tags": [],
            "source": "test",
            "filename": f"{item_id}.txt",
            "chunks": [
                {"text": text, "heading_path": [title], "char_start": 0, "char_end": len(text), "token_count": 20}
            ],
        }
        for item_id, title, text in _WORKS[:works]
    ]
    texts = [library_embedding_text(row["title"], chunk) for row in rows for chunk in row["chunks"]]
    vectors = np.asarray(load_local_embedder().embed(texts), dtype=np.float32)
    write_library(directory, rows, vectors, model="all-MiniLM-L6-v2")
    return directory


def _initialised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, works: int = 3) -> tuple[Path, Path]:
    library = _write_library(tmp_path / "library", works)
    monkeypatch.setenv("HOMILY_LIBRARY_DIR", str(library))
    data_dir = tmp_path / "data"
    assert main(["init", "--data-dir", str(data_dir), "--json"]) == 0
    return data_dir, library


def test_search_installs_the_missing_library_then_only_what_is_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, database_url: str | None
) -> None:
    if database_url is not None:
        monkeypatch.setenv("HOMILY_DATABASE_URL", database_url)
    data_dir, library = _initialised(tmp_path, monkeypatch)
    where = str(data_dir) if database_url is None else "the PostgreSQL database"
    capsys.readouterr()

    status, out, err = run_cli(capsys, "search", "The Lord is my shepherd", "--data-dir", str(data_dir))
    assert status == 0
    assert err == f"Installing the shared GlooGrounded library (3 items) into {where}: once, a few seconds.\n"
    assert "Psalm 23" in out
    status, out, err = run_cli(capsys, "search", "Jonah prayed", "--data-dir", str(data_dir), "--json")
    assert (status, err) == (0, "")
    assert json.loads(out)[0]["title"] == "Jonah 2"

    _write_library(library, 4)  # a newer Homily ships one more work
    status, out, err = run_cli(
        capsys, "search", "to love mercy and walk humbly with your God", "--data-dir", str(data_dir), "--json"
    )
    assert status == 0
    assert err == f"Installing the shared GlooGrounded library (1 item) into {where}: once, a few seconds.\n"
    assert json.loads(out)[0]["title"] == "Micah 6"


def test_search_waits_for_another_process_installing_into_the_same_data_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir, _ = _initialised(tmp_path, monkeypatch)
    capsys.readouterr()
    held, released = threading.Event(), threading.Event()

    def installer() -> None:  # holds the lock like a server installing, for a moment
        with lock_if_free(data_dir / "homily.db") as locked:
            assert locked
            held.set()
            time.sleep(1.0)
            released.set()

    other = threading.Thread(target=installer)
    other.start()
    assert held.wait(10)
    status, out, err = run_cli(
        capsys,
        "search",
        "Where you go, I will go; where you lodge, I will lodge",
        "--data-dir",
        str(data_dir),
        "--json",
    )
    other.join()
    assert released.is_set()
    assert status == 0
    waited, installing = err.splitlines()
    assert waited == (
        f"Another Homily process (the server?) is installing the shared library into {data_dir}; waiting for it."
    )
    assert installing.startswith("Installing the shared GlooGrounded library (3 items)")
    assert json.loads(out)[0]["title"] == "Ruth 1"


def test_with_library_loading_off_search_says_so_and_prints_no_empty_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir, _ = _initialised(tmp_path, monkeypatch)
    monkeypatch.setenv("HOMILY_LOAD_LIBRARY", "false")
    capsys.readouterr()

    status, out, err = run_cli(capsys, "search", "shepherd", "--data-dir", str(data_dir))
    assert (status, out) == (0, "")
    assert err.startswith("GlooGrounded is empty: HOMILY_LOAD_LIBRARY is false")
    status, out, _ = run_cli(capsys, "search", "shepherd", "--data-dir", str(data_dir), "--json")
    assert (status, json.loads(out)) == (0, [])


def test_without_any_library_search_names_the_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir, _ = _initialised(tmp_path, monkeypatch)
    monkeypatch.setenv("HOMILY_LIBRARY_DIR", str(tmp_path / "no-such-folder"))
    capsys.readouterr()

    status, out, err = run_cli(capsys, "search", "shepherd", "--data-dir", str(data_dir))
    assert (status, out) == (0, "")
    assert "HOMILY_LIBRARY_DIR" in err


def test_an_unreadable_library_is_one_line_naming_the_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir, library = _initialised(tmp_path, monkeypatch)
    (library / "items.jsonl.xz").write_bytes(b"not xz")
    capsys.readouterr()

    status, out, err = run_cli(capsys, "search", "shepherd", "--data-dir", str(data_dir))
    assert (status, out) == (1, "")
    assert err.startswith(f"homily: error: cannot install the shared library: library data unreadable in {library}")
    assert err.endswith("(HOMILY_LIBRARY_DIR chooses another)\n")
    assert err.count("\n") == 1
