"""First start with an empty data dir: time until the server answers, GlooGrounded is keyword-searchable, and
every library item is COMPLETED (dense too). Run: `python bench/first_start.py` (prints one JSON object)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _library_counts(db_path: Path) -> tuple[int, int, int]:
    """(items, completed items, chunks with a vector) of GlooGrounded, read directly from the database."""
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute(
                "SELECT COUNT(*), SUM(i.status = 'COMPLETED') FROM items i JOIN publishers p"
                " ON p.publisher_id = i.publisher_id WHERE p.name = 'GlooGrounded'"
            ).fetchone()
            vectors = db.execute("SELECT COUNT(*) FROM chunks WHERE vector IS NOT NULL").fetchone()[0]
    except sqlite3.Error:
        return 0, 0, 0
    return int(row[0] or 0), int(row[1] or 0), int(vectors)


def main() -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="homily-first-start-")) / "data"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMILY_")}
    env.update(PYTHONPATH=str(REPO_ROOT / "src"), HOMILY_DATA_DIR=str(data_dir), HOMILY_PORT=str(port))
    manifest = json.loads((REPO_ROOT / "src/homily/grounding/library/manifest.json").read_text())
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "homily", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    marks: dict[str, float] = {}
    try:
        while "answers" not in marks:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/platform/v2/models", timeout=1).status_code == 200:
                    marks["answers"] = time.monotonic() - started
            except httpx.TransportError:
                time.sleep(0.05)
        history: list[tuple[float, int]] = []
        while True:
            items, completed, vectors_now = _library_counts(data_dir / "homily.db")
            now = time.monotonic() - started
            history.append((now, items))
            if len(history) % 10 == 1:
                sys.stderr.write(f"{now:7.1f}s items={items} completed={completed} chunks_with_vectors={vectors_now}\n")
            marks["_vectors"] = vectors_now
            settled = len(history) > 5 and history[-6][1] == items > 0
            if settled and completed >= items:
                marks["fully_indexed"] = now
                break
            if now > 1800:
                break
            time.sleep(1.0)
        final = history[-1][1]
        marks["keyword_searchable"] = next(at for at, count in history if count == final)
        marks["_items"] = final
    finally:
        process.terminate()
        process.wait(timeout=30)
    report = {
        "library_items": manifest["items"],
        "library_chunks": manifest["chunks"],
        "seconds": {name: round(value, 1) for name, value in marks.items() if not name.startswith("_")},
        "chunks_with_vectors": int(marks.get("_vectors", 0)),
        "items_installed": int(marks.get("_items", 0)),
        "load_average_1m": os.getloadavg()[0],
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
