"""What shared (Redis) rate limits add to a whole gateway request, next to in-process ones.

    python -m bench.ratelimit_gateway [--rounds 5] [--duration 3] [--connections 1,32]

Starts the fake OpenAI upstream, a throwaway `redis-server` and two Homily servers that differ only in
`HOMILY_REDIS_URL` (both with `HOMILY_RATE_LIMIT_PER_MINUTE` high enough never to refuse), then alternates timed
non-streaming runs between them, round after round, so a machine whose load drifts affects both alike. Prints
each target's median p50/p99 and req/s over the rounds, and the median of the per-round p50 differences.
`--homily-env KEY=VALUE` adds settings to both (default `HOMILY_EMBEDDINGS=off`, which removes the embedding
model's variance from a figure it does not change; pass `HOMILY_EMBEDDINGS=local` to keep it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

import orjson

from bench.loadgen import LoadResult, RequestSpec, run_load
from bench.ratelimit import LIMIT, local_redis
from bench.services import HomilyService, start_fake, start_homily

BODY = {"model": "gloo-openai-gpt-5-mini", "messages": [{"role": "user", "content": "Say hello in one sentence."}]}
TARGETS = ("in-process", "redis")


def spec(homily: HomilyService) -> RequestSpec:
    return RequestSpec(
        f"{homily.url}/ai/v2/chat/completions", orjson.dumps(BODY), {"Authorization": f"Bearer {homily.token}"}
    )


def summary(name: str, connections: int, results: list[LoadResult]) -> str:
    errors = sum(r.errors for r in results)
    return (
        f"{name:<10} c={connections:<3} p50 {statistics.median(r.p50_ms for r in results):7.3f} ms  "
        f"p99 {statistics.median(r.p99_ms for r in results):8.3f} ms  "
        f"{statistics.median(r.requests_per_s for r in results):7.0f} req/s  errors {errors}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per timed run")
    parser.add_argument("--connections", default="1,32")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--homily-env", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    connection_counts = [int(part) for part in args.connections.split(",")]
    common = {"HOMILY_RATE_LIMIT_PER_MINUTE": str(LIMIT), "HOMILY_LOG_LEVEL": "WARNING", "HOMILY_EMBEDDINGS": "off"}
    common.update(dict(item.split("=", 1) for item in args.homily_env))
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-ratelimit-") as scratch, local_redis() as redis_url:
        root = Path(scratch)
        fake, upstream = start_fake(root)
        servers: dict[str, HomilyService] = {}
        try:
            for name, extra in (("in-process", {}), ("redis", {"HOMILY_REDIS_URL": redis_url})):
                (root / name).mkdir()
                servers[name] = start_homily(root / name, upstream, {**common, **extra})
            results = measure(servers, connection_counts, args.rounds, args.duration, args.loadgen)
            redis_errors = redis_error_lines(servers["redis"])
        finally:
            for server in servers.values():
                server.process.stop()
            fake.stop()
    lines = [
        f"loadavg before {load_before:.2f}, after {os.getloadavg()[0]:.2f}; settings {common}",
        "redis target's /metrics (a failure would mean some requests were counted in process): "
        + ("; ".join(redis_errors) or "no homily_redis_errors_total series"),
    ]
    for connections in connection_counts:
        lines.extend(summary(name, connections, results[name, connections]) for name in TARGETS)
        paired = [
            redis.p50_ms - local.p50_ms
            for local, redis in zip(results["in-process", connections], results["redis", connections], strict=True)
        ]
        lines.append(
            f"redis - in-process, c={connections}: median per-round p50 difference {statistics.median(paired):+.3f} ms "
            f"(rounds: {', '.join(f'{d:+.3f}' for d in paired)})"
        )
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def redis_error_lines(homily: HomilyService) -> list[str]:
    with urllib.request.urlopen(f"{homily.url}/metrics", timeout=10) as response:  # noqa: S310 - loopback URL
        text: str = response.read().decode()
    return [line for line in text.splitlines() if line.startswith("homily_redis_errors_total")]


def measure(
    servers: dict[str, HomilyService], connection_counts: list[int], rounds: int, duration: float, tool: str
) -> dict[tuple[str, int], list[LoadResult]]:
    for server in servers.values():  # warm up: connections, pools, first-request work
        run_load(spec(server), 8, 1.0, tool)
    results: dict[tuple[str, int], list[LoadResult]] = {(n, c): [] for n in TARGETS for c in connection_counts}
    for round_index in range(rounds):
        order = TARGETS if round_index % 2 == 0 else TARGETS[::-1]
        for connections in connection_counts:
            for name in order:
                results[name, connections].append(run_load(spec(servers[name]), connections, duration, tool))
    return results


if __name__ == "__main__":
    raise SystemExit(main())
