"""Benchmark: Homily (and LiteLLM's proxy, when installed) against calling the fake upstream directly.

    python -m bench.run [--duration S] [--connections 1,32] [--quick]

Starts the fake OpenAI upstream and Homily as subprocesses, drives each target from a separate load-generator
process (wrk, else a multi-process aiohttp client), non-streaming and streaming, at each connection count, then
measures time to first token with one Python client. Prints a table and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from bench.loadgen import (
    LoadResult,
    RequestSpec,
    TtftResult,
    measure_ttft,
    run_load,
    single_request,
    wrk_available,
)
from bench.services import (
    REPO_ROOT,
    litellm_python,
    start_bare_proxy,
    start_fake,
    start_homily,
    start_litellm,
)

logger = logging.getLogger("bench")

MESSAGES = [{"role": "user", "content": "Say hello to the benchmark in one short sentence."}]
UPSTREAM_MODEL = "gpt-5-mini"
HOMILY_MODEL = "gloo-openai-gpt-5-mini"
MODES = ("non-stream", "stream")


@dataclass(frozen=True, slots=True)
class Target:
    """A server to load: the same chat request, shaped for that server, in both modes."""

    name: str
    url: str
    model: str
    headers: dict[str, str]

    def spec(self, mode: str) -> RequestSpec:
        body: dict[str, Any] = {"model": self.model, "messages": MESSAGES}
        if mode == "stream":
            body["stream"] = True
        return RequestSpec(self.url, orjson.dumps(body), self.headers)


@dataclass(frozen=True, slots=True)
class Row:
    target: str
    mode: str
    result: LoadResult
    added_p50_ms: float | None = None
    added_p99_ms: float | None = None
    runs_per_s: tuple[float, ...] = ()
    """req/s of each repeated run (the row's figures are their medians)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "mode": self.mode,
            **self.result.to_json(),
            "added_p50_ms": self.added_p50_ms,
            "added_p99_ms": self.added_p99_ms,
            "runs_per_s": list(self.runs_per_s),
        }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run (default 10)")
    parser.add_argument("--connections", default="1,32", help="comma-separated connection counts (default 1,32)")
    parser.add_argument("--quick", action="store_true", help="3 s runs, short warm-up, 50 TTFT samples")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto", help="load generator")
    parser.add_argument(
        "--repeat", type=int, default=1, help="timed rounds over all targets, interleaved; medians are reported"
    )
    parser.add_argument("--ttft-samples", type=int, default=300, help="sequential streaming requests for TTFT")
    parser.add_argument(
        "--targets", default="direct,bare,homily,litellm", help="targets to run (bare: calibration proxy)"
    )
    parser.add_argument(
        "--litellm-python",
        default=os.environ.get("BENCH_LITELLM_PYTHON"),
        help="interpreter with litellm[proxy] installed (default: this one if it has litellm)",
    )
    parser.add_argument(
        "--homily-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the Homily process (repeatable)",
    )
    parser.add_argument("--output-dir", type=Path, default=REPO_ROOT / "bench" / "results")
    parser.add_argument("--keep-logs", action="store_true", help="keep the scratch directory with server logs")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = min(args.duration, 3.0)
        args.ttft_samples = min(args.ttft_samples, 50)
    return args


def check_target(target: Target) -> None:
    """One request per mode must answer with content before anything is timed."""
    status, body = single_request(target.spec("non-stream"))
    if status != 200 or not orjson.loads(body)["choices"][0]["message"]["content"]:
        raise RuntimeError(f"{target.name}: non-streaming sanity request failed: {status} {body[:300]!r}")
    if measure_ttft(target.spec("stream"), 1).errors:
        raise RuntimeError(f"{target.name}: streaming sanity request returned no content")


def warm_up(target: Target, connections: int, seconds: float, tool: str) -> None:
    for mode in MODES:
        run_load(target.spec(mode), connections, seconds, tool)


def measure_round(target: Target, connections: list[int], *, duration: float, tool: str, console: Console) -> list[Row]:
    """One timed run per mode and connection count."""
    rows = []
    for mode in MODES:
        for count in connections:
            result = run_load(target.spec(mode), count, duration, tool)
            console.log(
                f"{target.name:>7} {mode:<10} c={count:<3} {result.requests_per_s:9.0f} req/s "
                f"p50 {result.p50_ms:7.3f} ms  p99 {result.p99_ms:7.3f} ms  errors {result.errors}"
            )
            rows.append(Row(target.name, mode, result))
    return rows


