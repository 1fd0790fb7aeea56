"""Durability: a real `homily serve` process is killed with SIGKILL mid-ingestion and restarted; every accepted
item then reaches COMPLETED exactly once (one item row, its chunks written once, nothing lost or duplicated)."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.content import bible_chapters, wait_for_statuses
from tests.support.http import auth_headers
from tests.support.live import ADMIN_SECRET

REPO_ROOT = Path(__file__).resolve().parents[1]
BOOKS = ("Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth")


def _environment(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOMILY_", "OPENAI_", "ANTHROPIC_", "GEMINI_"))}
    env.update(
        PYTHONPATH=str(REPO_ROOT / "src"),
        HOMILY_DATA_DIR=str(data_dir),
        HOMILY_PORT=str(port),
        HOMILY_HOST="127.0.0.1",
        HOMILY_ADMIN_SECRET=ADMIN_SECRET,
        HOMILY_LOAD_LIBRARY="false",
        HOMILY_LOG_LEVEL="WARNING",
        HF_HUB_OFFLINE="1",
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server(data_dir: Path, port: int, **settings: str) -> Iterator[subprocess.Popen[bytes]]:
    """`homily serve` on `data_dir`; `settings` are further environment variables (e.g. HOMILY_DATABASE_URL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "homily", "serve"],
        env={**_environment(data_dir, port), **settings},
        cwd=data_dir.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/platform/v2/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "homily serve exited"
            assert time.monotonic() < deadline, "homily serve did not start"
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _statuses(client: httpx.Client, publisher_id: str) -> dict[str, str]:
    return {row["item_id"]: row["status"] for row in client.get(f"/engine/v2/publisher/{publisher_id}/items").json()}


def test_sigkill_mid_ingestion_then_restart_completes_every_item_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    init = subprocess.run(
        [sys.executable, "-m", "homily", "init", "--json"],
        env=_environment(data_dir, 0),
        capture_output=True,
        check=True,
    )
    credential = json.loads(init.stdout)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    documents = [(f"{book.lower()}.md", f"# {book}\n\n{bible_chapters(book, range(1, 4))}") for book in BOOKS]

    with _server(data_dir, port) as process:
        admin = {"Authorization": f"Bearer {ADMIN_SECRET}"}
        publisher = httpx.post(
            base + "/admin/v1/publishers", json={"org_id": credential["org_id"], "name": "Torah"}, headers=admin
        ).json()
        token = httpx.post(
            base + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(credential["client_id"], credential["client_secret"]),
        ).json()["access_token"]
        with httpx.Client(base_url=base, headers=auth_headers(token), timeout=60) as client:
            accepted: list[str] = []
            for name, text in documents:
                response = client.post(
                    "/ingestion/v2/files",
                    data={"publisher_id": publisher["publisher_id"]},
                    files=[("files", (name, text.encode()))],
                )
                assert response.status_code == 200, response.text
                accepted.extend(response.json()["ingesting"])
            deadline = time.monotonic() + 120
            while "COMPLETED" not in _statuses(client, publisher["publisher_id"]).values():
                assert time.monotonic() < deadline
                time.sleep(0.05)
            before = _statuses(client, publisher["publisher_id"])
        process.send_signal(signal.SIGKILL)
        process.wait()
    unfinished = [item for item, status in before.items() if status != "COMPLETED"]
    assert unfinished, f"every item finished before the kill; the test needs more work queued: {before}"

    with _server(data_dir, port):
        token = httpx.post(
            base + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(credential["client_id"], credential["client_secret"]),
        ).json()["access_token"]
        with httpx.Client(base_url=base, headers=auth_headers(token), timeout=60) as client:
            rows = wait_for_statuses(client, publisher["publisher_id"], accepted, timeout=300)
            assert {row["status"] for row in rows.values()} == {"COMPLETED"}
            assert sorted(_statuses(client, publisher["publisher_id"])) == sorted(accepted)
            details = {item: client.get(f"/engine/v2/items/{item}").json() for item in accepted}
            hit = client.post(
                "/ai/data/v1/search", json={"query": "Ruth gleaned in the field of Boaz", "tenant": "Torah"}
            )
            assert hit.json()["data"][0]["filename"] == "ruth.md"

    with sqlite3.connect(data_dir / "homily.db") as db:
        counts = dict(db.execute("SELECT item_id, COUNT(*) FROM chunks GROUP BY item_id").fetchall())
        distinct = dict(db.execute("SELECT item_id, COUNT(DISTINCT ordinal) FROM chunks GROUP BY item_id").fetchall())
        unembedded = db.execute("SELECT COUNT(*) FROM chunks WHERE vector IS NULL").fetchone()[0]
        fts_rows = db.execute("SELECT COUNT(*) FROM chunks_fts_docsize").fetchone()[0]
    assert unembedded == 0
    assert fts_rows == sum(counts.values())
    for item in accepted:
        assert counts[item] == distinct[item] == details[item]["chunk_count"] > 0
