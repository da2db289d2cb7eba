"""The coordinator's modeler: edit a process in the browser, validate, save a draft, deploy.

The page (``modeler.html`` with ``static/js/modeler.js``) edits the BPMN
file that defines the process, and may add or edit form schemas. It sends
the modeler's XML exactly as produced, with only the forms it changed; the
rest of the bundle comes from the deployed versions (``engine.model_workspace``),
so what is validated and deployed is the whole bundle the process needs.
Answers are JSON, and every failure is a sentence, never a trace.
"""

from __future__ import annotations

import inspect
import json
import re
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from engine.bundle_processes import decisions_in, processes_in
from engine.clock import as_utc
from engine.errors import EngineError, ModelInvalid, Problem
from engine.model_drafts import Editor, deploy_edit, discard_draft, import_diagram, save_draft
from engine.model_workspace import EditBase, Workspace, open_workspace
from engine.validation import form_schema_problem, validate_bundle
from web import services
from web.errors import error_page, status_of
from web.process_models import coordinator_only
from web.schema_form import render_fields
from workflows.roles import ROLES

blueprint = Blueprint("modeler", __name__)

EXAMPLE_CALL = re.compile(r"``(\w+\(.*?\))``")
PREVIEW_PREFIX = "preview"
# a body of the wrong shape; 400 stays the CSRF check's answer, so the two never mix
UNPROCESSABLE = 422
# these answer with pages; the rest answer the page's script in JSON
PAGES = ("modeler.edit", "modeler.discard", "modeler.import_file")


blueprint.before_request(coordinator_only)


@blueprint.errorhandler(EngineError)
def engine_error(error: EngineError) -> ResponseReturnValue:
    status = status_of(error)
    if request.endpoint in PAGES:
        return error_page(status, str(error))
    if isinstance(error, ModelInvalid):  # a draft's files refused: say which, like validate
        body = _report(error.problems, [])
        body["message"] = _("The draft was not saved: %(reason)s", reason=error.problems[0])
        return jsonify(body), UNPROCESSABLE
    return jsonify({"message": str(error)}), status


@blueprint.errorhandler(HTTPException)
def http_error(error: HTTPException) -> ResponseReturnValue:
    if request.endpoint in PAGES:
        return error_page(error.code or 500)
    return jsonify({"message": error.description or error.name}), error.code or 500


@blueprint.get("/models/<key>/edit")
def edit(key: str) -> str:
    workspace = open_workspace(services.database(), key)
    urls = {
        name: url_for(f".{name}", key=key)
        for name in ("source", "validate", "draft", "deploy", "form_preview")
    }
    urls["versions"] = (
        url_for("process_models.version", key=key, number=workspace.version)
        if workspace.version
        else url_for("process_models.index")  # an imported process, not deployed yet
    )
    defined = processes_in({workspace.path: workspace.files[workspace.path]}).get(key)
    title = defined.name if defined else key
    return render_template("modeler.html", key=key, title=title, urls=urls, workspace=workspace)


@blueprint.get("/models/<key>/edit/source.json")
def source(key: str) -> ResponseReturnValue:
    workspace = open_workspace(services.database(), key)
    draft = workspace.draft
    files = workspace.files
    return jsonify(
        {
            "path": workspace.path,
            "xml": files[workspace.path].decode("utf-8"),
            "origin": "draft" if draft else "version",
            "version": workspace.version,
            "draft_saved_at": as_utc(draft.saved_at).isoformat() if draft else None,
            "draft_saved_by": draft.saved_by if draft else None,
            "forms": {p: c.decode("utf-8") for p, c in files.items() if p.endswith(".json")},
            "choices": _choices(workspace),
        }
    )


@blueprint.post("/models/<key>/validate")
def validate(key: str) -> ResponseReturnValue:
    workspace = open_workspace(services.database(), key)
    changes = _changes(workspace)
    hooks = services.runtime().hooks
    own = workspace.own_problems(changes)
    try:
        bundle = workspace.bundle(changes, services.settings().max_bundle_bytes)
        validated = validate_bundle(bundle, hooks.script_helpers, hooks.role_for_lane)
    except ModelInvalid as invalid:
        return jsonify(_report(own + invalid.problems, []))
    return jsonify(_report(own, validated.warnings))


@blueprint.post("/models/<key>/draft")
def draft(key: str) -> ResponseReturnValue:
    workspace = open_workspace(services.database(), key)
    saved_at = save_draft(_editor(), key, _changes(workspace), _base()).isoformat()
    base = {"version": workspace.version, "draft_saved_at": saved_at}
    return jsonify({"message": _("Draft saved."), "saved_at": saved_at, "base": base})


@blueprint.post("/models/<key>/draft/discard")
def discard(key: str) -> ResponseReturnValue:
    if discard_draft(_editor(), key):
        flash(_("The draft is discarded; the modeler opens the newest version again."), "success")
    else:
        flash(_("There was no draft to discard."), "info")
    return redirect(url_for("process_models.index"))


@blueprint.post("/models/import")
def import_file() -> ResponseReturnValue:
    upload = request.files.get("diagram")
    if upload is None or not upload.filename:
        flash(_("Choose a BPMN file to import."), "error")
        return redirect(url_for("process_models.index"))
    try:
        key = import_diagram(_editor(), upload.read())
    except ModelInvalid as invalid:
        reason = invalid.problems[0].message
        flash(_("The file could not be imported: %(reason)s", reason=reason), "error")
        return redirect(url_for("process_models.index"))
    flash(_("Imported as a draft of %(key)s: check it with Validate, then deploy it.", key=key))
    return redirect(url_for(".edit", key=key))


