"""Small-cell suppression: no published count lets a reader single out a person.

Every count from 1 to 4 is shown as "<5" (primary suppression). That alone is
not enough: a total and all but one of its parts give away the hidden part,
and the same total often appears in several tables. So all counts of a
dashboard go into one sheet, each under a key naming what it counts (a key
shared by two tables is one quantity), with the additive relations between
them (a total is the sum of its parts). A hidden count is *recoverable* when

- it is a linear combination of shown counts (checked exactly, by reducing
  the relations over the hidden counts to row echelon form), or
- the bounds a reader knows pin it down: "<5" means 1 to 4, and a count hidden
  only to protect another is 5 or more (zeros are shown and never hidden, so
  a second hidden count is known to be at least 5); bounds are propagated
  through the relations until nothing changes.

While a hidden count is recoverable, one more count in one of its relations is
hidden: the smallest shown non-zero part, else the relation's total
(secondary suppression, shown as a dash). Each round hides one more count, so
it ends.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction

Key = tuple[str, ...]
SMALLEST_SHOWN = 5


class Shown(Enum):
    COUNT = "count"  # shown as it is
    SMALL = "small"  # 1 to 4: shown as "<5"
    HIDDEN = "hidden"  # hidden so that a small count cannot be worked out: a dash


@dataclass(frozen=True)
class Relation:
    total: Key
    parts: tuple[Key, ...]


@dataclass
class CountSheet:
    """The counts of one publication and how they add up."""

    values: dict[Key, int] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)

    def count(self, key: Key, value: int) -> None:
        if self.values.get(key, value) != value:
            raise ValueError(f"two values for {key}")
        self.values[key] = value

    def add_relation(self, total: Key, parts: Iterable[Key]) -> None:
        """``total`` is the sum of ``parts``; every key must have been counted."""
        parts = tuple(parts)
        missing = [k for k in (total, *parts) if k not in self.values]
        if missing:
            raise KeyError(f"uncounted {missing[0]}")
        if sum(self.values[p] for p in parts) != self.values[total]:
            raise ValueError(f"{total} is not the sum of its parts")
        self.relations.append(Relation(total, parts))

    def protect(self) -> dict[Key, Shown]:
        shown = {
            k: Shown.SMALL if 0 < v < SMALLEST_SHOWN else Shown.COUNT
            for k, v in self.values.items()
        }
        while True:
            exposed = recoverable(self.values, self.relations, shown)
            if not exposed:
                return shown
            extra = self._next_to_hide(min(exposed), shown)
            if extra is None:  # nothing left to hide around it: cannot happen with true sums
                raise RuntimeError("small cell cannot be protected")
            shown[extra] = Shown.HIDDEN

    def _next_to_hide(self, exposed: Key, shown: dict[Key, Shown]) -> Key | None:
        candidates: list[tuple[int, int, Key]] = []
        for relation in self.relations:
            if exposed != relation.total and exposed not in relation.parts:
                continue
            for rank, key in [(0, p) for p in relation.parts] + [(1, relation.total)]:
                if shown[key] is Shown.COUNT and self.values[key] > 0:
                    candidates.append((rank, self.values[key], key))
        return min(candidates)[2] if candidates else None


def recoverable(
    values: dict[Key, int], relations: Sequence[Relation], shown: dict[Key, Shown]
) -> set[Key]:
    """The hidden counts a reader could work out from what is shown."""
    hidden = sorted(k for k, s in shown.items() if s is not Shown.COUNT)
    if not hidden:
        return set()
    equations = []  # (coefficients over hidden keys, constant)
    for relation in relations:
        terms = [(relation.total, -1)] + [(p, 1) for p in relation.parts]
        coefficients = {k: c for k, c in terms if shown[k] is not Shown.COUNT}
        if coefficients:
            constant = -sum(c * values[k] for k, c in terms if shown[k] is Shown.COUNT)
            equations.append((coefficients, constant))
    return _linearly_determined(hidden, equations) | _pinned_by_bounds(shown, equations)


def _linearly_determined(
    hidden: list[Key], equations: list[tuple[dict[Key, int], int]]
) -> set[Key]:
    """Keys whose unit vector lies in the row space: a reduced row equal to it."""
    index = {k: i for i, k in enumerate(hidden)}
    rows = [[Fraction(0)] * len(hidden) for _ in equations]
    for row, (coefficients, _constant) in zip(rows, equations, strict=True):
        for key, c in coefficients.items():
            row[index[key]] += c
    pivot_row = 0
    for column in range(len(hidden)):
        found = next((r for r in range(pivot_row, len(rows)) if rows[r][column] != 0), None)
        if found is None:
            continue
        rows[pivot_row], rows[found] = rows[found], rows[pivot_row]
        lead = rows[pivot_row][column]
        rows[pivot_row] = [x / lead for x in rows[pivot_row]]
        for r in range(len(rows)):
            if r != pivot_row and rows[r][column] != 0:
                factor = rows[r][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[pivot_row], strict=True)]
        pivot_row += 1
    determined = set()
    for row in rows[:pivot_row]:
        nonzero = [i for i, x in enumerate(row) if x != 0]
        if len(nonzero) == 1:
            determined.add(hidden[nonzero[0]])
    return determined


def _pinned_by_bounds(
    shown: dict[Key, Shown], equations: list[tuple[dict[Key, int], int]]
) -> set[Key]:
    """Propagate what a reader knows ("<5" is 1 to 4, a dash is 5 or more) through the relations."""
    bounds: dict[Key, list[float]] = {}
    for coefficients, _constant in equations:
        for key in coefficients:
            bounds[key] = [1, 4] if shown[key] is Shown.SMALL else [SMALLEST_SHOWN, math.inf]
    for _ in range(100):
        changed = False
        for coefficients, constant in equations:
            for key, c in coefficients.items():
                low, high = _others(coefficients, bounds, key)
                # c * x = constant - others
                ends = sorted([(constant - high) / c, (constant - low) / c])
                new = [max(bounds[key][0], ends[0]), min(bounds[key][1], ends[1])]
                if new != bounds[key]:
                    bounds[key], changed = new, True
        if not changed:
            break
    return {key for key, (low, high) in bounds.items() if high - low < 1}


def _others(
    coefficients: dict[Key, int], bounds: dict[Key, list[float]], key: Key
) -> tuple[float, float]:
    low = high = 0.0
    for other, c in coefficients.items():
        if other == key:
            continue
        a, b = c * bounds[other][0], c * bounds[other][1]
        low, high = low + min(a, b), high + max(a, b)
    return low, high
