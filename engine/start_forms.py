"""The form a new case of a process starts with, as ``Runtime.start`` will check it.

A screen that starts a case draws this schema; the data posted back is then
validated by ``start`` against the same newest version, so the two agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import ModelNotFound
from engine.model_versions import latest_version
from engine.validation import start_form_reference

if TYPE_CHECKING:
    from engine.runtime import Runtime


def start_form(runtime: Runtime, key: str) -> dict[str, Any] | None:
    """The start event's form schema of the newest version of ``key``, or None if it has none."""
    with runtime.db.reader() as session:
        version = latest_version(session, key)
        if version is None:
            raise ModelNotFound(f"no process model '{key}' is deployed")
        spec, _subprocess_specs = runtime.specs.get(version.id, lambda: version.spec)
        return runtime.forms.get(session, version.id, start_form_reference(spec))
