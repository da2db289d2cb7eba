"""A coordinator's edit of a process: saved as a draft, discarded, or deployed.

A draft is kept so that work is never lost between sittings; it changes
nothing that runs. Each save, discard and deploy is audited with the files
it touched, never their content (the versions keep that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import audit
from engine.bundle import pack_files
from engine.bundle_processes import defined_processes
from engine.clock import Clock
from engine.db import Database
from engine.deploy import DeployedModel, deploy_bundle
from engine.errors import ModelInvalid, ModelNotFound, NotAuthorized, Problem
from engine.hooks import Hooks
from engine.model_workspace import EditBase, Workspace, free_path, open_workspace
from engine.models import ModelDraft
from engine.safexml import UnsafeXml, parse_xml
from engine.users import find_user

IMPORT = "(import)"  # the file name problems with an imported file are reported under
MAX_KEY_LENGTH = 200  # process_model_version.key
PROCESS_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")  # an XML id that is also a URL segment


@dataclass(frozen=True)
class Editor:
    """Who edits, and under which rules: what every save, discard and deploy of an edit needs."""

    db: Database
    actor: str
    hooks: Hooks
    clock: Clock
    max_bytes: int  # a bundle's cap, for the edited bundle as for an upload


def save_draft(editor: Editor, key: str, changes: dict[str, bytes], base: EditBase) -> datetime:
    """Keep ``changes`` as the key's draft, replacing any earlier one; when it was saved.

    Refused when a version or draft newer than ``base`` (what the page
    opened) exists: that is someone else's work, and it stays.
    """
    workspace = open_workspace(editor.db, key)
    workspace.check_current(base)
    return _store_draft(editor, workspace, changes)


def _store_draft(editor: Editor, workspace: Workspace, changes: dict[str, bytes]) -> datetime:
    workspace.bundle(changes, editor.max_bytes)  # the same names and size limits as a deploy
    with editor.db.transaction() as session:
        _check_may_edit(session, editor)
        now = editor.clock.now()
        row = session.scalar(select(ModelDraft).filter_by(key=workspace.key))
        if row is None:
            row = ModelDraft(key=workspace.key)
            session.add(row)
        kept = workspace.draft.files if workspace.draft else {}
        row.files = pack_files({**kept, **changes})  # a form saved earlier stays in the draft
        row.base_version_id = workspace.version_id
        row.saved_by = editor.actor
        row.saved_at = now
        payload = {"key": workspace.key, "files": sorted(changes)}  # what this save changed
        event = audit.PendingEvent(
            editor.actor,
            "model_draft_saved",
            model_version_id=workspace.version_id,
            payload=payload,
        )
        audit.append(session, [event], now)
    return now


def import_diagram(editor: Editor, content: bytes) -> str:
    """Open a BPMN file from any tool as a draft; the key of the process it holds.

    The file's first executable process decides: a deployed one gets the file
    as its draft (replacing what it had); any other becomes a new process,
    deployed for the first time from the modeler. Nothing runs until then,
    and Validate names whatever the engine cannot run.
    """
    key = _imported_process(content)
    try:
        workspace = open_workspace(editor.db, key)
    except ModelNotFound:
        workspace = Workspace(key, free_path(editor.db, key), 0, None, {})
    _store_draft(editor, workspace, {workspace.path: content})
    return key


def _imported_process(content: bytes) -> str:
    try:
        root = parse_xml(content).getroot()
    except UnsafeXml as error:
        raise ModelInvalid([Problem(IMPORT, None, "", str(error))]) from error
    processes = list(defined_processes(IMPORT, root))
    runnable = [p for p in processes if p.executable] or processes
    if not runnable:
        raise ModelInvalid([Problem(IMPORT, None, "", "the file holds no BPMN process")])
    key = runnable[0].id
    if not PROCESS_ID.fullmatch(key):
        message = "a process id must start with a letter or _ and hold only letters, digits, _ . -"
        raise ModelInvalid([Problem(IMPORT, None, key[:40], message)])
    if len(key) > MAX_KEY_LENGTH:
        message = f"a process id has at most {MAX_KEY_LENGTH} characters"
        raise ModelInvalid([Problem(IMPORT, None, key[:40], message)])
    return key


def discard_draft(editor: Editor, key: str) -> bool:
    """Drop the key's draft; False when there was none."""
    with editor.db.transaction() as session:
        _check_may_edit(session, editor)
        removed = session.execute(delete(ModelDraft).filter_by(key=key)).rowcount
        if removed:
            event = audit.PendingEvent(editor.actor, "model_draft_discarded", payload={"key": key})
            audit.append(session, [event], editor.clock.now())
        return bool(removed)


def deploy_edit(
    editor: Editor, key: str, changes: dict[str, bytes], base: EditBase
) -> list[DeployedModel]:
    """Deploy the workspace with ``changes``; the draft it opened goes once they are deployed.

    Deploy validates first and stores nothing when anything is wrong, so a
    refused edit keeps its draft. Only the process and its callers get
    versions; the rest of the bundle is there to be called.
    """
    with editor.db.reader() as session:
        _check_may_edit(session, editor)
    workspace = open_workspace(editor.db, key)
    workspace.check_current(base)
    own = workspace.own_problems(changes)
    if own:
        raise ModelInvalid(own)
    bundle = workspace.bundle(changes, editor.max_bytes)
    deployed = deploy_bundle(
        editor.db, bundle, editor.actor, editor.hooks, editor.clock, only=workspace.keys
    )
    if workspace.draft is not None:  # that draft only: a newer one is someone else's work
        with editor.db.transaction() as session:
            session.execute(
                delete(ModelDraft).filter_by(key=workspace.key, saved_at=workspace.draft.saved_at)
            )
    return deployed


def _check_may_edit(session: Session, editor: Editor) -> None:
    if not editor.hooks.may_deploy(find_user(session, editor.actor).role_names):
        raise NotAuthorized(f"'{editor.actor}' may not change process models")