def median_rows(rounds: list[Row]) -> list[Row]:
    """Merge repeated runs of the same (target, mode, connections): median of each figure, errors summed."""
    grouped: dict[tuple[str, str, int], list[LoadResult]] = {}
    for row in rounds:
        grouped.setdefault((row.target, row.mode, row.result.connections), []).append(row.result)
    merged = []
    for (target, mode, _), results in grouped.items():
        first = results[0]
        result = LoadResult(
            tool=first.tool,
            connections=first.connections,
            duration_s=sum(r.duration_s for r in results),
            requests=sum(r.requests for r in results),
            requests_per_s=statistics.median(r.requests_per_s for r in results),
            p50_ms=statistics.median(r.p50_ms for r in results),
            p90_ms=statistics.median(r.p90_ms for r in results),
            p99_ms=statistics.median(r.p99_ms for r in results),
            errors=sum(r.errors for r in results),
        )
        merged.append(Row(target, mode, result, runs_per_s=tuple(r.requests_per_s for r in results)))
    return merged


def with_added_latency(rows: list[Row]) -> list[Row]:
    """Each non-direct row with its p50/p99 minus the direct row's at the same mode and connection count."""
    direct = {(r.mode, r.result.connections): r.result for r in rows if r.target == "direct"}
    added = []
    for row in rows:
        base = direct.get((row.mode, row.result.connections))
        if row.target == "direct" or base is None:
            added.append(row)
            continue
        added.append(
            Row(
                row.target,
                row.mode,
                row.result,
                row.result.p50_ms - base.p50_ms,
                row.result.p99_ms - base.p99_ms,
                row.runs_per_s,
            )
        )
    return added


def render(console: Console, rows: list[Row], ttft: dict[str, TtftResult]) -> None:
    table = Table(title="Throughput and latency (ms)")
    for column in ("target", "mode", "conns", "req/s", "p50", "p99", "added p50", "added p99", "errors", "tool"):
        table.add_column(column, justify="left" if column in ("target", "mode", "tool") else "right")
    for row in rows:
        r = row.result
        table.add_row(
            row.target,
            row.mode,
            str(r.connections),
            f"{r.requests_per_s:,.0f}",
            f"{r.p50_ms:.3f}",
            f"{r.p99_ms:.3f}",
            _ms(row.added_p50_ms),
            _ms(row.added_p99_ms),
            str(r.errors),
            r.tool,
        )
    console.print(table)
    first = ttft.get("direct")
    ttft_table = Table(title="Time to first token, streaming, 1 connection, Python client (ms)")
    for column in ("target", "samples", "TTFT p50", "TTFT p99", "added TTFT p50", "stream total p50", "errors"):
        ttft_table.add_column(column, justify="left" if column == "target" else "right")
    for name, t in ttft.items():
        extra = None if first is None or name == "direct" else t.ttft_p50_ms - first.ttft_p50_ms
        ttft_table.add_row(
            name,
            str(t.samples),
            f"{t.ttft_p50_ms:.3f}",
            f"{t.ttft_p99_ms:.3f}",
            _ms(extra),
            f"{t.total_p50_ms:.3f}",
            str(t.errors),
        )
    console.print(ttft_table)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def acceptance(rows: list[Row]) -> dict[str, Any]:
    """The issue's two benchmark targets, evaluated on this run."""
    by_key = {(r.target, r.mode, r.result.connections): r for r in rows}
    throughput = by_key.get(("homily", "non-stream", 32))
    latency = by_key.get(("homily", "non-stream", 1))
    return {
        "homily_non_stream_32_req_per_s": throughput.result.requests_per_s if throughput else None,
        "throughput_target_1500_met": bool(throughput and throughput.result.requests_per_s >= 1500),
        "homily_added_p50_ms_at_1": latency.added_p50_ms if latency else None,
        "added_latency_target_1ms_met": bool(
            latency and latency.added_p50_ms is not None and latency.added_p50_ms <= 1.0
        ),
        "homily_over_bare_req_per_s_32": _ratio(throughput, by_key.get(("bare", "non-stream", 32))),
        "homily_over_litellm_req_per_s_32": _ratio(throughput, by_key.get(("litellm", "non-stream", 32))),
    }


