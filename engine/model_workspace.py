"""What a coordinator edits: a process's newest deployed files, with a saved draft on top.

A called process is built into its callers' specs, so changing it must give
the callers new versions too, or running and new cases would never see the
change. The workspace of a process therefore holds the newest files of every
key whose sources contain the file defining it (itself and its callers),
the newest deployment winning where two hold the same path, except that a
process's own file always comes from that process's newest version (an
older caller's copy must never roll it back). Deploying the workspace
versions only those keys (``Workspace.keys``), and only if they changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from engine.bundle import Bundle, bundle_from_uploads, unpack_files
from engine.bundle_processes import defining_file, processes_in
from engine.clock import as_utc
from engine.db import Database
from engine.errors import ModelNotFound, Problem, StaleRevision
from engine.model_versions import newest_versions
from engine.models import ModelDraft, ProcessModelVersion

NewestFiles = list[tuple[ProcessModelVersion, dict[str, bytes]]]


@dataclass(frozen=True)
class Draft:
    files: dict[str, bytes]  # only the files the edit changed
    saved_by: str
    saved_at: datetime
    base_version: int


@dataclass(frozen=True)
class EditBase:
    """What an editor's page opened: the newest version, and the draft's save time then.

    A save or deploy from a page older than either is refused, so nobody's
    newer draft or version is overwritten unseen.
    """

    version: int
    draft_saved_at: datetime | None


@dataclass(frozen=True)
class Workspace:
    key: str
    path: str  # the bundle file that defines the process
    version: int  # the key's newest deployed version; 0 for a process not deployed yet
    version_id: int | None
    deployed: dict[str, bytes]  # the newest deployed files, without the draft
    draft: Draft | None = None
    keys: tuple[str, ...] = field(default=())  # the keys deploying it can give new versions

    @property
    def files(self) -> dict[str, bytes]:
        """What the editor opens: the deployed files with the draft's changes on top."""
        return {**self.deployed, **(self.draft.files if self.draft else {})}

    def bundle(self, changes: dict[str, bytes], max_bytes: int) -> Bundle:
        """The bundle to validate or deploy: the editor's files with ``changes`` on top.

        A form the draft added or edited stays part of it, though the page
        sends only what changed since it opened. The changes go through the
        same checks as an upload (safe relative names, bundle file types,
        size), so an edit can add forms but never reach outside the bundle.
        """
        return bundle_from_uploads({**self.files, **changes}.items(), max_bytes)

    def check_current(self, base: EditBase) -> None:
        """Refuse an edit made on a page older than the newest version or draft."""
        advice = "Download your diagram to keep it, then reload the page."
        if base.version != self.version:
            raise StaleRevision(
                f"version {self.version} of '{self.key}' was deployed after this page opened. "
                + advice
            )
        saved = self.draft.saved_at if self.draft else None
        if saved != base.draft_saved_at:
            happened = (
                f"{self.draft.saved_by} saved a draft of '{self.key}' at {saved:%Y-%m-%d %H:%M} UTC"
                if self.draft and saved
                else f"the draft of '{self.key}' this page opened was deployed or discarded"
            )
            raise StaleRevision(f"{happened} after this page opened. {advice}")

    def own_problems(self, changes: dict[str, bytes]) -> list[Problem]:
        """What deploy would miss: the edited file must still define the process, executable.

        SpiffWorkflow skips a process marked ``isExecutable="false"`` (other
        tools' default) without a word, and a renamed process would deploy
        as another key, leaving this one behind.
        """
        edited = {self.path: changes.get(self.path, self.files[self.path])}
        process = processes_in(edited).get(self.key)
        if process is None:
            message = f"the diagram must still define the process '{self.key}' (keep its id)"
            return [Problem(self.path, None, self.key, message)]
        if not process.executable:
            message = (
                f"the process '{self.key}' is marked not executable (isExecutable=\"false\"), "
                "so the engine would not run it"
            )
            return [Problem(self.path, process.line, self.key, message)]
        return []


def open_workspace(db: Database, key: str) -> Workspace:
    with db.reader() as session:
        newest = _newest_versions(session)
        draft = read_draft(session, key)
        target, target_files = next(((v, f) for v, f in newest if v.key == key), (None, {}))
        if target is None:
            return _new_process(key, newest, draft)
        path = defining_file(target_files, key)
        if path is None:  # deploy stores the file of every process, so only a damaged row
            raise ModelNotFound(f"version {target.version} of '{key}' holds no file defining it")
        deployed: dict[str, bytes] = {}
        keys = []
        for version, files in newest:  # oldest deployment first: the newest wins each path
            if files.get(path) is not None and defining_file({path: files[path]}, key):
                deployed.update(files)
                keys.append(version.key)
        _take_own_files(deployed, newest)
        return Workspace(key, path, target.version, target.id, deployed, draft, tuple(keys))


def free_path(db: Database, key: str) -> str:
    """Where a new process's file goes: ``<key>.bpmn``, unless a deployed file has that path."""
    with db.reader() as session:
        taken = set(_all_newest_files(_newest_versions(session)))
    path, number = f"{key}.bpmn", 1
    while path in taken:
        number += 1
        path = f"{key}_{number}.bpmn"
    return path


def _new_process(key: str, newest: NewestFiles, draft: Draft | None) -> Workspace:
    """An imported process not deployed yet: its draft over every deployed process's files.

    With them it may call any deployed process or decision; deploying it
    leaves them on their versions, since their content does not change.
    """
    path = defining_file(draft.files, key) if draft else None
    if draft is None or path is None:
        raise ModelNotFound(f"no process '{key}' is deployed")
    files = _all_newest_files(newest)
    _take_own_files(files, newest)
    return Workspace(key, path, 0, None, files, draft, (key,))


def _take_own_files(files: dict[str, bytes], newest: NewestFiles) -> None:
    """Each process's file as its own newest version has it, where that version holds it."""
    defined = processes_in(files)
    for version, own_files in newest:
        process = defined.get(version.key)
        if process is not None and process.path in own_files:
            files[process.path] = own_files[process.path]


def _all_newest_files(newest: NewestFiles) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for _version, version_files in newest:  # oldest deployment first: the newest wins a path
        files.update(version_files)
    return files


def read_draft(session: Session, key: str) -> Draft | None:
    row = session.scalar(select(ModelDraft).filter_by(key=key))
    if row is None:
        return None
    base = session.scalar(
        select(ProcessModelVersion.version).where(ProcessModelVersion.id == row.base_version_id)
    )
    return Draft(unpack_files(row.files), row.saved_by, as_utc(row.saved_at), base or 0)


def list_drafts(db: Database) -> dict[str, tuple[str, datetime]]:
    """Who saved each key's draft, and when."""
    with db.reader() as session:
        rows = session.execute(select(ModelDraft.key, ModelDraft.saved_by, ModelDraft.saved_at))
        return {key: (by, as_utc(at)) for key, by, at in rows}


def _newest_versions(session: Session) -> NewestFiles:
    """The newest version of each key with its files, unpacked once, in deployment order."""
    query = newest_versions().order_by(ProcessModelVersion.deployed_at, ProcessModelVersion.id)
    query = query.options(undefer(ProcessModelVersion.source_files))
    return [(v, unpack_files(v.source_files)) for v in session.scalars(query)]
