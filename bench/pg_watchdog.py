"""Back-to-back A/B of one watched PostgreSQL use (the stall deadline of `storage.postgres.deadline`) by two trees.

    python -m bench.pg_watchdog --tree main=/work/main/src --tree branch=src
    python -m bench.pg_watchdog --tree main=/work/main/src --tree branch=src --uses 3000 --rounds 5 --threads 8

Starts a throwaway PostgreSQL with the test servers' programs (or uses `--database-url`), then in interleaved
rounds runs one worker process per tree (its `src` first on `PYTHONPATH`), so a busy shared machine slows every
tree alike. Each worker opens a `PostgresChunkIndex` (a blocking pool: every checkout is checked, then the block is
watched) and a `PostgresPool` (async) on the same database and times, sequentially from one thread:

- `raw SELECT 1`: a bare psycopg connection, no pool and no deadline (the floor);
- `deadline alone`: the blocking deadline armed and disarmed around no work (the tree's `Watchdog.watched`, or its
  module-level `watched` where there is no per-pool watchdog);
- `index use, empty`: `with index.connection(): pass` (checkout, the checked `execute("")`, the deadline);
- `index use, SELECT 1`: the same with one statement;
- `async use, SELECT 1`: `async with pool.connection()` and one statement on the event loop;
- `async deadline alone`: `watched_async` (the event loop's `call_later`) around no work;

then `--threads` threads doing `index use, SELECT 1` concurrently (uses/s). For each: wall p50/p95 in µs, CPU
(process time, every thread of the worker) per use in µs, and threads started per use (a counter on
`threading.Thread.start`). Medians over rounds are printed per tree, with the load average.

Measured 2026-12-07 (2 shared cores, load average 3.5 to 4.3; `--rounds 5 --uses 2000`), main (a
`threading.Timer` thread per deadline) / this branch (one `Watchdog` thread per index), p50 (p95) µs, CPU µs per use:
- deadline alone: 133.6 (2432.7), CPU 152.4, 1 thread per use / 2.3 (3.2), CPU 2.7, none;
- index use, empty: 483.1 (792.6), CPU 482.0, 2 threads per use / 56.7 (158.6), CPU 59.3, none;
- index use, SELECT 1: 553.5 (4206.1), CPU 497.9 / 105.8 (175.1), CPU 82.6 (raw SELECT 1: 36 to 37 µs, CPU 23 to 28);
- 8 threads: 1,953 uses/s, CPU 450.1 per use / 6,945 uses/s, CPU 121.4;
- async use, SELECT 1: 229.5 / 204.3 (the same mechanism in both: the event loop's `call_later`, 4 µs alone).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]

Sample = dict[str, float]


class StartCounter:
    """Counts `threading.Thread.start` calls in this process (the old deadline started one thread per use)."""

    def __init__(self) -> None:
        self.count = 0
        self._original = threading.Thread.start

    def __enter__(self) -> StartCounter:
        original = self._original

        def counted(thread: threading.Thread) -> None:
            self.count += 1
            original(thread)

        threading.Thread.start = counted  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        threading.Thread.start = self._original  # type: ignore[method-assign]


def summary(timings: list[float], cpu: float, thread_starts: int, uses: int) -> Sample:
    """Latency percentiles (µs), CPU per use (µs) and threads started per use of one timed loop."""
    timings = sorted(timings)
    return {
        "p50_us": 1e6 * statistics.median(timings),
        "p95_us": 1e6 * timings[int(0.95 * (len(timings) - 1))],
        "cpu_us": 1e6 * cpu / uses,
        "threads_per_use": thread_starts / uses,
    }


def measure(use: Callable[[], object], uses: int) -> Sample:
    for _ in range(min(200, uses)):  # warm-up: connections, plans
        use()
    timings: list[float] = []
    with StartCounter() as starts:
        cpu = time.process_time()
        for _ in range(uses):
            started = time.perf_counter()
            use()
            timings.append(time.perf_counter() - started)
        cpu = time.process_time() - cpu
    return summary(timings, cpu, starts.count, uses)


def concurrent(use: Callable[[], object], uses: int, threads: int) -> Sample:
    per_thread = max(1, uses // threads)

    def run() -> None:
        for _ in range(per_thread):
            use()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    with StartCounter() as starts:
        cpu = time.process_time()
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    total = per_thread * threads
    return {
        "uses_per_s": total / wall,
        "cpu_us": 1e6 * cpu / total,
        "threads_per_use": (starts.count - threads) / total,
    }


def worker(url: str, uses: int, threads: int) -> dict[str, Sample]:
    import psycopg

    from homily.grounding.pg_index import PostgresChunkIndex
    from homily.storage.postgres import deadline
    from homily.storage.postgres.pool import PostgresPool

    results: dict[str, Sample] = {}
    with psycopg.connect(url, autocommit=True) as raw:
        results["raw SELECT 1"] = measure(lambda: raw.execute("SELECT 1").fetchone(), uses)
        if hasattr(deadline, "Watchdog") and hasattr(deadline.Watchdog, "watched"):  # one thread per pool
            watchdog = deadline.Watchdog("bench")
            watched = watchdog.watched
        else:  # a tree whose blocking deadline is a module function (a timer thread per use)
            watchdog, watched = None, getattr(deadline, "watched")  # noqa: B009 (absent from this tree)

        def alone() -> None:
            with watched(raw, deadline.REQUEST_SECONDS, "bench"):
                pass

        results["deadline alone"] = measure(alone, uses)
        if watchdog is not None:
            watchdog.close()
    index = PostgresChunkIndex.open(url, max_connections=threads)
    try:

        def empty() -> None:
            with index.connection():
                pass

        def select() -> object:
            with index.connection() as connection:
                return connection.execute("SELECT 1").fetchone()

        results["index use, empty"] = measure(empty, uses)
        results["index use, SELECT 1"] = measure(select, uses)
        results[f"index use, SELECT 1, {threads} threads"] = concurrent(select, uses, threads)
    finally:
        index.close()
    results["async use, SELECT 1"] = asyncio.run(async_uses(PostgresPool(url, name="bench"), uses))
    results["async deadline alone"] = asyncio.run(async_deadline(url, uses))
    return results


async def async_deadline(url: str, uses: int) -> Sample:
    import psycopg

    from homily.storage.postgres.deadline import REQUEST_SECONDS, watched_async

    async def alone() -> None:
        async with watched_async(connection, REQUEST_SECONDS, "bench"):
            pass

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        return await timed_async(alone, uses)


async def async_uses(pool: Any, uses: int) -> Sample:
    await pool.open()
    try:
        return await timed_async(lambda: pool.fetch_one("SELECT 1"), uses)
    finally:
        await pool.close()


async def timed_async(use: Callable[[], Awaitable[object]], uses: int) -> Sample:
    for _ in range(min(200, uses)):
        await use()
    timings: list[float] = []
    with StartCounter() as starts:
        cpu = time.process_time()
        for _ in range(uses):
            started = time.perf_counter()
            await use()
            timings.append(time.perf_counter() - started)
        cpu = time.process_time() - cpu
    return summary(timings, cpu, starts.count, uses)


@contextlib.contextmanager
def database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    sys.path.insert(0, str(REPO_ROOT))
    from tests.support.services import running_postgres

    with running_postgres() as server, server.fresh_database() as fresh:
        yield fresh


def run_worker(source: Path, url: str, uses: int, threads: int) -> dict[str, Sample]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(source.resolve()), str(REPO_ROOT)])}
    command = [sys.executable, "-m", "bench.pg_watchdog", "--worker", url, "--uses", str(uses)]
    result = subprocess.run(
        [*command, "--threads", str(threads)], env=env, cwd=REPO_ROOT, check=True, capture_output=True, text=True
    )
    loaded: dict[str, Sample] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", action="append", help="NAME=SRC_DIR (a tree's src directory)")
    parser.add_argument("--uses", type=int, default=2000, help="timed uses per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.uses, args.threads)))
        return
    trees = [spec.partition("=") for spec in args.tree or [f"this={REPO_ROOT / 'src'}"]]
    load_before = os.getloadavg()
    runs: dict[str, list[dict[str, Sample]]] = {name: [] for name, _, _ in trees}
    with database(args.database_url) as url:
        for _ in range(args.rounds):
            for name, _, source in trees:
                runs[name].append(run_worker(Path(source), url, args.uses, args.threads))
    for name, rounds in runs.items():
        print(f"{name}: median of {len(rounds)} rounds, {args.uses} uses each")
        for row in rounds[0]:
            figures = {key: statistics.median(r[row][key] for r in rounds) for key in rounds[0][row]}
            print(f"  {row:34s} " + "  ".join(f"{key} {value:9.2f}" for key, value in figures.items()))
    after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {after[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
