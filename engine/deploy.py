"""Deploy: validate a bundle and store a new version of each changed process.

Every process in the bundle is a key. A key gets a new version only when its
content hash changes: the hash covers its serialized spec (including called
processes and DMN tables), the BPMN files it comes from (so a layout change
is a change) and the form schemas its user tasks use.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass

from engine import audit
from engine.bundle import Bundle, pack_files
from engine.clock import Clock
from engine.db import Database
from engine.hooks import Hooks
from engine.model_versions import latest_version
from engine.models import ProcessModelVersion
from engine.specs import compress, spec_json
from engine.validation import ValidatedBundle, form_reference, validate_bundle


@dataclass(frozen=True)
class DeployedModel:
    key: str
    version: int
    content_hash: str
    created: bool
    warnings: tuple[str, ...] = ()


def deploy_bundle(
    db: Database,
    bundle: Bundle,
    actor: str,
    hooks: Hooks,
    clock: Clock,
    only: Collection[str] | None = None,
) -> list[DeployedModel]:
    """Validate, then store changed keys in one transaction (all or nothing).

    ``only`` limits which keys may get a version (the modeler's edit and its
    callers); the whole bundle is validated all the same.
    """
    validated = validate_bundle(bundle, hooks.script_helpers, hooks.role_for_lane)
    warnings = tuple(str(w) for w in validated.warnings)
    results = []
    with db.transaction() as session:
        now = clock.now()
        events = []
        for key in sorted(validated.specs):
            if only is not None and key not in only:
                continue
            files = _files_of(validated, key)
            spec_text = spec_json(*validated.specs[key])
            content_hash = _content_hash(spec_text, files)
            latest = latest_version(session, key)
            if latest is not None and latest.content_hash == content_hash:
                results.append(DeployedModel(key, latest.version, content_hash, False, warnings))
                continue
            version = ProcessModelVersion(
                key=key,
                version=(latest.version + 1) if latest else 1,
                name=validated.specs[key][0].description or key,
                content_hash=content_hash,
                source_files=pack_files(files),
                spec=compress(spec_text),
                deployed_by=actor,
                deployed_at=now,
                validation_report=json.dumps({"problems": [], "warnings": list(warnings)}),
            )
            session.add(version)
            session.flush()
            results.append(DeployedModel(key, version.version, content_hash, True, warnings))
            events.append(
                audit.PendingEvent(
                    actor=actor,
                    action="model_deployed",
                    model_version_id=version.id,
                    payload={"key": key, "version": version.version, "hash": content_hash},
                )
            )
        audit.append(session, events, now)
    return results


def _files_of(validated: ValidatedBundle, key: str) -> dict[str, bytes]:
    """The sources a key depends on: its BPMN files, the bundle's DMN files, its forms."""
    spec, subprocess_specs = validated.specs[key]
    bundle: Bundle = validated.bundle
    files: dict[str, bytes] = dict(bundle.with_suffix(".dmn"))
    for process_spec in [spec, *subprocess_specs.values()]:
        source = validated.parser.get_process_parser(process_spec.name).filename
        files[source] = bundle.files[source]
        for task_spec in process_spec.task_specs.values():
            reference = form_reference(task_spec)
            form_path = bundle.find_form(reference) if reference else None
            if form_path:
                files[form_path] = bundle.files[form_path]
    return files


def _content_hash(spec_text: str, files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    digest.update(hashlib.sha256(spec_text.encode("utf-8")).digest())
    for path, content in sorted(files.items()):
        if path.endswith(".dmn"):
            continue  # decision tables are inside the spec; their layout is not behaviour
        digest.update(path.encode("utf-8") + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()
