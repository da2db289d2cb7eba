"""Who reads case histories, and which values of a history's data diffs they see.

An auditor (ombudsperson, national rapporteur, inspector) must be able to say
who did what, when and on which version of the process, without reading the
person's story (NRM.md, "Safeguards"). So in a history:

- a value is shown only where ``workflows.visibility`` would show the field to
  the viewer at the stage the change was made; the auditor holds no grants
  there, so sees field names and "changed", never personal values;
- the free-text narrative (notes, reasons, summaries: the person's story in
  someone's words) is shown only after the viewer has documented why they need
  it, and the reason is itself audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from engine.case_history import Masker, ValuePolicy
from workflows import visibility
from workflows.hooks import may_read_history

NARRATIVE_REVEALED = "narrative_revealed"
# why a value in a history is hidden
NARRATIVE = "narrative"
NEED_TO_KNOW = "need_to_know"
REASON_MIN_LENGTH = 20
REASON_MAX_LENGTH = 1000
GRANT_MINUTES = 30
# A string longer than this may hold a paragraph; shorter ones are names, languages,
# references: identifiers, which the narrative rule must not unlock.
_SHORT_TEXT = 200
_CONSTRAINED = ("enum", "const", "format", "pattern", "oneOf", "anyOf")
# Free text a form does not declare as such (a variable a script fills from a note).
ALSO_NARRATIVE: frozenset[str] = frozenset()


def narrative_fields(schemas: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The free-text fields of a model version's forms, plus those this policy names.

    Free text is a string property with no enum, const, format or pattern that
    may be longer than a short identifier; identity fields never count.
    """
    found = set(ALSO_NARRATIVE)
    for schema in schemas:
        for name, prop in (schema.get("properties") or {}).items():
            if isinstance(prop, Mapping) and _is_free_text(prop):
                found.add(name)
    return frozenset(found - set(visibility.CATEGORIES["identity"]))


def _is_free_text(prop: Mapping[str, Any]) -> bool:
    if prop.get("type") != "string" or any(key in prop for key in _CONSTRAINED):
        return False
    longest = prop.get("maxLength")
    return not isinstance(longest, int) or longest > _SHORT_TEXT


def value_policy(narrative_granted: bool) -> ValuePolicy:
    """The engine's ``ValuePolicy`` for a viewer who has (or has not) documented a reason.

    A hidden value is hidden as ``NARRATIVE`` (a documented reason shows it) or
    as ``NEED_TO_KNOW`` (nothing on the history page shows it).
    """

    def for_viewer(roles: set[str], forms: Mapping[str, dict[str, Any]]) -> Masker:
        narrative = narrative_fields(forms.values())

        def masked_as(field: str, stage: str | None) -> str | None:
            if field in narrative:
                return None if narrative_granted and may_read_history(roles) else NARRATIVE
            if visibility.COORDINATOR in roles:
                return None
            if stage is not None and field in visibility.fields_visible_to(roles, [stage]):
                return None
            return NEED_TO_KNOW

        return masked_as

    return for_viewer


def reason_problem(reason: str) -> Literal["too_short", "too_long"] | None:
    """Why a documented reason is refused, or None: a reason must say something, briefly."""
    text = reason.strip()
    if len(text) < REASON_MIN_LENGTH:
        return "too_short"
    if len(text) > REASON_MAX_LENGTH:
        return "too_long"
    return None
