"""Load generation from processes separate from the servers under test.

`run_load` drives a fixed number of keep-alive connections for a fixed duration with `wrk` when it is installed
(a Lua script sets the POST body and headers; its latency distribution is parsed), else with a multi-process
aiohttp load generator. `measure_ttft` times the first content-bearing SSE event with a single Python client.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One HTTP request repeated by the load generator: every field is sent verbatim each time."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Throughput and latency of one load run; latencies in milliseconds, errors = failed or non-2xx requests."""

    tool: str
    connections: int
    duration_s: float
    requests: int
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def lua_long_string(text: str) -> str:
    """A Lua long-bracket literal holding `text` verbatim (no escaping needed inside long brackets)."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def wrk_script(spec: RequestSpec) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_long_string(spec.body.decode())}"]
    headers = {"Content-Type": "application/json", **spec.headers}
    lines.extend(f"wrk.headers[ {lua_long_string(k)} ] = {lua_long_string(v)}" for k, v in headers.items())
    return "\n".join(lines) + "\n"


def parse_wrk_duration(text: str) -> float:
    """`78.00us` / `6.51ms` / `1.20s` -> milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if match is None:
        raise ValueError(f"unrecognised wrk duration {text!r}")
    return float(match.group(1)) * WRK_UNITS[match.group(2)]


def parse_wrk_output(output: str, connections: int, duration_s: float) -> LoadResult:
    """Read requests, req/s, the latency distribution and errors from `wrk --latency` output."""
    percentiles = {
        int(m.group(1)): parse_wrk_duration(m.group(2)) for m in re.finditer(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.M)
    }
    total = re.search(r"^\s*(\d+) requests in ([\d.]+)(\w+),", output, re.M)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if total is None or rate is None or 50 not in percentiles or 99 not in percentiles:
        raise ValueError(f"could not parse wrk output:\n{output}")
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx is not None:
        errors += int(non_2xx.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors is not None:
        errors += sum(int(value) for value in socket_errors.groups())
    return LoadResult(
        tool="wrk",
        connections=connections,
        duration_s=parse_wrk_duration(total.group(2) + total.group(3)) / 1e3,
        requests=int(total.group(1)),
        requests_per_s=float(rate.group(1)),
        p50_ms=percentiles[50],
        p90_ms=percentiles.get(90, percentiles[99]),
        p99_ms=percentiles[99],
        errors=errors,
    )


def run_wrk(spec: RequestSpec, connections: int, duration_s: float, threads: int = 1) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="homily-bench-") as scratch:
        script = Path(scratch) / "request.lua"
        script.write_text(wrk_script(spec))
        command = [
            "wrk",
            f"-t{max(1, min(threads, connections))}",
            f"-c{connections}",
            f"-d{max(1, round(duration_s))}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(script),
            spec.url,
        ]
        completed = subprocess.run(command, capture_output=True, text=True, check=True)
    if completed.stderr.strip():
        raise RuntimeError(f"wrk reported: {completed.stderr.strip()}")
    return parse_wrk_output(completed.stdout, connections, duration_s)


async def _drive(spec: RequestSpec, connections: int, duration_s: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration_s
    headers = {"Content-Type": "application/json", **spec.headers}
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=30)

    async def one_connection(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                async with session.post(spec.url, data=spec.body, headers=headers) as response:
                    await response.read()
                    if response.status >= 300:
                        errors += 1
                        continue
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1e3)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(one_connection(session) for _ in range(connections)))
    return latencies, errors


def _worker(spec: RequestSpec, connections: int, duration_s: float) -> tuple[list[float], int]:
    return asyncio.run(_drive(spec, connections, duration_s))


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def run_python_load(spec: RequestSpec, connections: int, duration_s: float, processes: int = 2) -> LoadResult:
    """The fallback load generator: `processes` spawned processes share the connections."""
    processes = max(1, min(processes, connections))
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with context.Pool(processes) as pool:
        outcomes = pool.starmap(_worker, [(spec, share, duration_s) for share in shares])
    elapsed = time.perf_counter() - started
    latencies = sorted(value for values, _ in outcomes for value in values)
    errors = sum(failed for _, failed in outcomes)
    return LoadResult(
        tool="python-aiohttp",
        connections=connections,
        duration_s=duration_s,
        requests=len(latencies),
        requests_per_s=len(latencies) / min(elapsed, duration_s) if latencies else 0.0,
        p50_ms=percentile(latencies, 0.50),
        p90_ms=percentile(latencies, 0.90),
        p99_ms=percentile(latencies, 0.99),
        errors=errors,
    )


def run_load(spec: RequestSpec, connections: int, duration_s: float, tool: str = "auto") -> LoadResult:
    """Drive `spec` with `connections` connections for `duration_s`; tool is auto, wrk or python."""
    if tool == "wrk" or (tool == "auto" and wrk_available()):
        return run_wrk(spec, connections, duration_s)
    return run_python_load(spec, connections, duration_s)


@dataclass(frozen=True, slots=True)
class TtftResult:
    """Time to first content token and to the end of the stream over sequential streaming requests, in ms."""

    samples: int
    ttft_p50_ms: float
    ttft_p99_ms: float
    ttft_mean_ms: float
    total_p50_ms: float
    errors: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _has_content(line: bytes) -> bool:
    if not line.startswith(b"data: {"):
        return False
    chunk = orjson.loads(line[len(b"data: ") :])
    choices = chunk.get("choices") or []
    return any((choice.get("delta") or {}).get("content") for choice in choices)


async def _ttft(spec: RequestSpec, samples: int) -> TtftResult:
    first_token: list[float] = []
    totals: list[float] = []
    errors = 0
    headers = {"Content-Type": "application/json", **spec.headers}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for _ in range(samples):
            started = time.perf_counter()
            seen_at: float | None = None
            async with session.post(spec.url, data=spec.body, headers=headers) as response:
                if response.status != 200:
                    errors += 1
                    await response.read()
                    continue
                async for line in response.content:
                    if seen_at is None and _has_content(line):
                        seen_at = time.perf_counter()
            if seen_at is None:
                errors += 1
                continue
            first_token.append((seen_at - started) * 1e3)
            totals.append((time.perf_counter() - started) * 1e3)
    first_token.sort()
    totals.sort()
    return TtftResult(
        samples=len(first_token),
        ttft_p50_ms=percentile(first_token, 0.50),
        ttft_p99_ms=percentile(first_token, 0.99),
        ttft_mean_ms=statistics.fmean(first_token) if first_token else 0.0,
        total_p50_ms=percentile(totals, 0.50),
        errors=errors,
    )


async def _single(spec: RequestSpec) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json", **spec.headers}
    async with aiohttp.ClientSession() as session, session.post(spec.url, data=spec.body, headers=headers) as r:
        return r.status, await r.read()


def single_request(spec: RequestSpec) -> tuple[int, bytes]:
    """One request: (status, body)."""
    return asyncio.run(_single(spec))


def measure_ttft(spec: RequestSpec, samples: int) -> TtftResult:
    """Sequential streaming requests on one connection (the body must ask for `"stream": true`)."""
    return asyncio.run(_ttft(spec, samples))
