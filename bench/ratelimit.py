"""What a rate-limit check costs per request: in process, through a local Redis, and with Redis down.

    python -m bench.ratelimit [--requests 20000] [--concurrency 32] [--redis-url redis://...]

Times `homily.ratelimit.enforce` (one check as a handler makes it) for: the in-process `WindowRateLimiter`;
`RedisRateLimiter` against a Redis (a throwaway `redis-server` on a loopback port unless `--redis-url` is
given), one request at a time and with `--concurrency` checks in flight on one event loop; and
`RedisRateLimiter` pointed at a closed port (fail-open: counted in process, Redis retried once a second).
For the whole gateway, compare `python -m bench.run --targets homily --homily-env HOMILY_RATE_LIMIT_PER_MINUTE=...`
with and without `--homily-env HOMILY_REDIS_URL=...`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from bench.services import free_port
from homily.metrics import Metrics
from homily.ratelimit import RateLimiter, WindowRateLimiter, enforce
from homily.ratelimit_redis import RedisRateLimiter
from homily.redis_backend import ERRORS_METRIC, FailureReporter, open_redis

LIMIT = 1_000_000_000  # never refuses: the figures are the cost of counting
KEYS = [f"cli_bench_{index}" for index in range(64)]


@contextmanager
def local_redis() -> Iterator[str]:
    program = shutil.which("redis-server")
    if program is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server), or pass --redis-url")
    port = free_port()
    root = tempfile.mkdtemp(prefix="bench-redis-")
    process = subprocess.Popen(
        [program, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", root],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


async def timed_checks(limiter: RateLimiter, requests: int, concurrency: int) -> np.ndarray:
    """Per-check latencies in ms, with `concurrency` workers each making its share one after another."""
    samples: list[float] = []

    async def worker(offset: int) -> None:
        for index in range(offset, requests, concurrency):
            start = time.perf_counter()
            await enforce(limiter, KEYS[index % len(KEYS)])
            samples.append((time.perf_counter() - start) * 1000)

    await asyncio.gather(*(worker(offset) for offset in range(concurrency)))
    return np.array(samples)


def row(name: str, samples: np.ndarray, wall: float) -> str:
    p50, p90, p99 = np.percentile(samples, [50, 90, 99])
    return (
        f"{name:<34} p50 {p50:7.3f}  p90 {p90:7.3f}  p99 {p99:7.3f}  max {samples.max():8.3f} ms"
        f"  {len(samples) / wall:9.0f} checks/s"
    )


async def measure(limiter: RateLimiter, name: str, requests: int, concurrency: int) -> str:
    await timed_checks(limiter, min(requests, 2000), concurrency)  # warm up (connections, script cache)
    start = time.perf_counter()
    samples = await timed_checks(limiter, requests, concurrency)
    return row(name, samples, time.perf_counter() - start)


async def run(url: str, requests: int, concurrency: int) -> list[str]:
    metrics = Metrics()
    rows = [
        await measure(WindowRateLimiter(LIMIT), "in process, 1 at a time", requests, 1),
        await measure(WindowRateLimiter(LIMIT), f"in process, {concurrency} in flight", requests, concurrency),
    ]
    client = open_redis(url)
    try:
        shared = RedisRateLimiter(client, LIMIT, FailureReporter(metrics, "rate_limit", "bench"))
        rows.append(await measure(shared, "Redis, 1 at a time", requests, 1))
        rows.append(await measure(shared, f"Redis, {concurrency} in flight", requests, concurrency))
    finally:
        await client.aclose()
    dead = open_redis(f"redis://127.0.0.1:{free_port()}/0")
    try:
        failing = RedisRateLimiter(dead, LIMIT, FailureReporter(metrics, "rate_limit", "bench"))
        start = time.perf_counter()
        await enforce(failing, KEYS[0])  # tries Redis: connection refused
        probe = (time.perf_counter() - start) * 1000
        rows.append(await measure(failing, "Redis down (fail open), 1 at a time", requests, 1))
    finally:
        await dead.aclose()
    rows.append(f"Redis down: a check that tries Redis took {probe:.3f} ms (refused port); "
                f"{metrics.counter(ERRORS_METRIC, (('operation', 'rate_limit'),)):.0f} failures counted")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    with local_redis() if args.redis_url is None else _given(args.redis_url) as url:
        rows = asyncio.run(run(url, args.requests, args.concurrency))
    sys.stdout.write(f"loadavg {os.getloadavg()[0]:.2f}; {args.requests} checks per row\n")
    sys.stdout.write("\n".join(rows) + "\n")
    return 0


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    raise SystemExit(main())
