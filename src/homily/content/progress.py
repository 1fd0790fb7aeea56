"""Progress of a long ingestion backlog (a bulk upload, the first start's library, re-embedding after a model
switch), told in the log: how many items are done, how many are left, and roughly how long the rest will take."""

from __future__ import annotations

from dataclasses import dataclass

REPORT_EVERY_SECONDS = 15.0
"""At most one progress line per this many seconds while a backlog drains."""

SMALL_BACKLOG_SECONDS = 5.0
"""A backlog drained within this long (a single upload, say) gets no summary line: the per-item lines suffice."""


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


@dataclass(slots=True)
class _Run:
    started_at: float
    last_report_at: float
    done: int = 0


class BacklogProgress:
    """Counts items finished since the worker last went from idle to busy and words progress lines.

    The caller passes the clock (`now`, in seconds) and how many items are still unfinished, so this holds no
    I/O and no timers. Items queued while a run drains simply join it: the total is always done + still pending.
    """

    def __init__(self, report_every: float = REPORT_EVERY_SECONDS) -> None:
        self._report_every = report_every
        self._run: _Run | None = None

    @property
    def running(self) -> bool:
        return self._run is not None

    def begin(self, now: float) -> None:
        """The worker found work after being idle (no effect while a run is under way)."""
        if self._run is None:
            self._run = _Run(started_at=now, last_report_at=now)

    def item_finished(self) -> None:
        if self._run is not None:
            self._run.done += 1

    def report_due(self, now: float) -> bool:
        return self._run is not None and now - self._run.last_report_at >= self._report_every

    def report(self, now: float, pending: int) -> str | None:
        """A progress line if one is due, given how many items are still unfinished."""
        run = self._run
        if run is None or not self.report_due(now) or pending <= 0:
            return None
        run.last_report_at = now
        elapsed = now - run.started_at
        line = f"ingestion: {run.done} of {run.done + pending} items done, {pending} left"
        if run.done:
            line += f", about {_duration(elapsed / run.done * pending)} to go"
        return line

    def end(self, now: float) -> str | None:
        """The queue is empty: the run's summary line, unless it was small and quick."""
        run, self._run = self._run, None
        if run is None or run.done == 0:
            return None
        elapsed = now - run.started_at
        if elapsed < SMALL_BACKLOG_SECONDS and run.done < 10:
            return None
        return f"ingestion: all {run.done} items done in {_duration(elapsed)}"
