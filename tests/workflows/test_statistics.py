"""The monitoring figures equal figures the test computes from what it did, and small
counts stay hidden: no suppressed count can be worked out from the ones shown."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from engine.durations import nearest_rank
from tests.conftest import BACKENDS
from tests.workflows.statistics_seed import Seeded, seeded_database
from workflows.small_cells import CountSheet, Shown
from workflows.statistics import dashboard
from workflows.statistics_values import Figure, Value


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    yield from seeded_database(request.param, tmp_path_factory.mktemp("statistics"))


@pytest.fixture(scope="module")
def figures(seeded: Seeded) -> dict[str, Figure]:
    board = dashboard(seeded.db, seeded.clock, "demo.coordinator")
    return {figure.key: figure for figure in board.figures}


def cell(figure: Figure, row: str, column: int = 0) -> Value:
    return next(r.values[column] for r in figure.rows if r.label == row)


def assert_published(value: Value, expected: int) -> None:
    """A count is shown as it is, as "<5" when 1 to 4, or hidden (then it is 5 or more)."""
    if 0 < expected < 5:
        assert value.shown == "small", (value, expected)
    elif value.shown == "hidden":
        assert expected >= 5
    else:
        assert (value.shown, value.number) == ("count", expected)


def test_referrals_per_month_and_by_sex(seeded: Seeded, figures: dict[str, Figure]) -> None:
    months = Counter(plan.month for plan in seeded.plans)
    referrals = figures["referrals_per_month"]
    for month, n in months.items():
        assert_published(cell(referrals, month), n)
    assert_published(cell(referrals, "Total"), len(seeded.plans))
    by_sex = figures["referrals_by_sex"]
    columns = list(by_sex.columns)
    for month in [*months, "All months"]:
        counted = Counter(p.sex for p in seeded.plans if month in (p.month, "All months"))
        for sex, title in (
            ("female", "Female"),
            ("male", "Male"),
            ("other_or_not_stated", "Other or not stated"),
        ):
            assert_published(cell(by_sex, month, columns.index(title)), counted[sex])
    # March has 3 women: shown as "<5"
    assert cell(by_sex, "2026-03", columns.index("Female")).shown == "small"


def test_exploitation_age_and_nationality(seeded: Seeded, figures: dict[str, Figure]) -> None:
    exploitation = figures["referrals_by_exploitation"]
    columns = list(exploitation.columns)
    types = Counter(t for p in seeded.plans for t in p.exploitation)
    for kind, title in (
        ("labour", "Labour exploitation"),
        ("sexual", "Sexual exploitation"),
        ("criminal", "Criminal exploitation"),
    ):
        assert_published(cell(exploitation, "All months", columns.index(title)), types[kind])
    ages = figures["referrals_by_age_group"]
    counted = Counter(p.age_group for p in seeded.plans)
    assert_published(
        cell(ages, "All months", list(ages.columns).index("25 to 34")), counted["25_34"]
    )
    nationality = figures["referrals_by_nationality_group"]
    counted = Counter(p.nationality_group for p in seeded.plans)
    column = list(nationality.columns).index("Third-country national")
    assert_published(cell(nationality, "All months", column), counted["third_country"])


def test_decisions_and_rg_target(seeded: Seeded, figures: dict[str, Figure]) -> None:
    outcomes = Counter(p.rg for p in seeded.plans)
    decisions = figures["decision_outcomes"]
    rows = {r.label: r.values[0] for r in decisions.rows}
    positive = next(
        v for label, v in rows.items() if label.startswith("Reasonable grounds: Positive")
    )
    negative = next(
        v for label, v in rows.items() if label.startswith("Reasonable grounds: Negative")
    )
    assert_published(positive, outcomes["positive"])
    assert_published(negative, outcomes["negative"])
    late = sum(p.rg_days >= 10 for p in seeded.plans)
    within = len(seeded.plans) - late
    target = figures["rg_within_target"]
    assert_published(cell(target, "Within target"), within)
    assert_published(cell(target, "After the target"), late)
    assert cell(target, "Within target", 1).number == round(100 * within / len(seeded.plans), 1)


def test_durations_use_nearest_rank(seeded: Seeded, figures: dict[str, Figure]) -> None:
    def expected(values: list[timedelta], percent: int) -> float:
        ordered = sorted(v.total_seconds() for v in values)
        return ordered[math.ceil(percent / 100 * len(ordered)) - 1]

    per_task = figures["durations_per_task"]
    for task, title in (
        ("screen_indicators", "Screen for indicators of trafficking"),
        ("decide_reasonable_grounds", "Decide on reasonable grounds"),
    ):
        values = [d for t, _s, d in seeded.durations if t == task]
        assert cell(per_task, title, 0).number == expected(values, 50)
        assert cell(per_task, title, 1).number == expected(values, 90)
    per_stage = figures["durations_per_stage"]
    values = [d for _t, s, d in seeded.durations if s == "nrm_identification"]
    assert cell(per_stage, "Identification", 1).number == expected(values, 90)
    assert nearest_rank([4, 1, 3, 2], 50) == 2  # the 2nd of 4, never interpolated


def test_open_cases_and_overdue_match_the_inbox(seeded: Seeded, figures: dict[str, Figure]) -> None:
    runtime = seeded.cases[0].runtime
    items = runtime.work_items()
    stages = Counter(stage for stage in {(i.instance_id, i.stage) for i in items})
    per_stage = {r.label: r.values[0] for r in figures["cases_per_stage"].rows}
    assert_published(
        per_stage["Referral decision"], sum(1 for (_c, s) in stages if s == "nrm_referral_decision")
    )
    overdue = [i for i in items if i.due_at and i.due_at < seeded.clock.now()]
    assert_published(cell(figures["overdue_per_role"], "Total"), len(overdue))


def test_no_suppressed_count_follows_from_a_total(figures: dict[str, Figure]) -> None:
    """In every row and column with a shown total, never exactly one count is hidden."""
    for key in ("referrals_by_sex", "referrals_by_age_group", "referrals_by_nationality_group"):
        figure = figures[key]
        grid = [[v.shown for v in row.values] for row in figure.rows]
        lines = grid + [list(column) for column in zip(*grid, strict=True)]
        for line in lines:
            *parts, total = line
            if total == "count":
                assert sum(p != "count" for p in parts) != 1, (key, line)


def test_sheet_hides_a_second_count_or_the_total() -> None:
    sheet = CountSheet()
    for name, value in (("a", 3), ("b", 10), ("c", 7), ("t", 20)):
        sheet.count((name,), value)
    sheet.add_relation(("t",), [("a",), ("b",), ("c",)])
    shown = sheet.protect()
    assert shown[("a",)] is Shown.SMALL
    assert shown[("c",)] is Shown.HIDDEN  # the smallest other part
    # 1 + 5 = 6: with the total shown, "<5" and "5 or more" would pin the 1
    sheet = CountSheet()
    for name, value in (("a", 1), ("b", 5), ("t", 6)):
        sheet.count((name,), value)
    sheet.add_relation(("t",), [("a",), ("b",)])
    assert sheet.protect()[("t",)] is Shown.HIDDEN
