"""Durability across replicas: two real `homily serve` processes share one PostgreSQL database; the one ingesting
an upload is killed with SIGKILL mid-way and never restarted. The survivor, never told about the upload, finds the
orphaned items once their lease has run out and completes every accepted item exactly once (one row per chunk)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

from tests.support.content import bible_chapters, wait_for_statuses
from tests.support.http import auth_headers
from tests.support.live import ADMIN_SECRET
from tests.test_ingestion_crash import _environment, _free_port, _server, _statuses

BOOKS = ("Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua")
LEASE_SECONDS = 30  # storage.postgres.leases.DEFAULT_LEASE_SECONDS: how long a dead replica's items stay claimed


def _token(base: str, credential: dict[str, str]) -> str:
    response = httpx.post(
        base + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(credential["client_id"], credential["client_secret"]),
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def test_a_killed_replicas_ingestion_is_finished_once_by_the_survivor(postgres_url: str, tmp_path: Path) -> None:
    shared = {"HOMILY_DATABASE_URL": postgres_url, "HOMILY_PUBLIC_URL": "https://homily.example.org"}
    init = subprocess.run(
        [sys.executable, "-m", "homily", "init", "--json"],
        env={**_environment(tmp_path / "first", 0), **shared},
        capture_output=True,
        check=True,
    )
    credential = json.loads(init.stdout)
    first_port, second_port = _free_port(), _free_port()
    first_base, second_base = f"http://127.0.0.1:{first_port}", f"http://127.0.0.1:{second_port}"
    documents = [(f"{book.lower()}.md", f"# {book}\n\n{bible_chapters(book, range(1, 4))}") for book in BOOKS]

    with _server(tmp_path / "second", second_port, **shared):
        with _server(tmp_path / "first", first_port, **shared) as first:
            publisher = httpx.post(
                first_base + "/admin/v1/publishers",
                json={"org_id": credential["org_id"], "name": "Torah"},
                headers={"Authorization": f"Bearer {ADMIN_SECRET}"},
            ).json()
            token = _token(first_base, credential)
            with httpx.Client(base_url=first_base, headers=auth_headers(token), timeout=60) as client:
                response = client.post(
                    "/ingestion/v2/files",
                    data={"publisher_id": publisher["publisher_id"]},
                    files=[("files", (name, text.encode())) for name, text in documents],
                )
                assert response.status_code == 200, response.text
                accepted: list[str] = response.json()["ingesting"]
                assert len(accepted) == len(documents)
                deadline = time.monotonic() + 120
                while "COMPLETED" not in _statuses(client, publisher["publisher_id"]).values():
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                before = _statuses(client, publisher["publisher_id"])
            first.send_signal(signal.SIGKILL)
            first.wait()
        unfinished = [item for item, status in before.items() if status != "COMPLETED"]
        assert unfinished, f"every item finished before the kill; the test needs more work queued: {before}"

        killed_at = time.monotonic()
        with httpx.Client(
            base_url=second_base, headers=auth_headers(_token(second_base, credential)), timeout=60
        ) as survivor:
            rows = wait_for_statuses(survivor, publisher["publisher_id"], accepted, timeout=LEASE_SECONDS + 240)
            assert {row["status"] for row in rows.values()} == {"COMPLETED"}
            assert sorted(_statuses(survivor, publisher["publisher_id"])) == sorted(accepted)
            details = {item: survivor.get(f"/engine/v2/items/{item}").json() for item in accepted}
            query = {"query": "the serpent was more subtil than any beast of the field", "tenant": "Torah"}
            hit = survivor.post("/ai/data/v1/search", json=query)
            assert hit.json()["data"][0]["filename"] == "genesis.md"
        # The kill left at least one item leased to the dead process: nobody may take it before the lease ends.
        assert time.monotonic() - killed_at > LEASE_SECONDS - 5

    with psycopg.connect(postgres_url) as db:
        counts: dict[str, int] = dict(db.execute("SELECT item_id, count(*) FROM chunks GROUP BY item_id").fetchall())
        ordinals = "SELECT item_id, count(DISTINCT ordinal) FROM chunks GROUP BY item_id"
        distinct: dict[str, int] = dict(db.execute(ordinals).fetchall())
        unembedded = db.execute("SELECT count(*) FROM chunks WHERE embedding IS NULL").fetchone()
        leased = db.execute("SELECT count(*) FROM items WHERE lease_owner IS NOT NULL").fetchone()
    assert unembedded == (0,)
    assert leased == (0,)
    for item in accepted:
        assert counts[item] == distinct[item] == details[item]["chunk_count"] > 0
