"""Local accounts: argon2 hashes, one message for every wrong guess, lock-out, no
password in the audit log; and the commands that create them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from cli.main import main
from engine import accounts
from engine.accounts import authenticate, set_language, set_password
from engine.clock import FixedClock
from engine.db import Database
from engine.errors import PasswordRejected, SignInFailed
from engine.models import AuditEvent, User
from engine.users import add_user
from workflows.demo import DEMO_PASSWORD

PASSWORD = "correct horse battery"
GENERIC = "wrong user name or password"


@pytest.fixture
def fran(db: Database, clock: FixedClock) -> str:
    add_user(db, "fran", ["first_responder"], "Riverside Police", "admin", clock)
    set_password(db, "fran", PASSWORD, "admin", clock)
    return "fran"


def sign_in(db: Database, clock: FixedClock, username: str, password: str):  # type: ignore[no-untyped-def]
    return authenticate(db, username, password, clock, max_failures=5, lockout_minutes=15)


def failure(db: Database, clock: FixedClock, username: str, password: str) -> str:
    with pytest.raises(SignInFailed) as raised:
        sign_in(db, clock, username, password)
    return str(raised.value)


def stored_user(db: Database, username: str) -> User:
    with db.reader() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def audit_trail(db: Database) -> list[tuple[str, str, str]]:
    with db.reader() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        return [(e.actor, e.action, e.payload) for e in events]


def test_passwords_are_stored_as_argon2id_hashes(db: Database, fran: str) -> None:
    stored = stored_user(db, fran).password_hash
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored


def test_the_right_password_signs_in(db: Database, clock: FixedClock, fran: str) -> None:
    view = sign_in(db, clock, fran, PASSWORD)
    assert (view.username, view.agency, view.roles) == (
        fran,
        "Riverside Police",
        ["first_responder"],
    )


def test_a_wrong_password_and_an_unknown_user_get_the_same_message(
    db: Database, clock: FixedClock, fran: str
) -> None:
    assert failure(db, clock, fran, "not the password") == GENERIC
    assert failure(db, clock, "nobody", PASSWORD) == GENERIC


def test_an_unknown_user_costs_the_same_argon2_work(
    db: Database, clock: FixedClock, fran: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    real_verify = accounts._verify
    monkeypatch.setattr(accounts, "_verify", lambda h, p: verified.append(h) or real_verify(h, p))
    failure(db, clock, "nobody", PASSWORD)
    failure(db, clock, fran, "not the password")
    assert len(verified) == 2 and all(h.startswith("$argon2id$") for h in verified)


def test_a_user_without_a_password_cannot_sign_in(db: Database, clock: FixedClock) -> None:
    add_user(db, "kim", ["police"], None, "admin", clock)
    assert failure(db, clock, "kim", "") == GENERIC


def test_five_failures_lock_the_account_until_the_lock_runs_out(
    db: Database, clock: FixedClock, fran: str
) -> None:
    for _attempt in range(4):
        assert failure(db, clock, fran, "guess") == GENERIC
    locked = "account locked until 09:15 UTC after repeated failures"
    assert failure(db, clock, fran, "guess") == locked  # the fifth
    assert failure(db, clock, fran, PASSWORD) == locked  # even the right password waits

    clock.advance(minutes=14, seconds=59)
    assert failure(db, clock, fran, PASSWORD) == locked
    clock.advance(seconds=1)
    assert sign_in(db, clock, fran, PASSWORD).username == fran
    assert stored_user(db, fran).locked_until is None


def test_a_lock_carries_its_end_time(db: Database, clock: FixedClock, fran: str) -> None:
    for _attempt in range(5):
        with pytest.raises(SignInFailed) as raised:
            sign_in(db, clock, fran, "guess")
    assert raised.value.locked_until is not None
    assert raised.value.locked_until.isoformat() == "2026-03-02T09:15:00+00:00"


def test_success_resets_the_failure_count(db: Database, clock: FixedClock, fran: str) -> None:
    for _attempt in range(4):
        failure(db, clock, fran, "guess")
    sign_in(db, clock, fran, PASSWORD)
    assert stored_user(db, fran).failed_sign_ins == 0
    for _attempt in range(4):
        assert failure(db, clock, fran, "guess") == GENERIC  # four more, still not locked
    assert sign_in(db, clock, fran, PASSWORD).username == fran


def test_a_short_password_is_refused_and_nothing_changes(
    db: Database, clock: FixedClock, fran: str
) -> None:
    before = stored_user(db, fran).password_hash
    with pytest.raises(PasswordRejected, match="at least 12 characters"):
        set_password(db, fran, "elevenchars", "admin", clock)
    assert stored_user(db, fran).password_hash == before


def test_a_new_password_replaces_the_old_and_lifts_a_lock(
    db: Database, clock: FixedClock, fran: str
) -> None:
    for _attempt in range(5):
        failure(db, clock, fran, "guess")
    set_password(db, fran, "a brand new passphrase", "admin", clock)
    assert failure(db, clock, fran, PASSWORD) == GENERIC
    assert sign_in(db, clock, fran, "a brand new passphrase").username == fran


@pytest.mark.usefixtures("production_password_hashing")
def test_an_outdated_hash_is_upgraded_at_sign_in(
    db: Database, clock: FixedClock, fran: str
) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with db.transaction() as session:
        session.scalars(select(User).where(User.username == fran)).one().password_hash = weak
    sign_in(db, clock, fran, PASSWORD)
    upgraded = stored_user(db, fran).password_hash
    assert upgraded != weak and upgraded is not None and "m=65536" in upgraded
    assert sign_in(db, clock, fran, PASSWORD).username == fran


def test_the_audit_names_the_account_and_never_the_password(
    db: Database, clock: FixedClock, fran: str
) -> None:
    sign_in(db, clock, fran, PASSWORD)
    for _attempt in range(5):
        failure(db, clock, fran, "wrong-secret-1")
    failure(db, clock, "wrong-secret-2", "typed the password as the name")

    trail = audit_trail(db)
    actions = [action for _actor, action, _payload in trail]
    assert actions[-9:] == [
        "password_set",
        "signed_in",
        *["sign_in_failed"] * 5,
        "account_locked",
        "sign_in_failed",
    ]
    assert trail[-2] == ("fran", "account_locked", json.dumps({"user": "fran"}))
    assert trail[-1] == ("anonymous", "sign_in_failed", "{}")  # an unknown name is not kept
    everything = json.dumps(trail)
    for secret in (PASSWORD, "wrong-secret", "typed the password"):
        assert secret not in everything


def test_the_language_choice_is_saved(db: Database, clock: FixedClock, fran: str) -> None:
    set_language(db, fran, "fr")
    assert stored_user(db, fran).language == "fr"


# --- the command line ---------------------------------------------------------


def nrmflow(db: Database, *args: str, expect: int = 0, **env: str) -> Result:
    result = CliRunner().invoke(main, list(args), env={"NRMFLOW_DATABASE_URL": db.url, **env})
    assert result.exit_code == expect, (result.output, result.exception)
    return result


def test_users_add_takes_the_password_from_a_file(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text(f"{PASSWORD}\nsecond line is ignored\n", encoding="utf-8")
    result = nrmflow(db, "users", "add", "fran", "--role", "police", "--password-file", str(secret))
    assert "created fran (police); password set" in result.stdout
    assert PASSWORD not in result.output
    assert sign_in(db, clock, "fran", PASSWORD).roles == ["police"]


def test_users_add_refuses_a_short_password_before_storing_anything(
    db: Database, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text("short\n", encoding="utf-8")
    result = nrmflow(
        db, "users", "add", "fran", "--role", "police", "--password-file", str(secret), expect=1
    )
    assert "at least 12 characters" in result.stderr
    with db.reader() as session:
        assert session.scalars(select(User).where(User.username == "fran")).first() is None


def test_users_add_without_a_file_or_terminal_leaves_the_password_alone(
    db: Database, clock: FixedClock, fran: str
) -> None:
    result = nrmflow(db, "users", "add", fran, "--role", "police", "--json")
    assert json.loads(result.stdout)["password_set"] is False
    assert sign_in(db, clock, fran, PASSWORD).roles == ["first_responder", "police"]


def test_users_add_asks_twice_on_a_terminal(
    db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cli.main.stdin_is_terminal", lambda: True)
    result = CliRunner().invoke(
        main,
        ["users", "add", "kim", "--role", "police"],
        env={"NRMFLOW_DATABASE_URL": db.url},
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output and PASSWORD not in result.output
    assert sign_in(db, clock, "kim", PASSWORD).username == "kim"


def test_seed_demo_gives_the_demo_password_only_to_users_without_one(
    db: Database, clock: FixedClock
) -> None:
    nrmflow(db, "seed-demo")
    assert sign_in(db, clock, "demo.police", DEMO_PASSWORD).username == "demo.police"
    set_password(db, "demo.police", "changed by its owner", "demo.police", clock)
    nrmflow(db, "seed-demo")
    assert failure(db, clock, "demo.police", DEMO_PASSWORD) == GENERIC
    assert sign_in(db, clock, "demo.police", "changed by its owner").username == "demo.police"


def test_seed_demo_refuses_to_run_in_production(db: Database) -> None:
    result = nrmflow(db, "seed-demo", expect=1, NRMFLOW_ENV="production")
    assert "refuses to run with NRMFLOW_ENV=production" in result.stderr
    with db.reader() as session:
        assert session.scalars(select(User)).first() is None
