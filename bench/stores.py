"""Per-operation latency of the `Store` / `ContentStore` backends: embedded SQLite vs PostgreSQL (loopback).

PostgreSQL is the test server of `tests.support.services` (the pgserver wheel, fsync off: it measures round trips
and query work, not disk flushes). Every operation runs sequentially from one coroutine, the way one request uses
the store. Run: `python bench/stores.py [--rounds 300]`; prints a table and a JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))
sys.path.insert(0, str(REPO_ROOT))

from tests.support.services import running_postgres  # noqa: E402

from homily.storage.base import Publisher, Store  # noqa: E402
from homily.storage.content import ContentStore, ItemStatus, NewItem  # noqa: E402
from homily.storage.postgres import PostgresContentStore, PostgresStore  # noqa: E402
from homily.storage.sqlite import SqliteStore  # noqa: E402
from homily.storage.sqlite.content import SqliteContentStore  # noqa: E402

Operation = Callable[[int], Awaitable[object]]


def new_item(publisher: Publisher, n: int, size: int = 4096) -> NewItem:
    data = (f"item {n} {uuid.uuid4()} " * (size // 40 + 1)).encode()[:size]
    return NewItem(
        item_id=str(uuid.uuid4()),
        publisher_id=publisher.publisher_id,
        org_id=publisher.org_id,
        filename="notes.txt",
        type="txt",
        content_hash=uuid.uuid4().hex,
        data=data,
    )


async def timed(operation: Operation, rounds: int) -> dict[str, float]:
    for n in range(min(20, rounds)):  # warm-up: connections, statement plans
        await operation(-1 - n)
    samples = []
    for n in range(rounds):
        started = time.perf_counter()
        await operation(n)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"p50_ms": statistics.median(samples), "p95_ms": samples[int(0.95 * (len(samples) - 1))]}


async def measure(store: Store, content: ContentStore, rounds: int) -> dict[str, dict[str, float]]:
    organisation = await store.create_organisation("bench")
    publisher = await store.create_publisher(organisation.org_id, "bench")
    for n in range(100):
        await store.create_credential(organisation.org_id, f"c{n}", f"hc_bench_{n}", "hash")
    queued = [await content.add_item(new_item(publisher, n)) for n in range(1000)]

    async def cycle(n: int) -> None:
        item = queued[n % len(queued)] if n >= 0 else queued[-1 + n]
        await content.claim(item.item_id, item.generation)
        await content.advance(item.item_id, item.generation, ItemStatus.EMBEDDING, chunk_count=3)
        await content.advance(item.item_id, item.generation, ItemStatus.COMPLETED, chunk_count=3)

    operations: dict[str, Operation] = {
        "get_credential": lambda n: store.get_credential(f"hc_bench_{abs(n) % 100}"),
        "get_organisation": lambda n: store.get_organisation(organisation.org_id),
        "active_credentials (100)": lambda n: store.active_credentials(),
        "create_credential": lambda n: store.create_credential(organisation.org_id, "x", f"hc_new_{n}", "hash"),
        "add_item (4 KB)": lambda n: content.add_item(new_item(publisher, n)),
        "next_unfinished (1000 queued)": lambda n: content.next_unfinished(),
        "claim + advance + complete": cycle,
    }
    return {name: await timed(operation, rounds) for name, operation in operations.items()}


async def measure_opened(
    store: Store, content: SqliteContentStore | PostgresContentStore, rounds: int
) -> dict[str, dict[str, float]]:
    """Open both stores, measure them, and close them again whatever happens."""
    await store.open()
    await content.open()
    try:
        return await measure(store, content, rounds)
    finally:
        await content.close()
        await store.close()


async def run_sqlite(rounds: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "homily.db"
        return await measure_opened(SqliteStore(path), SqliteContentStore(path), rounds)


async def run_postgres(url: str, rounds: int) -> dict[str, dict[str, float]]:
    return await measure_opened(PostgresStore(url), PostgresContentStore(url), rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    results = {"sqlite": asyncio.run(run_sqlite(args.rounds))}
    with running_postgres() as server, server.fresh_database() as url:
        results["postgres"] = asyncio.run(run_postgres(url, args.rounds))
    print(f"{'operation':32} {'sqlite p50':>11} {'p95':>8} {'postgres p50':>13} {'p95':>8}  (ms)")
    for name, sqlite in results["sqlite"].items():
        postgres = results["postgres"][name]
        print(
            f"{name:32} {sqlite['p50_ms']:11.3f} {sqlite['p95_ms']:8.3f} "
            f"{postgres['p50_ms']:13.3f} {postgres['p95_ms']:8.3f}"
        )
    print(json.dumps({"rounds": args.rounds, "results": results}))


if __name__ == "__main__":
    main()
