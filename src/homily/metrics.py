"""Counters and latency histograms, rendered in the Prometheus text format at `GET /metrics`.

One `Metrics` object per process (held by `Services`, never a module global). Label sets are small and fixed by the
code (status classes, model ids, categories), so memory stays bounded.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

Labels = tuple[tuple[str, str], ...]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _label_text(labels: Labels) -> str:
    if not labels:
        return ""
    escaped = (
        f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for key, value in labels
    )
    return "{" + ",".join(escaped) + "}"


class _Histogram:
    __slots__ = ("buckets", "count", "total")

    def __init__(self) -> None:
        self.buckets = [0] * len(LATENCY_BUCKETS)
        self.count = 0
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        index = bisect.bisect_left(LATENCY_BUCKETS, seconds)
        if index < len(self.buckets):
            self.buckets[index] += 1
        self.count += 1
        self.total += seconds


class Metrics:
    """Named counters and histograms with descriptions; `render()` gives the exposition text."""

    def __init__(self) -> None:
        self._counters: dict[str, dict[Labels, float]] = {}
        self._gauges: dict[str, dict[Labels, float]] = {}
        self._histograms: dict[str, dict[Labels, _Histogram]] = {}
        self._help: dict[str, str] = {}

    def describe(self, name: str, text: str) -> None:
        self._help[name] = text

    def inc(self, name: str, labels: Labels = (), value: float = 1.0) -> None:
        series = self._counters.setdefault(name, {})
        series[labels] = series.get(labels, 0.0) + value

    def observe(self, name: str, seconds: float, labels: Labels = ()) -> None:
        series = self._histograms.setdefault(name, {})
        histogram = series.get(labels)
        if histogram is None:
            histogram = series[labels] = _Histogram()
        histogram.observe(seconds)

    def set_gauge(self, name: str, value: float, labels: Labels = ()) -> None:
        self._gauges.setdefault(name, {})[labels] = value

    def counter(self, name: str, labels: Labels = ()) -> float:
        return self._counters.get(name, {}).get(labels, 0.0)

    def render(self) -> str:
        lines: list[str] = []
        for kind, table in (("counter", self._counters), ("gauge", self._gauges)):
            for name, series in sorted(table.items()):
                lines.extend(self._header(name, kind))
                lines.extend(f"{name}{_label_text(labels)} {value:g}" for labels, value in sorted(series.items()))
        for name, histograms in sorted(self._histograms.items()):
            lines.extend(self._header(name, "histogram"))
            for labels, histogram in sorted(histograms.items()):
                lines.extend(self._histogram_lines(name, labels, histogram))
        return "\n".join(lines) + "\n"

    def _header(self, name: str, kind: str) -> Iterable[str]:
        if name in self._help:
            yield f"# HELP {name} {self._help[name]}"
        yield f"# TYPE {name} {kind}"

    @staticmethod
    def _histogram_lines(name: str, labels: Labels, histogram: _Histogram) -> Iterable[str]:
        cumulative = 0
        for bound, count in zip(LATENCY_BUCKETS, histogram.buckets, strict=True):
            cumulative += count
            yield f"{name}_bucket{_label_text((*labels, ('le', f'{bound:g}')))} {cumulative}"
        yield f"{name}_bucket{_label_text((*labels, ('le', '+Inf')))} {histogram.count}"
        yield f"{name}_sum{_label_text(labels)} {histogram.total:.6f}"
        yield f"{name}_count{_label_text(labels)} {histogram.count}"


def standard_metrics() -> Metrics:
    metrics = Metrics()
    metrics.describe("homily_http_requests_total", "HTTP requests by method and status class")
    metrics.describe("homily_http_request_seconds", "HTTP request duration (streams: until the last byte)")
    metrics.describe("homily_completions_total", "Completions by answering model, routing mechanism and tier")
    metrics.describe("homily_upstream_errors_total", "Upstream failures by model and error code")
    metrics.describe("homily_errors_total", "Error responses (API.md section 7 envelope) by error name and status")
    metrics.describe("homily_ingestion_items_total", "Ingested items by outcome (completed, failed)")
    metrics.describe(
        "homily_ingestion_pending_items", "Items still to chunk or embed (updated while a backlog drains, 0 when idle)"
    )
    return metrics
