"""The NRM monitoring figures, built from facts read from the database (``statistics``).

Each builder counts into one shared :class:`CountSheet` and declares how its
counts add up (a month's referrals are the sum of that month's referrals by
sex, ...), so suppression sees every table at once; the figures are drawn
only after it ran. Labels are English and marked with ``N_``; ``web``
translates them when shown.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.clock import as_utc
from engine.durations import TaskDuration
from engine.model_labels import ModelLabels
from engine.models import WorkItem
from workflows.roles import ROLES_BY_KEY
from workflows.small_cells import SMALLEST_SHOWN, CountSheet, Key, Shown
from workflows.stages import stage_title
from workflows.statistics_durations import duration_figures
from workflows.statistics_values import N_, Figure, Row, Value

RG_TASK = "decide_reasonable_grounds"
RG_TARGET_TIMER = "rg_target_missed"
PROFILE_FIELDS = ("sex", "age_group", "nationality_group")
EXPLOITATION_FIELD = "exploitation_types"
NOT_RECORDED = "not_recorded"


# (task, field, title): every decision a form records, in the order of a case
DECISIONS: tuple[tuple[str, str, str], ...] = (
    ("assess_age", "age_assessment_outcome", N_("Age assessment")),
    (RG_TASK, "rg_decision", N_("Reasonable grounds")),
    ("reconsider_reasonable_grounds", "rg_decision", N_("Reasonable grounds on reconsideration")),
    ("decide_conclusive_grounds", "cg_decision", N_("Conclusive grounds")),
    ("consider_non_punishment", "non_punishment_decision", N_("Non-punishment")),
    ("decide_cooperation", "cooperation_accepted", N_("Cooperation with the prosecution accepted")),
    ("decide_cooperation_permit", "permit_granted", N_("Residence permit for cooperation")),
    (
        "grant_personal_situation_permit",
        "permit_granted",
        N_("Residence permit for the personal situation"),
    ),
    ("agree_durable_solution", "durable_solution", N_("Durable solution")),
    ("decide_after_high_risk", "return_decision", N_("Return after a high pre-return risk")),
    ("follow_proceedings", "proceedings_outcome", N_("Outcome of proceedings")),
    ("record_proceedings_outcome", "proceedings_outcome", N_("Outcome of proceedings (recorded)")),
    ("close_case", "closure_reason", N_("Closure reason")),
)
PROFILE_TITLES = {
    "sex": N_("Referrals per month by sex"),
    "age_group": N_("Referrals per month by age group"),
    "nationality_group": N_("Referrals per month by nationality group"),
}
TOTAL = N_("Total")
ALL_MONTHS = N_("All months")
COUNT = N_("Cases")
DECISIONS_COLUMN = N_("Decisions")
TASKS_COLUMN = N_("Tasks")


@dataclass
class CaseFacts:
    id: int
    month: str
    values: dict[str, Any]


@dataclass
class Facts:
    """What the figures are computed from, read in one transaction."""

    cases: dict[int, CaseFacts]
    decisions: list[tuple[str, str, Any]]  # (task, field, value) per submission
    rg_late: list[bool]  # per RG decision: made after its target timer fired
    durations: list[TaskDuration]
    open_items: list[WorkItem]
    open_cases: dict[int, str]  # open case id → status


# ---------------------------------------------------------------- figures


Plan = Callable[[], Figure]  # draws a figure once suppression has run


class _Builder:
    """Collects counts into one sheet, then renders figures once suppression is known."""

    def __init__(self) -> None:
        self.sheet = CountSheet()
        self.shown: dict[Key, Shown] = {}

    def count(self, key: Key, value: int) -> Key:
        self.sheet.count(key, value)
        return key

    def value(self, key: Key) -> Value:
        shown = self.shown[key]
        number = float(self.sheet.values[key]) if shown is Shown.COUNT else None
        return Value("count", number, shown.value)

    def percent(self, part: Key, whole: Key) -> Value:
        total = self.sheet.values[whole]
        visible = self.shown[part] is Shown.COUNT and self.shown[whole] is Shown.COUNT
        if total < SMALLEST_SHOWN or not visible:
            return Value("percent", None, "too_few")
        return Value("percent", round(100 * self.sheet.values[part] / total, 1), "count")


def figures(facts: Facts, labels: ModelLabels | None, now: datetime) -> tuple[Figure, ...]:
    b = _Builder()
    months = sorted({case.month for case in facts.cases.values()})
    plans = [
        _stages(b, facts),
        _referrals(b, facts, months),
        _exploitation(b, facts, months, labels),
        *[_profile(b, facts, months, field, labels) for field in PROFILE_FIELDS],
        _decisions(b, facts, labels),
        _rg_target(b, facts),
        _overdue(b, facts, now),
    ]
    b.shown = b.sheet.protect()
    figures = [plan() for plan in plans]
    figures += duration_figures(facts, labels)
    return tuple(figures)


def _choices(labels: ModelLabels | None, field: str) -> Mapping[str, str]:
    found = labels.fields.get(field) if labels else None
    return found.choices if found else {}


def _one_column(
    b: _Builder,
    key: str,
    title: str,
    note: str,
    rows: list[tuple[str, Key]],
    total: Key | None,
    column: str = COUNT,
) -> Figure:
    body = [Row(label, (b.value(k),)) for label, k in rows]
    if total is not None:
        body.append(Row(TOTAL, (b.value(total),), total=True))
    chart = tuple((label, b.value(k)) for label, k in rows)
    return Figure(key, title, note, (column,), tuple(body), chart)


def _stages(b: _Builder, facts: Facts) -> Plan:
    stages_of: dict[int, set[str]] = defaultdict(set)
    for item in facts.open_items:
        if item.instance_id in facts.open_cases and item.stage:
            stages_of[item.instance_id].add(item.stage)
    counted = Counter(
        stage for case in facts.open_cases for stage in stages_of[case] or {"waiting"}
    )
    rows = [(stage_title(s), b.count(("stage", s), n)) for s, n in sorted(counted.items())]
    note = N_(
        "Open cases by the stage of their open tasks; a case with open tasks in two stages "
        "counts in both, a case waiting for a time limit or a message counts as waiting."
    )
    return lambda: _one_column(b, "cases_per_stage", N_("Open cases per stage"), note, rows, None)


def _referrals(b: _Builder, facts: Facts, months: list[str]) -> Plan:
    per_month = Counter(case.month for case in facts.cases.values())
    rows = [(m, b.count(("referrals", m), per_month[m])) for m in months]
    total = b.count(("referrals",), len(facts.cases))
    b.sheet.add_relation(total, [k for _m, k in rows])
    note = N_("Referrals by the month the case was started.")
    return lambda: _one_column(
        b, "referrals_per_month", N_("Referrals per month"), note, rows, total
    )


def _profile(
    b: _Builder, facts: Facts, months: list[str], field: str, labels: ModelLabels | None
) -> Plan:
    choices = {**_choices(labels, field), NOT_RECORDED: N_("Not recorded")}
    counts = Counter(
        (case.month, case.values.get(field) if case.values.get(field) in choices else NOT_RECORDED)
        for case in facts.cases.values()
    )
    for m in months:
        keys = [b.count(("referrals", m, field, v), counts[(m, v)]) for v in choices]
        b.sheet.add_relation(("referrals", m), keys)
    columns = []
    for v in choices:
        column = b.count(("referrals", "*", field, v), sum(counts[(m, v)] for m in months))
        b.sheet.add_relation(column, [("referrals", m, field, v) for m in months])
        columns.append(column)
    b.sheet.add_relation(("referrals",), columns)
    note = N_("The last value recorded for each referral; each referral counts once.")
    return lambda: _cross(
        b, f"referrals_by_{field}", PROFILE_TITLES[field], note, months, field, choices, True
    )


def _exploitation(b: _Builder, facts: Facts, months: list[str], labels: ModelLabels | None) -> Plan:
    field = EXPLOITATION_FIELD
    choices = {**_choices(labels, field), NOT_RECORDED: N_("Not recorded")}
    counts: Counter[tuple[str, str]] = Counter()
    for case in facts.cases.values():
        named = [t for t in case.values.get(field) or [] if t in choices] or [NOT_RECORDED]
        counts.update((case.month, t) for t in named)
    for v in choices:
        cells = [b.count(("exploitation", m, v), counts[(m, v)]) for m in months]
        b.sheet.add_relation(
            b.count(("exploitation", "*", v), sum(counts[(m, v)] for m in months)), cells
        )
    note = N_(
        "A referral naming several forms of exploitation counts under each, so rows do not add "
        "up to the referrals of the month."
    )
    title = N_("Referrals per month by form of exploitation")
    return lambda: _cross(
        b, "referrals_by_exploitation", title, note, months, "exploitation", choices, False
    )


def _cross(
    b: _Builder,
    key: str,
    title: str,
    note: str,
    months: list[str],
    field: str,
    choices: Mapping[str, str],
    with_totals: bool,
) -> Figure:
    def cell(month: str, value: str) -> Key:
        return ("referrals", month, field, value) if with_totals else ("exploitation", month, value)

    rows = []
    for m in months:
        values = tuple(b.value(cell(m, v)) for v in choices)
        rows.append(Row(m, values + ((b.value(("referrals", m)),) if with_totals else ())))
    totals = tuple(b.value(cell("*", v)) for v in choices)
    rows.append(Row(ALL_MONTHS, totals + ((b.value(("referrals",)),) if with_totals else ()), True))
    columns = tuple(choices.values()) + ((TOTAL,) if with_totals else ())
    chart = tuple(zip(choices.values(), totals, strict=True))
    return Figure(key, title, note, columns, tuple(rows), chart)


def _decisions(b: _Builder, facts: Facts, labels: ModelLabels | None) -> Plan:
    counts = Counter(facts.decisions)
    plans = []
    for task, field, title in DECISIONS:
        choices = dict(_choices(labels, field)) or {"True": N_("Yes"), "False": N_("No")}
        keys = []
        for value, label in choices.items():
            n = sum(
                c for (t, f, v), c in counts.items() if (t, f) == (task, field) and str(v) == value
            )
            keys.append((label, b.count(("decision", task, field, value), n)))
        total = b.count(("decision", task, field), sum(b.sheet.values[k] for _l, k in keys))
        b.sheet.add_relation(total, [k for _l, k in keys])
        plans.append((task, title, keys, total))
    note = N_("Each decision as submitted; a case decided twice counts twice.")

    def figure() -> Figure:
        rows, chart = [], []
        for _task, title, keys, total in plans:
            for label, k in keys:
                rows.append(Row(f"{title}: {label}", (b.value(k),)))
                chart.append((f"{title}: {label}", b.value(k)))
            rows.append(Row(title, (b.value(total),), total=True))
        return Figure(
            "decision_outcomes",
            N_("Decision outcomes"),
            note,
            (DECISIONS_COLUMN,),
            tuple(rows),
            tuple(chart),
        )

    return figure


def _rg_target(b: _Builder, facts: Facts) -> Plan:
    late = sum(facts.rg_late)
    within = b.count(("rg_target", "within"), len(facts.rg_late) - late)
    after = b.count(("rg_target", "late"), late)
    total = ("decision", RG_TASK, "rg_decision")
    b.sheet.add_relation(total, [within, after])
    note = N_(
        "A reasonable-grounds decision is late when its target time limit fired before it was "
        "made. Percentages over fewer than 5 decisions are not shown."
    )

    def figure() -> Figure:
        rows = (
            Row(N_("Within target"), (b.value(within), b.percent(within, total))),
            Row(N_("After the target"), (b.value(after), b.percent(after, total))),
            Row(TOTAL, (b.value(total), Value("percent", None, "too_few")), total=True),
        )
        chart = (
            (N_("Within target"), b.percent(within, total)),
            (N_("After the target"), b.percent(after, total)),
        )
        title = N_("Reasonable-grounds decisions within target")
        return Figure("rg_within_target", title, note, (DECISIONS_COLUMN, N_("Share")), rows, chart)

    return figure


def _overdue(b: _Builder, facts: Facts, now: datetime) -> Plan:
    roles = sorted({item.role or "" for item in facts.open_items})
    late = Counter(
        item.role or "" for item in facts.open_items if item.due_at and as_utc(item.due_at) < now
    )
    rows = [(_role_name(r), b.count(("overdue", r), late[r])) for r in roles]
    total = b.count(("overdue",), sum(late.values()))
    b.sheet.add_relation(total, [k for _l, k in rows])
    note = N_(
        "Open tasks past their due time, by the role (agency type) that works them: a task "
        "belongs to a role, not to one agency, until someone claims it."
    )
    return lambda: _one_column(
        b, "overdue_per_role", N_("Overdue tasks per agency type"), note, rows, total, TASKS_COLUMN
    )


def _role_name(role: str) -> str:
    known = ROLES_BY_KEY.get(role)
    return known.name if known else role