def _ratio(row: Row | None, reference: Row | None) -> float | None:
    """row req/s over reference req/s: comparable across runs on a busy machine, unlike absolute figures."""
    if row is None or reference is None or reference.result.requests_per_s == 0:
        return None
    return round(row.result.requests_per_s / reference.result.requests_per_s, 3)


def git_commit() -> str | None:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    return None


def start_targets(
    args: argparse.Namespace, scratch: Path, stack: contextlib.ExitStack, console: Console
) -> list[Target]:
    wanted = {name.strip() for name in args.targets.split(",")}
    fake, upstream = start_fake(scratch)
    stack.callback(fake.stop)
    targets = []
    if "direct" in wanted:
        targets.append(Target("direct", f"{upstream}/chat/completions", UPSTREAM_MODEL, {"Authorization": "Bearer x"}))
    if "bare" in wanted:
        bare, bare_url = start_bare_proxy(scratch, upstream)
        stack.callback(bare.stop)
        targets.append(Target("bare", f"{bare_url}/v1/chat/completions", UPSTREAM_MODEL, {}))
    if "homily" in wanted:
        extra_env = dict(item.split("=", 1) for item in args.homily_env)
        homily = start_homily(scratch, upstream, extra_env)
        stack.callback(homily.process.stop)
        headers = {"Authorization": f"Bearer {homily.token}"}
        targets.append(Target("homily", f"{homily.url}/ai/v2/chat/completions", HOMILY_MODEL, headers))
    python = litellm_python(args.litellm_python)
    if "litellm" in wanted and python is None:
        console.log("litellm is not importable (see --litellm-python): skipping the LiteLLM row")
    elif "litellm" in wanted and python is not None:
        litellm = start_litellm(python, scratch, upstream, UPSTREAM_MODEL)
        stack.callback(litellm.process.stop)
        headers = {"Authorization": f"Bearer {litellm.master_key}"}
        targets.append(Target("litellm", f"{litellm.url}/chat/completions", UPSTREAM_MODEL, headers))
    return targets


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    console = Console(width=150)
    connections = [int(c) for c in args.connections.split(",") if c.strip()]
    tool = args.loadgen if args.loadgen != "auto" else ("wrk" if wrk_available() else "python")
    warmup = 1.0 if args.quick else 2.0
    scratch = Path(tempfile.mkdtemp(prefix="homily-bench-"))
    load_before = os.getloadavg()
    rows: list[Row] = []
    ttft: dict[str, TtftResult] = {}
    try:
        with contextlib.ExitStack() as stack:
            targets = start_targets(args, scratch, stack, console)
            for target in targets:
                check_target(target)
            console.log(
                f"load generator: {tool}; {args.duration:g} s per run; connections {connections}; "
                f"{args.repeat} round(s); load average {load_before[0]:.1f} on {os.cpu_count()} CPUs"
            )
            for target in targets:
                warm_up(target, max(connections), warmup, tool)
            for _ in range(args.repeat):
                for target in targets:
                    rows.extend(measure_round(target, connections, duration=args.duration, tool=tool, console=console))
            for target in targets:
                ttft[target.name] = measure_ttft(target.spec("stream"), args.ttft_samples)
    except Exception:
        console.log(f"benchmark failed; server logs kept in {scratch}")
        raise
    if not args.keep_logs:
        shutil.rmtree(scratch, ignore_errors=True)
    rows = with_added_latency(median_rows(rows))
    render(console, rows, ttft)
    verdict = acceptance(rows)
    console.print(verdict)
    report = {
        "meta": {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])]),
            "commit": git_commit(),
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
            "python": platform.python_version(),
            "loadgen": tool,
            "duration_s": args.duration,
            "repeat": args.repeat,
            "ttft_samples": args.ttft_samples,
        },
        "rows": [row.to_json() for row in rows],
        "ttft": {name: result.to_json() for name, result in ttft.items()},
        "acceptance": verdict,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.output_dir / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    console.log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
