"""The audit chain notices any edited, deleted or reordered row."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from engine import audit
from engine.clock import FixedClock
from engine.db import Database
from engine.models import AuditEvent


def _append_events(db: Database, clock: FixedClock, count: int) -> None:
    with db.transaction() as session:
        events = [audit.PendingEvent("tester", "noted", payload={"n": n}) for n in range(count)]
        audit.append(session, events, clock.now())


def _verify(db: Database) -> audit.Verification:
    with db.reader() as session:
        return audit.verify(session)


def test_intact_chain_verifies_with_its_count(db: Database, clock: FixedClock) -> None:
    _append_events(db, clock, 5)
    _append_events(db, clock, 3)
    result = _verify(db)
    assert result.intact and result.count == 8


def test_edited_payload_is_named_by_sequence(db: Database, clock: FixedClock) -> None:
    _append_events(db, clock, 5)
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(payload='{"n": 99}'))
    result = _verify(db)
    assert not result.intact and result.first_bad_seq == 3


def test_edited_actor_is_detected(db: Database, clock: FixedClock) -> None:
    _append_events(db, clock, 4)
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="someone else"))
    assert _verify(db).first_bad_seq == 2


def test_deleted_row_is_detected(db: Database, clock: FixedClock) -> None:
    _append_events(db, clock, 5)
    with db.transaction() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 4))
    result = _verify(db)
    assert not result.intact and result.first_bad_seq == 4


def test_deleted_tail_is_detected(db: Database, clock: FixedClock) -> None:
    _append_events(db, clock, 5)
    with db.transaction() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 5))
    result = _verify(db)
    assert not result.intact and result.first_bad_seq == 5


def test_swapped_rows_are_detected(db: Database, clock: FixedClock) -> None:
    _append_events(db, clock, 5)
    with db.transaction() as session:
        two, three = (session.get(AuditEvent, n) for n in (2, 3))
        assert two is not None and three is not None
        fields = ("payload", "prev_hash", "hash")
        swapped = {f: getattr(three, f) for f in fields}, {f: getattr(two, f) for f in fields}
        for event, values in zip((two, three), swapped, strict=True):
            for name, value in values.items():
                setattr(event, name, value)
    result = _verify(db)
    assert not result.intact and result.first_bad_seq == 2


def test_rewriting_a_row_and_its_own_hash_still_breaks_the_next_link(
    db: Database, clock: FixedClock
) -> None:
    _append_events(db, clock, 5)
    with db.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.seq == 2)).one()
        event.payload = '{"n": "forged"}'
        event.hash = audit.event_hash(event)
    result = _verify(db)
    assert not result.intact and result.first_bad_seq == 3
