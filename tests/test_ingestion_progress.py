"""How a long ingestion backlog reports its progress in the log."""

from __future__ import annotations

from homily.content.progress import BacklogProgress


def test_a_long_backlog_reports_done_left_and_time_to_go() -> None:
    progress = BacklogProgress(report_every=15.0)
    progress.begin(now=100.0)
    assert progress.report(now=101.0, pending=9) is None  # not due yet
    for _ in range(10):
        progress.item_finished()
    assert progress.report_due(now=120.0)
    line = progress.report(now=120.0, pending=30)
    assert line == "ingestion: 10 of 40 items done, 30 left, about 60 s to go"
    assert not progress.report_due(now=125.0)  # one line per interval
    for _ in range(30):
        progress.item_finished()
    assert progress.end(now=700.0) == "ingestion: all 40 items done in 10 min"
    assert not progress.running


def test_items_queued_mid_run_join_the_total() -> None:
    progress = BacklogProgress(report_every=1.0)
    progress.begin(now=0.0)
    progress.item_finished()
    progress.begin(now=0.5)  # still the same run
    progress.item_finished()
    assert progress.report(now=2.0, pending=8) == "ingestion: 2 of 10 items done, 8 left, about 8 s to go"


def test_no_time_estimate_before_the_first_item_finishes() -> None:
    progress = BacklogProgress(report_every=1.0)
    progress.begin(now=0.0)
    assert progress.report(now=5.0, pending=247) == "ingestion: 0 of 247 items done, 247 left"


def test_a_quick_single_upload_gets_no_summary() -> None:
    progress = BacklogProgress()
    progress.begin(now=0.0)
    progress.item_finished()
    assert progress.end(now=2.0) is None
    assert progress.end(now=3.0) is None  # nothing running
    progress.begin(now=10.0)
    assert progress.end(now=11.0) is None  # nothing finished


def test_durations_read_naturally() -> None:
    progress = BacklogProgress(report_every=0.0)
    progress.begin(now=0.0)
    progress.item_finished()
    assert progress.report(now=3600.0, pending=2) == "ingestion: 1 of 3 items done, 2 left, about 2.0 h to go"
