"""Failed sign-ins per client address: a sliding window, kept and audited as an HMAC only."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import sign_in_limits
from engine.accounts import WRONG_CREDENTIALS
from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.errors import SignInFailed
from engine.models import AuditEvent, SignInAttempt
from engine.sign_in_limits import (
    AddressLimit,
    SignInThrottled,
    address_key,
    admit_attempt,
    client_network,
    forget_success,
)

SECRET = "a-secret-key-for-these-tests"
ADDRESS = "203.0.113.7"
LIMIT = AddressLimit(max_failures=20, window=timedelta(minutes=15))
KEY = address_key(SECRET, ADDRESS)


def fail(db: Database, clock: FixedClock, times: int, key: str = KEY) -> None:
    """``times`` attempts whose password proved wrong: their rows stay."""
    for _attempt in range(times):
        admit_attempt(db, key, clock.now(), LIMIT)


def refused(db: Database, clock: FixedClock, key: str = KEY) -> bool:
    try:
        attempt = admit_attempt(db, key, clock.now(), LIMIT)
    except SignInThrottled:
        return True
    forget_success(db, attempt)  # a right password: as the sign-in page does
    return False


def throttled_events(db: Database) -> list[AuditEvent]:
    with db.reader() as session:
        query = select(AuditEvent).where(AuditEvent.action == "sign_in_throttled")
        return list(session.scalars(query))


def stored_rows(db: Database) -> list[SignInAttempt]:
    with db.reader() as session:
        return list(session.scalars(select(SignInAttempt)))


# --- the address --------------------------------------------------------------


def test_the_key_is_an_hmac_of_the_address_under_the_secret() -> None:
    expected = hmac.new(SECRET.encode(), ADDRESS.encode(), hashlib.sha256).hexdigest()
    assert expected == KEY and ADDRESS not in KEY
    assert address_key("another-secret", ADDRESS) != KEY  # unguessable without the secret
    assert address_key(SECRET, "203.0.113.8") != KEY


def test_an_ipv6_client_counts_as_its_64_and_a_mapped_ipv4_as_itself() -> None:
    assert client_network("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert address_key(SECRET, "2001:db8:1:2::1") == address_key(SECRET, "2001:db8:1:2:ffff::9")
    assert address_key(SECRET, "2001:db8:1:2::1") != address_key(SECRET, "2001:db8:1:3::1")
    assert client_network("::ffff:203.0.113.7") == ADDRESS
    assert client_network(None) == "unknown" and client_network("") == "unknown"
    assert client_network("not an address") == "not an address"


def test_the_limit_comes_from_the_settings() -> None:
    settings = load_settings(
        {
            "NRMFLOW_SIGN_IN_ADDRESS_MAX_FAILURES": "7",
            "NRMFLOW_SIGN_IN_ADDRESS_WINDOW_MINUTES": "2.5",
        }
    )
    assert AddressLimit.from_settings(settings) == AddressLimit(7, timedelta(minutes=2.5))
    assert AddressLimit.from_settings(load_settings({})) == LIMIT


# --- counting -----------------------------------------------------------------


def test_the_21st_attempt_after_20_failures_is_refused_like_a_wrong_password(
    db: Database, clock: FixedClock
) -> None:
    fail(db, clock, 19)
    assert not refused(db, clock)  # a success does not count
    fail(db, clock, 1)
    with pytest.raises(SignInThrottled) as raised:
        admit_attempt(db, KEY, clock.now(), LIMIT)
    assert isinstance(raised.value, SignInFailed)
    assert str(raised.value) == WRONG_CREDENTIALS and raised.value.locked_until is None


def test_another_address_is_not_held_back(db: Database, clock: FixedClock) -> None:
    fail(db, clock, 20)
    assert refused(db, clock)
    assert not refused(db, clock, address_key(SECRET, "198.51.100.2"))


def test_a_success_does_not_reset_the_count(db: Database, clock: FixedClock) -> None:
    fail(db, clock, 10)
    for _success in range(30):  # someone's own account, between guesses
        assert not refused(db, clock)
    fail(db, clock, 10)
    assert refused(db, clock)


def test_the_window_slides(db: Database, clock: FixedClock) -> None:
    fail(db, clock, 10)
    clock.advance(minutes=10)
    fail(db, clock, 10)
    assert refused(db, clock)
    clock.advance(minutes=4, seconds=59)  # the first ten are 14:59 old: still counted
    assert refused(db, clock)
    clock.advance(seconds=2)  # now they are out of the window; ten are left
    assert not refused(db, clock)
    fail(db, clock, 9)
    assert not refused(db, clock)
    fail(db, clock, 1)
    assert refused(db, clock)
    clock.advance(minutes=15, seconds=1)
    assert not refused(db, clock)


def test_refused_attempts_do_not_count_as_failures(db: Database, clock: FixedClock) -> None:
    fail(db, clock, 20)
    for _attempt in range(50):
        clock.advance(seconds=10)
        assert refused(db, clock)  # hammering does not hold the address back for longer
    clock.advance(minutes=15)
    assert not refused(db, clock)


def test_attempts_still_being_checked_count_too(
    db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parallel attempt recorded between this one's check and its own record wins."""
    fail(db, clock, 19)
    record = sign_in_limits._record

    def record_after_a_parallel_one(*args):  # type: ignore[no-untyped-def]
        record(*args)  # the other request, a moment earlier
        return record(*args)

    monkeypatch.setattr(sign_in_limits, "_record", record_after_a_parallel_one)
    with pytest.raises(SignInThrottled):
        admit_attempt(db, KEY, clock.now(), LIMIT)
    monkeypatch.undo()
    counted = [row for row in stored_rows(db) if not row.throttled]
    assert len(counted) == 20  # the refused one's record is gone again
    assert refused(db, clock)


def test_rows_that_left_the_window_are_pruned(db: Database, clock: FixedClock) -> None:
    fail(db, clock, 20)
    refused(db, clock)
    fail(db, clock, 3, address_key(SECRET, "198.51.100.2"))
    clock.advance(minutes=16)
    fail(db, clock, 1, address_key(SECRET, "192.0.2.1"))
    assert [row.address for row in stored_rows(db)] == [address_key(SECRET, "192.0.2.1")]


# --- the audit trail ------------------------------------------------------------


def test_a_refusal_is_audited_once_per_window_with_the_address_hashed(
    db: Database, clock: FixedClock
) -> None:
    fail(db, clock, 20)
    for _attempt in range(5):
        clock.advance(minutes=1)
        assert refused(db, clock)
    events = throttled_events(db)
    assert len(events) == 1
    assert events[0].actor == "anonymous"
    assert json.loads(events[0].payload) == {"address": KEY}

    clock.advance(minutes=15)  # the failures are out of the window, and so is the refusal
    fail(db, clock, 20)
    assert refused(db, clock)
    assert len(throttled_events(db)) == 2


def test_neither_the_table_nor_the_audit_trail_holds_the_address(
    db: Database, clock: FixedClock
) -> None:
    fail(db, clock, 20)
    assert refused(db, clock)
    with db.reader() as session:
        everything = json.dumps(
            [(e.actor, e.action, e.payload) for e in session.scalars(select(AuditEvent))]
        )
    stored = {row.address for row in stored_rows(db)}
    assert stored == {KEY}
    assert ADDRESS not in everything and "203.0.113" not in everything
