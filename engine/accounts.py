"""Local accounts: argon2 password hashes, sign-in with lock-out, a saved language.

Sign-in failures say the same thing for an unknown user and a wrong password,
and an unknown user costs the same argon2 work as a known one, so neither the
message nor the time tells an attacker which user names exist. Failures are
counted per account; too many lock it for a while, which turns online
guessing into a crawl without locking anyone out for good. The audit trail
names the account, never the password.

A new password needs length and must not be one an attacker tries first: a
list of the most common passwords from public breach top-lists, and the
account's own user name (NIST SP 800-63B, 5.1.1.2).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.clock import Clock, as_utc
from engine.db import Database
from engine.errors import PasswordRejected, SignInFailed
from engine.models import User
from engine.users import UserView, find_user

MIN_PASSWORD_LENGTH = 12
WRONG_CREDENTIALS = "wrong user name or password"
UNKNOWN_ACTOR = "anonymous"

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A real hash to verify against when there is no account, so the work is the same."""
    return _hasher.hash("no account has this password")


def hash_password(password: str, username: str | None = None) -> str:
    check_password_policy(password, username)
    return _hasher.hash(password)


def check_password_policy(password: str, username: str | None = None) -> None:
    """Length and not-the-first-guess are what matter; composition rules only annoy (NIST 800-63B).

    ``username`` is the account the password is for, when known: a password
    equal to it is the first thing anyone tries.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters "
            f"(this one has {len(password)})"
        )
    if username is not None and password.lower() == username.lower():
        raise PasswordRejected("a password must not be the user name")
    if password.lower() in common_passwords():
        raise PasswordRejected(
            "this password is on a list of commonly used passwords that attackers "
            "try first; choose another (a few unrelated words make a good one)"
        )


@cache
def common_passwords() -> frozenset[str]:
    """The list in ``common_passwords.txt``, read once per process, as package data
    (importlib.resources) so an installed wheel finds it as a checkout does."""
    text = resources.files("engine").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def set_password(db: Database, username: str, password: str, actor: str, clock: Clock) -> None:
    """Store a new password; it also lifts a lock-out, as an administrator resetting it means to."""
    password_hash = hash_password(password, username)
    with db.transaction() as session:
        user = find_user(session, username)
        user.session_epoch += 1  # whoever knew the old password is signed out
        _store_hash(session, user, password_hash, actor, clock)


def set_missing_passwords(
    db: Database, usernames: Iterable[str], password: str, actor: str, clock: Clock
) -> list[str]:
    """Give ``password`` to those of ``usernames`` who have none yet; returns who got it.

    For seeding accounts that share one published password (the demo): it is
    hashed once, since hashing it per account would cost seconds and protect
    nothing that is not already public.
    """
    wanted = list(usernames)
    with db.reader() as session:
        missing = session.scalars(
            select(User.username).where(User.username.in_(wanted), User.password_hash.is_(None))
        ).all()
    if not missing:
        return []
    for username in missing:
        check_password_policy(password, username)
    password_hash = hash_password(password)
    given = []
    with db.transaction() as session:
        for username in wanted:
            user = find_user(session, username)
            if user.password_hash is None:
                _store_hash(session, user, password_hash, actor, clock)
                given.append(username)
    return given


def end_sessions(db: Database, username: str) -> None:
    """Every browser session of the account ends at its next request (signing out)."""
    with db.transaction() as session:
        find_user(session, username).session_epoch += 1


def _store_hash(session: Session, user: User, password_hash: str, actor: str, clock: Clock) -> None:
    user.password_hash = password_hash
    user.failed_sign_ins = 0
    user.locked_until = None
    event = audit.PendingEvent(actor=actor, action="password_set", payload={"user": user.username})
    audit.append(session, [event], clock.now())


def authenticate(
    db: Database,
    username: str,
    password: str,
    clock: Clock,
    max_failures: int,
    lockout_minutes: float,
) -> UserView:
    """The user, if the password is theirs and the account is not locked; else SignInFailed.

    The slow argon2 work runs outside the transaction (on SQLite a write
    transaction holds the whole database); the transaction then records the
    outcome under a row lock, so concurrent failures all count. The failure
    is committed before it is raised: a rolled-back counter would never lock
    anyone out.
    """
    now = clock.now()
    with db.reader() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == username))
    matches = _verify(stored or _dummy_hash(), password) and stored is not None
    needs_rehash = matches and stored is not None and _hasher.check_needs_rehash(stored)
    rehashed = _hasher.hash(password) if needs_rehash else None
    with db.transaction() as session:
        user = session.scalars(
            select(User).where(User.username == username).with_for_update()
        ).one_or_none()
        if user is None or user.password_hash is None:
            outcome: UserView | SignInFailed = _no_account(session, now)
        else:
            matches = matches and user.password_hash == stored  # not changed meanwhile
            outcome = _record(session, user, matches, now, max_failures, lockout_minutes)
            if rehashed and not isinstance(outcome, SignInFailed):
                user.password_hash = rehashed
    if isinstance(outcome, SignInFailed):
        raise outcome
    return outcome


def _no_account(session: Session, now: datetime) -> SignInFailed:
    """Same message as a wrong password (the caller did the same argon2 work).

    The typed name is not recorded: a name no account has is often a password
    typed into the wrong field, and the audit log cannot be cleaned afterwards.
    """
    audit.append(session, [audit.PendingEvent(actor=UNKNOWN_ACTOR, action="sign_in_failed")], now)
    return SignInFailed(WRONG_CREDENTIALS)


def _record(
    session: Session,
    user: User,
    matches: bool,
    now: datetime,
    max_failures: int,
    lockout_minutes: float,
) -> UserView | SignInFailed:
    """Count, lock or reset, and audit one attempt on an existing account."""
    events = []
    if user.locked_until is not None and as_utc(user.locked_until) <= now:
        user.failed_sign_ins, user.locked_until = 0, None  # the lock ran out: a fresh start
    if user.locked_until is not None:
        events.append(_event(user, "sign_in_failed"))
        outcome: UserView | SignInFailed = locked(as_utc(user.locked_until))
    elif matches:
        user.failed_sign_ins = 0
        events.append(_event(user, "signed_in"))
        outcome = UserView(user.username, user.agency, sorted(user.role_names))
    else:
        user.failed_sign_ins += 1
        events.append(_event(user, "sign_in_failed"))
        outcome = SignInFailed(WRONG_CREDENTIALS)
        if user.failed_sign_ins >= max_failures:
            user.locked_until = now + timedelta(minutes=lockout_minutes)
            events.append(_event(user, "account_locked"))
            outcome = locked(user.locked_until)
    audit.append(session, events, now)
    return outcome


def locked(until: datetime) -> SignInFailed:
    return SignInFailed(
        f"account locked until {until:%H:%M} UTC after repeated failures", locked_until=until
    )


def _event(user: User, action: str) -> audit.PendingEvent:
    return audit.PendingEvent(actor=user.username, action=action, payload={"user": user.username})


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):  # a mismatch is a VerificationError
        return False


def set_language(db: Database, username: str, language: str) -> None:
    """Remember the user's language; which languages exist is the web layer's business."""
    if not language or len(language) > 10:
        raise ValueError("a language is a short tag such as 'en' or 'fr'")
    with db.transaction() as session:
        find_user(session, username).language = language
