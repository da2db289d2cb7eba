"""Twelve invented NRM cases for the monitoring tests, and what the test knows it did.

Each case is referred, screened after a chosen number of hours, given consent
at once and decided on reasonable grounds after a chosen number of days;
decisions after 10 days or more miss the 5-working-day target. The
``Seeded`` record holds only what the seeding itself chose, so the tests can
compute every expected figure without the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.clock import FixedClock
from engine.db import Database
from tests.conftest import fresh_database_url
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase, nrm_runtime

MARCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
APRIL = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)
LATE_AFTER_DAYS = 10  # 10 calendar days are always more than 5 working days


@dataclass(frozen=True)
class Plan:
    month: str
    sex: str
    age_group: str
    nationality_group: str
    exploitation: tuple[str, ...]
    rg: str
    rg_days: int
    screening_hours: int


def _plans() -> list[Plan]:
    rows = [
        ("male", "25_34", "third_country", ("labour",), "positive", 1),
        ("male", "25_34", "third_country", ("labour",), "positive", 2),
        ("male", "18_24", "eu_eea", ("labour",), "negative", 10),
        ("male", "35_49", "third_country", ("labour", "criminal"), "positive", 11),
        ("male", "25_34", "national", ("labour",), "positive", 3),
        ("female", "18_24", "third_country", ("sexual",), "negative", 1),
        ("female", "25_34", "third_country", ("sexual",), "positive", 10),
        ("female", "18_24", "eu_eea", ("sexual",), "negative", 2),
        ("other_or_not_stated", "35_49", "third_country", ("labour",), "positive", 12),
        ("male", "25_34", "third_country", ("labour",), "positive", 1),
        ("male", "50_plus", "national", ("labour", "criminal"), "negative", 11),
        ("female", "25_34", "third_country", ("labour",), "negative", 2),
    ]
    return [
        Plan(
            "2026-03" if i < 9 else "2026-04",
            *row[:4],
            rg=row[4],
            rg_days=row[5],
            screening_hours=i + 1 if i < 9 else 2,
        )
        for i, row in enumerate(rows)
    ]


@dataclass
class Seeded:
    db: Database
    clock: FixedClock
    plans: list[Plan]
    cases: list[NrmCase] = field(default_factory=list)
    # what the seeding did, task by task: (task, stage, duration)
    durations: list[tuple[str, str, timedelta]] = field(default_factory=list)


def seed(db: Database, clock: FixedClock) -> Seeded:
    runtime = nrm_runtime(db, clock)
    seeded = Seeded(db, clock, _plans())
    for start, group in ((MARCH, seeded.plans[:9]), (APRIL, seeded.plans[9:])):
        clock.set(start)
        cases = [NrmCase.refer(runtime, db, clock) for _ in group]
        seeded.cases += cases
        decided_from: list[tuple[datetime, NrmCase, Plan]] = []
        for case, plan in sorted(
            zip(cases, group, strict=True), key=lambda p: p[1].screening_hours
        ):
            case.advance_to(start + timedelta(hours=plan.screening_hours))
            screening = answers.screening(
                sex=plan.sex,
                age_group=plan.age_group,
                nationality_group=plan.nationality_group,
                exploitation_types=list(plan.exploitation),
            )
            case.complete("screen_indicators", screening, "first_responder")
            case.complete("obtain_consent", answers.consent_given(), "first_responder")
            hours = timedelta(hours=plan.screening_hours)
            seeded.durations += [
                ("screen_indicators", "nrm_identification", hours),
                ("obtain_consent", "nrm_identification", timedelta(0)),
                (
                    "decide_reasonable_grounds",
                    "nrm_referral_decision",
                    timedelta(days=plan.rg_days),
                ),
            ]
            decided_from.append((clock.now() + timedelta(days=plan.rg_days), case, plan))
        for moment, case, plan in sorted(decided_from, key=lambda d: d[0]):
            case.advance_to(moment)
            case.complete("decide_reasonable_grounds", answers.rg(plan.rg), "competent_authority")
    return seeded


def seeded_database(backend: str, tmp: Path) -> Iterator[Seeded]:
    """A seeded database of its own for one test module (seeding once keeps the module fast)."""
    with fresh_database_url(backend, tmp / "statistics.db") as url:
        database = Database(url)
        database.upgrade()
        yield seed(database, FixedClock(MARCH))
        database.dispose()
