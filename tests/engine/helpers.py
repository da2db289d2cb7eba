"""Shared set-up for engine tests: a runtime on a real database with the sample users."""

from __future__ import annotations

import gzip
from pathlib import Path

from sqlalchemy import select

from engine.bundle import read_bundle
from engine.clock import FixedClock
from engine.db import Database
from engine.deploy import DeployedModel, deploy_bundle
from engine.hooks import Hooks
from engine.models import ProcessModelVersion
from engine.runtime import Runtime
from engine.users import add_user
from engine.views import CaseView, WorkItemView

BUNDLES = Path(__file__).parent.parent / "fixtures" / "bundles"
USERS = {"clara": ["clerk"], "sam": ["supervisor"], "chen": ["checker"], "olga": ["outsider"]}


def deploy(db: Database, name: str, clock: FixedClock) -> list[DeployedModel]:
    return deploy_bundle(db, read_bundle(BUNDLES / name, 5_000_000), "tester", Hooks(), clock)


def sample_runtime(db: Database, clock: FixedClock, bundle: str = "sample") -> Runtime:
    deploy(db, bundle, clock)
    for name, roles in USERS.items():
        add_user(db, name, roles, None, "tester", clock)
    return Runtime(db, Hooks(), clock, script_time_limit=1.0)


def item_named(case: CaseView, task_name: str) -> WorkItemView:
    matches = [w for w in case.work_items if w.task_name == task_name]
    assert matches, f"no open work item {task_name}; open: {[w.task_name for w in case.work_items]}"
    return matches[0]


def tamper_spec(db: Database, key: str, old: str, new: str) -> None:
    """Rewrite a stored spec behind the validator's back, as a database intruder could."""
    with db.transaction() as session:
        version = session.scalars(select(ProcessModelVersion).filter_by(key=key)).one()
        text = gzip.decompress(version.spec).decode()
        assert old in text
        version.spec = gzip.compress(text.replace(old, new).encode())
