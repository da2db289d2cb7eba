"""Task durations as figures: median and 90th percentile per stage and per task.

Durations are suppressed as counts are: a median over fewer than
``SMALLEST_SHOWN`` completed tasks could describe one person's case.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING

from engine.durations import spread
from engine.model_labels import ModelLabels, readable
from workflows.small_cells import SMALLEST_SHOWN
from workflows.stages import stage_title
from workflows.statistics_values import N_, Figure, Row, Value

if TYPE_CHECKING:
    from workflows.statistics_figures import Facts


def median_value(durations: list[timedelta]) -> Value:
    return _spread_values(durations)[0]


def duration_figures(facts: Facts, labels: ModelLabels | None) -> list[Figure]:
    columns = (N_("Median"), N_("90th percentile"))
    note = N_(
        "From the moment a task appears in an inbox to its completion; nearest-rank median and "
        "90th percentile. Not shown over fewer than 5 completed tasks."
    )
    figures = []
    for key, title, attribute in (
        ("durations_per_stage", N_("Task durations per stage"), "stage"),
        ("durations_per_task", N_("Task durations per task"), "task"),
    ):
        groups: dict[str, list[timedelta]] = defaultdict(list)
        for item in facts.durations:
            groups[getattr(item, attribute)].append(item.duration)
        rows, chart = [], []
        for name in sorted(groups):
            label = stage_title(name) if attribute == "stage" else task_name(labels, name)
            median, p90 = _spread_values(groups[name])
            rows.append(Row(label, (median, p90)))
            chart.append((label, median))
        figures.append(Figure(key, title, note, columns, tuple(rows), tuple(chart)))
    return figures


def _spread_values(durations: list[timedelta]) -> tuple[Value, Value]:
    found = spread(durations)
    if found is None or found.count < SMALLEST_SHOWN:
        hidden = Value("duration", None, "too_few")
        return hidden, hidden
    return (
        Value("duration", found.median.total_seconds(), "count"),
        Value("duration", found.p90.total_seconds(), "count"),
    )


def task_name(labels: ModelLabels | None, task: str) -> str:
    return labels.element_title(task) if labels else readable(task)
