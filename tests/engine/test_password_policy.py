"""A new password needs 12 characters and must not be a common password or the user name."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.accounts import (
    MIN_PASSWORD_LENGTH,
    check_password_policy,
    common_passwords,
    set_missing_passwords,
    set_password,
)
from engine.clock import FixedClock
from engine.db import Database
from engine.errors import PasswordRejected
from engine.models import User
from engine.users import add_user
from workflows.demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
LIST_FILE = ROOT / "engine" / "common_passwords.txt"
PASSPHRASE = "violet kettle under the bridge"


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "PASSWORD1234",
        "Qwertyuiop123",
        "1q2w3e4r5t6y",
        "iloveyou1234",
        "administrator",
    ],
)
def test_a_common_password_is_refused_whatever_its_case(password: str) -> None:
    with pytest.raises(PasswordRejected, match="commonly used passwords"):
        check_password_policy(password)


def test_the_user_name_is_refused_as_its_own_password() -> None:
    with pytest.raises(PasswordRejected, match="must not be the user name"):
        check_password_policy("kim.caseworker", "kim.caseworker")
    with pytest.raises(PasswordRejected, match="must not be the user name"):
        check_password_policy("Kim.Caseworker", "kim.caseworker")
    check_password_policy("kim.caseworker", "someone.else")


@pytest.mark.parametrize("password", ["", "short", "elevenchars"])
def test_a_short_password_is_refused_with_its_length(password: str) -> None:
    with pytest.raises(
        PasswordRejected, match=f"at least 12 characters .this one has {len(password)}"
    ):
        check_password_policy(password)


def test_a_long_passphrase_is_accepted_and_so_is_the_demo_password() -> None:
    assert MIN_PASSWORD_LENGTH == 12
    check_password_policy(PASSPHRASE, "kim.caseworker")
    check_password_policy("twelve chars")  # exactly the minimum
    check_password_policy(DEMO_PASSWORD, "demo.police")


def test_set_password_refuses_the_user_name_and_keeps_the_old_hash(
    db: Database, clock: FixedClock
) -> None:
    add_user(db, "kim.caseworker", ["support_provider"], "Harbour Light NGO", "admin", clock)
    set_password(db, "kim.caseworker", PASSPHRASE, "admin", clock)
    before = stored_hash(db, "kim.caseworker")
    for rejected in ("kim.caseworker", "qwertyuiop123"):
        with pytest.raises(PasswordRejected):
            set_password(db, "kim.caseworker", rejected, "admin", clock)
    assert stored_hash(db, "kim.caseworker") == before


def test_seeding_a_shared_password_refuses_one_that_is_a_seeded_user_name(
    db: Database, clock: FixedClock
) -> None:
    for name in ("first.user12", "second.user12"):
        add_user(db, name, ["police"], "Riverside Police", "admin", clock)
    with pytest.raises(PasswordRejected, match="must not be the user name"):
        set_missing_passwords(db, ["first.user12", "second.user12"], "second.user12", "seed", clock)
    assert stored_hash(db, "first.user12") is None


def stored_hash(db: Database, username: str) -> str | None:
    with db.reader() as session:
        return session.scalar(select(User.password_hash).where(User.username == username))


# --- the list itself ------------------------------------------------------------


def test_the_list_holds_over_a_thousand_lower_case_passwords_once_each() -> None:
    lines = LIST_FILE.read_text("utf-8").splitlines()
    assert len(lines) >= 1000
    assert all(line == line.strip().lower() and line for line in lines)
    assert len(set(lines)) == len(lines)
    assert common_passwords() == frozenset(lines)
    long_enough = [line for line in lines if len(line) >= MIN_PASSWORD_LENGTH]
    assert len(long_enough) >= 100  # the ones the length rule alone would let through


def test_the_list_is_package_data_so_a_wheel_carries_it() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert LIST_FILE.name in pyproject["tool"]["setuptools"]["package-data"]["engine"]
