"""What a statistic is once computed: values that know whether they may be shown, in
rows and figures the web draws; shared by the count and duration figures."""

from __future__ import annotations

from dataclasses import dataclass


def N_(text: str) -> str:
    """Marks a title for translation; web translates it when shown."""
    return text


@dataclass(frozen=True)
class Value:
    """One figure as it may be published: ``number`` is None when it is not shown."""

    kind: str  # "count", "duration" (seconds) or "percent"
    number: float | None
    shown: str  # "count", "small" (<5), "hidden" (protects a small count), "too_few" (<5 cases)


@dataclass(frozen=True)
class Row:
    label: str
    values: tuple[Value, ...]
    total: bool = False


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    note: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    chart: tuple[tuple[str, Value], ...]  # the bars: a label and the value drawn
