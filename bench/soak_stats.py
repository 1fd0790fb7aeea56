"""What both soak runs share: process readings from /proc, samples over time, and the memory-growth report."""

from __future__ import annotations

import socket
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass(slots=True)
class Sample:
    done: int
    rss_kib: int
    fds: int
    upstream_connections: int
    elapsed: float


def rss_kib(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int | str = "self") -> int:
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())


def unused_port() -> int:
    """A loopback port nothing listens on (free to bind, or to be refused when connected to)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def report(
    title: str, samples: list[Sample], outcomes: Counter[str], total: int, console: Console, *, final: Sample
) -> dict[str, object]:
    """Print the samples and the RSS growth between warm-up (a fifth of the run) and `final`; return it as JSON."""
    table = Table(title=title)
    for column in ("done", "RSS MiB", "open fds", "upstream conns", "elapsed s", "req/s"):
        table.add_column(column, justify="right")
    for sample in samples:
        rate = sample.done / sample.elapsed if sample.elapsed else 0.0
        table.add_row(
            str(sample.done),
            f"{sample.rss_kib / 1024:.1f}",
            str(sample.fds),
            str(sample.upstream_connections),
            f"{sample.elapsed:.1f}",
            f"{rate:.0f}",
        )
    console.print(table)
    console.print(dict(sorted(outcomes.items())))
    warm = next((s for s in samples if s.done >= total // 5), samples[0])
    growth = (final.rss_kib - warm.rss_kib) / 1024
    console.print(
        f"RSS after warm-up ({warm.done} requests) {warm.rss_kib / 1024:.1f} MiB; at {final.done}: "
        f"{final.rss_kib / 1024:.1f} MiB; growth {growth:+.1f} MiB"
    )
    return {
        "requests": total,
        "outcomes": dict(outcomes),
        "rss_growth_mib_after_warmup": round(growth, 2),
        "samples": [asdict(s) for s in samples],
    }
