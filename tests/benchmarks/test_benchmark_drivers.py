"""The benchmarks' drivers still tell the stories they claim to (no timing here).

A benchmark that silently ran a shorter case, or a loop that ended early, would
print flattering figures; these checks fail first.
"""

from __future__ import annotations

from benchmarks.engine_overhead import MONDAY, in_memory_case, scenario_a
from benchmarks.table import Figure, at_least, percentile, render
from engine.clock import FixedClock


def test_the_in_memory_baseline_runs_scenario_a_to_its_end() -> None:
    case = in_memory_case(FixedClock(MONDAY))
    scenario_a(case)
    assert [name for name, _ in case.timers_fired()] == [
        "recovery_period_ended",
        *["follow_up_due_event"] * 3,
    ]
    assert [name for name, _ in case.outbox()] == [
        "travel_document_request",
        "reintegration_referral",
    ]
    assert case.workflow.is_completed()


def test_the_table_marks_missed_targets_and_quantiles_are_exact() -> None:
    table = render(
        [Figure("area", "context", 12.5, "cases/s"), at_least("area", "ratio", 0.3, "ratio", 0.4)]
    )
    assert table.splitlines()[-1].endswith("MISSED")
    assert "ok" not in table.splitlines()[-2]
    assert percentile(list(range(1, 101)), 0.95) == 95.05
    assert percentile([3.0], 0.5) == 3.0
