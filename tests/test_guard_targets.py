"""The guard report's verdict on each target is computed from the rates, as the table shows them."""

from __future__ import annotations

import pytest

from homily.guard.evaluation import EvalRow, target_summary


@pytest.mark.parametrize(
    ("hits", "count", "target", "meets"),
    [
        (95, 100, ">= 95%", True),
        (94, 100, ">= 95%", False),
        (25, 250, "<= 10%", True),  # exactly 10.0%
        (26, 250, "<= 10%", False),
        (1, 3, "<= 33.3%", True),  # 33.3% as shown
        (5, 80, "<= 3% (pooled)", None),  # counted only in the pooled row
        (3, 100, "-", None),
    ],
)
def test_a_row_meets_its_target_as_the_table_shows_it(hits: int, count: int, target: str, meets: bool | None) -> None:
    assert EvalRow("set", "recall", count, hits, target).meets_target is meets


def test_the_summary_names_met_and_missed_rows_only() -> None:
    rows = [
        EvalRow("AdvBench", "recall", 100, 97, ">= 95%"),
        EvalRow("NotInject", "false positives", 100, 6, "<= 5%"),
        EvalRow("Vicuna", "false positives", 80, 1, "<= 3% (pooled)"),
    ]
    assert target_summary(rows) == "Targets met: AdvBench. Missed: NotInject."
