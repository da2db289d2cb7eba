"""The coordinator's process models: every version, its diagram and files, diffs, moving cases.

Only a person who may deploy reaches these pages. They show models, never
case data: a migration preview names cases by reference only, with reasons
drawn from the diagram.
"""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from engine.bundle_processes import defining_file
from engine.case_migration import cases_behind, migrate, preview
from engine.model_diff import diff_process
from engine.model_versions import VersionFiles, list_models, version_files
from engine.model_workspace import list_drafts
from web import services

blueprint = Blueprint("process_models", __name__)

ZIP_DATE = (2000, 1, 1, 0, 0, 0)  # fixed, so the same version always downloads the same bytes
PREVIEW_LIMIT = 500  # cases checked on one preview page; each is loaded and diffed
CHANGE_MARKS = {"added": "nrm-added", "removed": "nrm-removed", "changed": "nrm-changed"}
CHANGE_SIDES = {"added": ("new",), "removed": ("old",), "changed": ("old", "new")}


@blueprint.before_request
@login_required
def coordinator_only() -> ResponseReturnValue | None:
    if not current_user.may_edit_models:
        abort(403)
    return None


@blueprint.get("/models")
def index() -> str:
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for version in list_models(services.database()):
        by_key[version["key"]].append(version)
    models = [
        {"key": key, "name": versions[-1]["name"], "versions": versions[::-1]}
        for key, versions in sorted(by_key.items())
    ]
    drafts = list_drafts(services.database())
    new = sorted(key for key in drafts if key not in by_key)  # imported, not deployed yet
    return render_template("models.html", models=models, drafts=drafts, new=new)


@blueprint.get("/models/<key>/<int:number>")
def version(key: str, number: int) -> str:
    shown = version_files(services.database(), key, number)
    others = [v for v in list_models(services.database()) if v["key"] == key]
    counts = {v["version"]: v["instances"] for v in others}
    return render_template(
        "model_version.html",
        version=shown,
        path=_defining_path(shown),
        instances=counts.get(number, 0),
        numbers=sorted(counts),
        cases_behind=len(cases_behind(services.database(), key, number)),
    )


@blueprint.get("/models/<key>/<int:number>/diagram.bpmn")
def diagram(key: str, number: int) -> Response:
    shown = version_files(services.database(), key, number)
    return Response(shown.files[_defining_path(shown)], mimetype="application/xml")


@blueprint.get("/models/<key>/<int:number>/bundle.zip")
def download(key: str, number: int) -> Response:
    shown = version_files(services.database(), key, number)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in sorted(shown.files.items()):
            archive.writestr(zipfile.ZipInfo(path, ZIP_DATE), content)
    name = f"{key}-v{number}.zip"
    return Response(
        buffer.getvalue(),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@blueprint.get("/models/<key>/diff")
def diff(key: str) -> str:
    old_number = request.args.get("from", type=int)
    new_number = request.args.get("to", type=int)
    if old_number is None or new_number is None:
        abort(400)
    old = version_files(services.database(), key, old_number)
    new = version_files(services.database(), key, new_number)
    changes = diff_process(
        old.files[_defining_path(old)], new.files[_defining_path(new)], process_id=key
    )
    marks: dict[str, dict[str, str]] = {"old": {}, "new": {}}  # per diagram: id → marker
    for change in changes:
        for side in CHANGE_SIDES[change.change]:
            marks[side][change.element_id] = CHANGE_MARKS[change.change]
    return render_template("model_diff.html", old=old, new=new, changes=changes, marks=marks)


@blueprint.get("/models/<key>/<int:number>/migrate")
def migration_preview(key: str, number: int) -> str:
    target = version_files(services.database(), key, number)
    behind = cases_behind(services.database(), key, number)
    checks = preview(services.runtime(), behind[:PREVIEW_LIMIT], target.id) if behind else []
    return render_template(
        "model_migrate.html",
        version=target,
        checks=checks,
        more=max(0, len(behind) - PREVIEW_LIMIT),
    )


@blueprint.post("/models/<key>/<int:number>/migrate")
def migrate_cases(key: str, number: int) -> ResponseReturnValue:
    target = version_files(services.database(), key, number)
    # only cases behind this version: a forged id cannot move a case backwards
    behind = set(cases_behind(services.database(), key, number))
    chosen = sorted(set(request.form.getlist("case", type=int)) & behind)
    if not chosen:
        flash(_("Choose at least one case to move."), "error")
        return redirect(url_for(".migration_preview", key=key, number=number))
    runtime = services.runtime()
    results = migrate(runtime, chosen, target.id, current_user.username, runtime.hooks.may_migrate)
    moved = [r for r in results if r.migrated]
    if moved:
        flash(
            ngettext(
                "%(num)d case moved to version %(version)d.",
                "%(num)d cases moved to version %(version)d.",
                len(moved),
                version=number,
            ),
            "success",
        )
    for result in results:
        if not result.migrated:
            flash(
                _(
                    "Case %(reference)s stays on its version: %(reason)s",
                    reference=result.reference or result.case_id,
                    reason=result.reason,
                ),
                "error",
            )
    return redirect(url_for(".migration_preview", key=key, number=number))


def _defining_path(shown: VersionFiles) -> str:
    path = defining_file(shown.files, shown.key)
    if path is None:  # deploy stores the file of every process; only a damaged row lacks it
        abort(404)
    return path
