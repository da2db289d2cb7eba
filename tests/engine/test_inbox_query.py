"""The inbox query on work items inserted directly: filters, sorts, pages and counts."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from benchmarks.bulk import insert_cases, insert_work_items
from engine.clock import FixedClock
from engine.db import Database
from engine.inbox import (
    PAGE_SIZE,
    InboxFilters,
    colleagues_for,
    due_state,
    inbox_page,
)
from engine.users import add_user

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALL = InboxFilters()


def seed(db: Database, items: list[dict[str, Any]]) -> None:
    """One model version, one case per item unless an item names its case, then the items."""
    instances = sorted({item.get("instance_id", n + 1) for n, item in enumerate(items)})
    with db.transaction() as session:
        insert_cases(session, {n: f"2026-{n:09d}" for n in instances}, NOW)
        insert_work_items(
            session,
            [
                {
                    "id": n + 1,
                    "instance_id": n + 1,
                    "task_id": f"task-{n + 1}",
                    "task_name": f"task_{n + 1}",
                    "title": f"Task {n + 1:05d}",
                    "role": "caseworker",
                    "stage": "intake",
                    "created_at": NOW,
                    **item,
                }
                for n, item in enumerate(items)
            ],
        )


def page_of(db: Database, roles: set[str], **options: Any) -> Any:
    return inbox_page(
        db,
        roles,
        options.pop("username", "kim"),
        options.pop("filters", ALL),
        options.pop("sort", "due"),
        options.pop("page", 1),
        options.pop("now", NOW),
    )


def ids(page: Any) -> list[int]:
    return [entry.item.id for entry in page.items]


def test_only_the_roles_items_and_a_foreign_role_filter_matches_nothing(db: Database) -> None:
    seed(db, [{"role": "caseworker"}, {"role": "police"}, {"role": "caseworker"}])
    assert ids(page_of(db, {"caseworker"})) == [1, 3]
    foreign = page_of(db, {"caseworker"}, filters=InboxFilters(role="police"))
    assert (foreign.items, foreign.total) == ([], 0)
    assert foreign.by_role == {"caseworker": 0}


def test_filters_by_role_stage_overdue_and_assignee(db: Database) -> None:
    seed(
        db,
        [
            {"role": "caseworker", "stage": "intake", "due_at": NOW - timedelta(hours=1)},
            {"role": "caseworker", "stage": "assist", "due_at": NOW + timedelta(hours=1)},
            {"role": "police", "stage": "intake", "due_at": NOW - timedelta(days=2)},
            {"role": "police", "stage": "assist", "assignee": "kim"},
            {"role": "police", "stage": "assist", "assignee": "lee"},
        ],
    )
    roles = {"caseworker", "police"}
    assert ids(page_of(db, roles, filters=InboxFilters(role="police"))) == [3, 4, 5]
    assert ids(page_of(db, roles, filters=InboxFilters(stage="assist"))) == [2, 4, 5]
    assert ids(page_of(db, roles, filters=InboxFilters(overdue=True))) == [3, 1]
    assert ids(page_of(db, roles, filters=InboxFilters(assigned_to_me=True))) == [4]
    both = InboxFilters(role="caseworker", stage="intake", overdue=True)
    assert ids(page_of(db, roles, filters=both)) == [1]


def test_sorts_due_soonest_first_undated_last_then_created_reference_task(db: Database) -> None:
    seed(
        db,
        [
            {"due_at": None, "created_at": NOW, "title": "B", "instance_id": 4},
            {"due_at": NOW + timedelta(days=3), "created_at": NOW, "title": "D", "instance_id": 1},
            {"due_at": NOW - timedelta(days=1), "created_at": NOW, "title": "C", "instance_id": 3},
            {
                "due_at": NOW + timedelta(days=1),
                "created_at": NOW - timedelta(days=9),
                "title": "A",
                "instance_id": 2,
            },
        ],
    )
    roles = {"caseworker"}
    assert ids(page_of(db, roles)) == [3, 4, 2, 1]
    assert ids(page_of(db, roles, sort="created")) == [4, 1, 2, 3]
    assert ids(page_of(db, roles, sort="reference")) == [2, 4, 3, 1]
    assert ids(page_of(db, roles, sort="task")) == [4, 1, 3, 2]
    with pytest.raises(ValueError):
        page_of(db, roles, sort="name")


def test_pages_of_fifty_cover_every_item_once_and_clamp(db: Database) -> None:
    seed(db, [{"due_at": NOW + timedelta(hours=n % 7)} for n in range(120)])
    pages = [page_of(db, {"caseworker"}, page=n) for n in (1, 2, 3)]
    assert [(p.page, p.pages, len(p.items)) for p in pages] == [(1, 3, 50), (2, 3, 50), (3, 3, 20)]
    seen = [entry.item.id for p in pages for entry in p.items]
    assert sorted(seen) == list(range(1, 121))
    assert page_of(db, {"caseworker"}, page=99).page == 3
    assert page_of(db, {"caseworker"}, page=0).page == 1
    assert PAGE_SIZE == 50


def test_counts_describe_every_match_not_the_page(db: Database) -> None:
    seed(
        db,
        [{"role": "caseworker", "stage": "intake", "due_at": NOW - timedelta(days=1)}] * 60
        + [{"role": "caseworker", "stage": "assist"}] * 7
        + [{"role": "police", "stage": "assist", "due_at": NOW - timedelta(days=1)}] * 5
        + [{"role": "auditor", "stage": "assist"}] * 3,
    )
    roles = {"caseworker", "police", "supervisor"}
    everything = page_of(db, roles)
    assert everything.total == 72 and len(everything.items) == PAGE_SIZE
    assert everything.by_role == {"caseworker": 67, "police": 5, "supervisor": 0}
    assert everything.by_stage == {"assist": 12, "intake": 60}
    assert everything.stages == ["assist", "intake"]
    overdue = page_of(db, roles, filters=InboxFilters(overdue=True, stage="assist"))
    assert overdue.total == 5
    assert overdue.by_role == {"caseworker": 0, "police": 5, "supervisor": 0}
    assert overdue.by_stage == {"assist": 5}
    assert overdue.stages == ["assist", "intake"]  # the stage choices stay


def test_due_state_against_now_in_utc() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert due_state(None, now) is None
    assert due_state(now - timedelta(seconds=1), now) == "overdue"
    assert due_state(now, now) == "due_today"
    assert due_state(datetime(2026, 3, 2, 23, 59, tzinfo=UTC), now) == "due_today"
    assert due_state(datetime(2026, 3, 3, 0, 0, tzinfo=UTC), now) is None
    assert due_state(datetime(2026, 3, 2, 23, 0), now) == "due_today"  # naive from SQLite is UTC


def test_entries_carry_their_due_state(db: Database) -> None:
    seed(
        db,
        [
            {"due_at": NOW - timedelta(minutes=5)},
            {"due_at": NOW + timedelta(hours=5)},
            {"due_at": NOW + timedelta(days=5)},
            {},
        ],
    )
    page = page_of(db, {"caseworker"})
    assert [(e.item.id, e.due, e.overdue, e.due_today) for e in page.items] == [
        (1, "overdue", True, False),
        (2, "due_today", False, True),
        (3, None, False, False),
        (4, None, False, False),
    ]
    assert page.items[0].item.business_key == "2026-000000001"


def test_colleagues_are_of_the_same_agency_with_the_role(db: Database) -> None:
    clock = FixedClock(NOW)
    add_user(db, "ana", ["caseworker"], "Harbour", "tester", clock)
    add_user(db, "ben", ["caseworker", "supervisor"], "Harbour", "tester", clock)
    add_user(db, "cai", ["police"], "Harbour", "tester", clock)
    add_user(db, "dee", ["caseworker"], "Elsewhere", "tester", clock)
    add_user(db, "eve", ["caseworker"], None, "tester", clock)
    assert colleagues_for(db, "Harbour", "caseworker") == ["ana", "ben"]
    assert colleagues_for(db, "Harbour", "guardian") == []
    assert colleagues_for(db, None, "caseworker") == []


def test_ten_thousand_items_counted_exactly(db: Database) -> None:
    """Counts equal what Python counts from the inserted rows, for a filter too."""
    roles, stages = ["caseworker", "police", "lawyer", "guardian"], [f"stage_{n}" for n in range(5)]
    chance = random.Random(7)
    items = [
        {
            "role": chance.choice(roles),
            "stage": chance.choice(stages),
            "due_at": chance.choice([None, NOW + timedelta(hours=chance.randint(-500, 500))]),
            "assignee": chance.choice([None, None, "kim", "lee"]),
            "created_at": NOW - timedelta(minutes=n),
            "instance_id": n // 4 + 1,
        }
        for n in range(10_000)
    ]
    seed(db, items)
    mine = {"caseworker", "police", "lawyer"}

    def expected(keep: Any) -> tuple[int, Counter[str], Counter[str]]:
        kept = [i for i in items if i["role"] in mine and keep(i)]
        return len(kept), Counter(i["role"] for i in kept), Counter(i["stage"] for i in kept)

    page = page_of(db, mine)
    total, by_role, by_stage = expected(lambda i: True)
    assert page.total == total and page.pages == -(-total // PAGE_SIZE)
    assert page.by_role == {role: by_role[role] for role in sorted(mine)}
    assert page.by_stage == dict(by_stage)
    due = [entry.item.due_at for entry in page.items]
    assert len(due) == PAGE_SIZE and None not in due and due == sorted(due)

    overdue = InboxFilters(stage="stage_2", overdue=True, assigned_to_me=True)
    page = page_of(db, mine, filters=overdue)
    total, by_role, by_stage = expected(
        lambda i: (
            i["stage"] == "stage_2"
            and i["due_at"] is not None
            and i["due_at"] < NOW
            and i["assignee"] == "kim"
        )
    )
    assert total > 0 and page.total == total
    assert page.by_role == {role: by_role[role] for role in sorted(mine)}
    assert page.by_stage == dict(by_stage)
    assert {entry.item.id for entry in page.items} <= {n + 1 for n in range(10_000)}
    assert all(entry.overdue and entry.item.assignee == "kim" for entry in page.items)
