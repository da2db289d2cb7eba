"""At most N failed password sign-ins per client address per sliding window.

The per-account lock-out (engine/accounts.py) stops guessing one account's
password; it does nothing against one client trying a few passwords on
every account. This limit counts failures per address instead, across all
accounts, and is checked *before* the password is verified: argon2 is
deliberately expensive, so a throttled address must not cost the server
that work. A refusal says exactly what a wrong password says (no oracle
telling an attacker which guesses were never checked).

Addresses are never stored or audited in clear: both the table and the
audit trail carry an HMAC of the address keyed with the app's secret, which
tells one address from another but cannot be turned back into an address
(the IPv4 space is small enough to hash exhaustively without the key). An
IPv6 client usually holds a whole /64, so its /64 is what gets counted.

Each attempt is recorded before the password is checked and removed once it
succeeds: a failure is what remains. Counting attempts still in progress
keeps a burst of parallel guesses from all passing a check that none of
them has been counted in yet. A success does not reset the count: else an
attacker holding one account of their own could sign in with it between
guesses. Refusals are audited once per address and window, not once per
request: a flood of refused requests must not become a flood of writes to
the audit chain, whose single head row every other transaction needs too.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from engine import audit
from engine.accounts import UNKNOWN_ACTOR, WRONG_CREDENTIALS
from engine.config import Settings
from engine.db import Database
from engine.errors import SignInFailed
from engine.models import SignInAttempt

THROTTLED_ACTION = "sign_in_throttled"
IPV6_CLIENT_PREFIX = 64  # what one IPv6 subscriber is usually given


class SignInThrottled(SignInFailed):
    """Too many failures from this address lately; the password was not even checked.

    A ``SignInFailed`` with the same message as a wrong password, so every
    caller that shows one shows the other identically.
    """

    def __init__(self) -> None:
        super().__init__(WRONG_CREDENTIALS)


@dataclass(frozen=True)
class AddressLimit:
    max_failures: int
    window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressLimit:
        return cls(
            settings.sign_in_address_max_failures,
            timedelta(minutes=settings.sign_in_address_window_minutes),
        )


def address_key(secret: str, address: str | None) -> str:
    """The HMAC-SHA256 (hex) of the client's address, keyed with the app's secret."""
    return hmac.new(
        secret.encode("utf-8"), client_network(address).encode("utf-8"), hashlib.sha256
    ).hexdigest()


def client_network(address: str | None) -> str:
    """What counts as one client: an IPv4 address, or the /64 an IPv6 address is in.

    An IPv4 address seen through IPv6 (``::ffff:192.0.2.1``) is its IPv4
    address. Something that is no address at all (no ``REMOTE_ADDR``, a unix
    socket) is kept as written, so such clients share one count.
    """
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return address or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False))
    return str(parsed)


def admit_attempt(db: Database, address: str, now: datetime, limit: AddressLimit) -> int:
    """Record a sign-in attempt from ``address`` (an :func:`address_key`), or refuse it.

    Returns the attempt's id, for :func:`forget_success` once the password
    proves right. Raises :class:`SignInThrottled` when the address already has
    ``max_failures`` failures in the window: first on a cheap read, so a
    throttled client causes no write (bar one audit event per window); then
    again after recording, in case parallel attempts got there first.
    """
    since = now - limit.window
    if _failures(db, address, since) >= limit.max_failures:
        raise _throttled(db, address, now, since)
    attempt_id = _record(db, address, now, since)
    if _failures(db, address, since) > limit.max_failures:
        _remove(db, attempt_id)  # refused, so never checked: not a failure either
        raise _throttled(db, address, now, since)
    return attempt_id


def forget_success(db: Database, attempt_id: int) -> None:
    """A sign-in that succeeded was no failure: its attempt no longer counts."""
    _remove(db, attempt_id)


def _remove(db: Database, attempt_id: int) -> None:
    with db.transaction() as session:
        session.execute(delete(SignInAttempt).where(SignInAttempt.id == attempt_id))


def _failures(db: Database, address: str, since: datetime) -> int:
    with db.reader() as session:
        counted = _in_window(address, since, throttled=False).with_only_columns(func.count())
        return session.scalar(counted) or 0


def _in_window(address: str, since: datetime, throttled: bool) -> Select[tuple[SignInAttempt]]:
    return select(SignInAttempt).where(
        SignInAttempt.address == address,
        SignInAttempt.at > since,
        SignInAttempt.throttled.is_(throttled),
    )


def _record(db: Database, address: str, now: datetime, since: datetime) -> int:
    """Add the attempt, and drop every row that has left the window (any address's)."""
    with db.transaction() as session:
        session.execute(delete(SignInAttempt).where(SignInAttempt.at <= since))
        attempt = SignInAttempt(address=address, at=now, throttled=False)
        session.add(attempt)
        session.flush()
        return attempt.id


def _throttled(db: Database, address: str, now: datetime, since: datetime) -> SignInThrottled:
    """Audit the refusal, unless this address's refusals were audited within the window."""
    with db.transaction() as session:
        if not _refusal_audited(session, address, since):
            session.add(SignInAttempt(address=address, at=now, throttled=True))
            event = audit.PendingEvent(
                actor=UNKNOWN_ACTOR, action=THROTTLED_ACTION, payload={"address": address}
            )
            audit.append(session, [event], now)
    return SignInThrottled()


def _refusal_audited(session: Session, address: str, since: datetime) -> bool:
    marker = _in_window(address, since, throttled=True).with_only_columns(SignInAttempt.id)
    return session.scalar(marker.limit(1)) is not None
