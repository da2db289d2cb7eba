"""A coordinator's edit of a process: saved as a draft, discarded, or deployed.

A draft is kept so that work is never lost between sittings; it changes
nothing that runs. Each save, discard and deploy is audited with the files
it touched, never their content (the versions keep that).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import audit
from engine.bundle import pack_files
from engine.clock import Clock
from engine.db import Database
from engine.deploy import DeployedModel, deploy_bundle
from engine.errors import NotAuthorized
from engine.hooks import Hooks
from engine.model_workspace import Workspace
from engine.models import ModelDraft
from engine.users import find_user


def save_draft(
    db: Database,
    workspace: Workspace,
    changes: dict[str, bytes],
    actor: str,
    hooks: Hooks,
    clock: Clock,
    max_bytes: int,
) -> None:
    """Keep ``changes`` as the key's draft, replacing any earlier one."""
    workspace.bundle(changes, max_bytes)  # the same names and size limits as a deploy
    with db.transaction() as session:
        _check_may_edit(session, actor, hooks)
        now = clock.now()
        row = session.scalar(select(ModelDraft).filter_by(key=workspace.key))
        if row is None:
            row = ModelDraft(key=workspace.key)
            session.add(row)
        row.files = pack_files(changes)
        row.base_version_id = workspace.version_id
        row.saved_by = actor
        row.saved_at = now
        payload = {"key": workspace.key, "files": sorted(changes)}
        event = audit.PendingEvent(
            actor, "model_draft_saved", model_version_id=workspace.version_id, payload=payload
        )
        audit.append(session, [event], now)


def discard_draft(db: Database, key: str, actor: str, hooks: Hooks, clock: Clock) -> bool:
    """Drop the key's draft; False when there was none."""
    with db.transaction() as session:
        _check_may_edit(session, actor, hooks)
        removed = session.execute(delete(ModelDraft).filter_by(key=key)).rowcount
        if removed:
            event = audit.PendingEvent(actor, "model_draft_discarded", payload={"key": key})
            audit.append(session, [event], clock.now())
        return bool(removed)


def deploy_edit(
    db: Database,
    workspace: Workspace,
    changes: dict[str, bytes],
    actor: str,
    hooks: Hooks,
    clock: Clock,
    max_bytes: int,
) -> list[DeployedModel]:
    """Deploy the workspace with ``changes``; the draft goes once they are deployed.

    Deploy validates first and stores nothing when anything is wrong, so a
    refused edit keeps its draft.
    """
    with db.reader() as session:
        _check_may_edit(session, actor, hooks)
    deployed = deploy_bundle(db, workspace.bundle(changes, max_bytes), actor, hooks, clock)
    with db.transaction() as session:
        session.execute(delete(ModelDraft).filter_by(key=workspace.key))
    return deployed


def _check_may_edit(session: Session, actor: str, hooks: Hooks) -> None:
    if not hooks.may_deploy(find_user(session, actor).role_names):
        raise NotAuthorized(f"'{actor}' may not change process models")