@blueprint.post("/models/<key>/deploy")
def deploy(key: str) -> ResponseReturnValue:
    workspace = open_workspace(services.database(), key)
    try:
        deployed = deploy_edit(_editor(), key, _changes(workspace), _base())
    except ModelInvalid as invalid:
        body = _report(invalid.problems, [])
        body["message"] = _("Nothing was deployed: the diagram has problems.")
        return jsonify(body), UNPROCESSABLE
    models = [{"key": d.key, "version": d.version, "created": d.created} for d in deployed]
    own = next((d for d in deployed if d.key == key), None)  # None: the process was renamed
    redirect_to = (
        url_for("process_models.version", key=key, number=own.version)
        if own
        else url_for("process_models.index")
    )
    if not any(d.created for d in deployed):
        message = _("Nothing changed: every process is already deployed as it is.")
        return jsonify({"message": message, "models": models, "redirect": redirect_to})
    created = ", ".join(f"{d.key} {d.version}" for d in deployed if d.created)
    message = _("Deployed new versions: %(versions)s.", versions=created)
    return jsonify({"message": message, "models": models, "redirect": redirect_to}), 201


@blueprint.post("/models/<key>/form-preview")
def form_preview(key: str) -> ResponseReturnValue:
    body = request.get_json(silent=True)
    text = body.get("schema") if isinstance(body, dict) else None
    if not isinstance(text, str):
        abort(UNPROCESSABLE, _("Send the form schema as text."))
    try:
        schema = json.loads(text)
    except (ValueError, RecursionError) as error:
        return jsonify({"html": "", "problems": [_("Not JSON: %(error)s", error=error)]})
    problem = form_schema_problem(schema)
    if problem:
        return jsonify({"html": "", "problems": [problem]})
    # the same gate as deploy: what it lets through, the task page draws too
    return jsonify({"html": str(render_fields(schema, {}, {}, PREVIEW_PREFIX)), "problems": []})


def _editor() -> Editor:
    runtime = services.runtime()
    limit = services.settings().max_bundle_bytes
    return Editor(runtime.db, current_user.username, runtime.hooks, runtime.clock, limit)


def _base() -> EditBase:
    """The version and draft the page opened, which a save or deploy must still find."""
    body = request.get_json(silent=True)
    base = body.get("base") if isinstance(body, dict) else None
    version = base.get("version") if isinstance(base, dict) else None
    saved = base.get("draft_saved_at") if isinstance(base, dict) else None
    try:
        if isinstance(version, int) and (saved is None or isinstance(saved, str)):
            return EditBase(version, as_utc(datetime.fromisoformat(saved)) if saved else None)
    except ValueError:
        pass
    abort(UNPROCESSABLE, _("Send the version and draft this page opened; reload the page."))


def _changes(workspace: Workspace) -> dict[str, bytes]:
    """The edited BPMN file and forms of the request, as bundle files."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("xml"), str):
        abort(UNPROCESSABLE, _("Send the diagram as XML text."))
    forms = body.get("forms") or {}
    if not isinstance(forms, dict) or not all(isinstance(t, str) for t in forms.values()):
        abort(UNPROCESSABLE, _("Send each form schema as text."))
    if any(not str(path).endswith(".json") for path in forms):
        abort(UNPROCESSABLE, _("Only form schemas (.json files) can be sent beside the diagram."))
    try:
        changes = {workspace.path: body["xml"].encode("utf-8")}
        changes.update({path: text.encode("utf-8") for path, text in forms.items()})
    except UnicodeEncodeError:
        abort(UNPROCESSABLE, _("The text holds characters that are not valid Unicode."))
    return changes


def _report(problems: list[Problem], warnings: list[Problem]) -> dict[str, Any]:
    def entry(problem: Problem) -> dict[str, Any]:
        return {
            "file": problem.file,
            "line": problem.line,
            "element": problem.element_id,
            "message": problem.message,
        }

    return {
        "valid": not problems,
        "problems": [entry(p) for p in problems],
        "warnings": [entry(w) for w in warnings],
    }


def _choices(workspace: Workspace) -> dict[str, Any]:
    """What the side panel offers: lanes of the roles, and what the bundle can call and decide."""
    callable_processes = [
        {"id": p.id, "name": p.name}
        for p in sorted(processes_in(workspace.files).values(), key=lambda p: p.id)
        if p.executable and p.id != workspace.key
    ]
    return {
        "roles": [lane for role in ROLES for lane in role.lanes],
        "processes": callable_processes,
        "decisions": [{"id": i, "name": n} for i, n in decisions_in(workspace.files)],
        "timer_helpers": _helpers(services.runtime().hooks.script_helpers),
    }


def _helpers(helpers: dict[str, Any]) -> list[dict[str, str]]:
    """Each script helper with the first line of its docstring and, if it gives one, a call."""
    listed = []
    for name, helper in sorted(helpers.items()):
        doc = inspect.getdoc(helper) or ""
        example = next((m for m in EXAMPLE_CALL.findall(doc) if m.startswith(name)), "")
        listed.append({"name": name, "example": example, "description": doc.split("\n")[0]})
    return listed
