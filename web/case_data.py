"""Case data in people's words: grouped by need-to-know category, labelled from the forms.

Only what the engine let through (``CaseRecord.data``) reaches here; this
module decides nothing about who sees what, only how it reads.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import format_datetime, lazy_gettext
from flask_babel import gettext as _

from engine.model_labels import FieldLabel, readable
from workflows.visibility import CATEGORIES, CATEGORY_OF

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)")

CATEGORY_TITLES = {
    "referral": lazy_gettext("Referral"),
    "profile": lazy_gettext("Age and profile"),
    "identity": lazy_gettext("Identity"),
    "consent": lazy_gettext("Consent"),
    "screening": lazy_gettext("Indicators of trafficking"),
    "non_punishment": lazy_gettext("Non-punishment"),
    "recognition": lazy_gettext("Recognition as a victim"),
    "decision_grounds": lazy_gettext("Grounds of the decisions"),
    "needs": lazy_gettext("Needs and assistance"),
    "health": lazy_gettext("Health care"),
    "legal_counselling": lazy_gettext("Legal counselling"),
    "risk": lazy_gettext("Risk and safety"),
    "protection_measures": lazy_gettext("Protection measures"),
    "child_protection": lazy_gettext("Child protection"),
    "cooperation": lazy_gettext("Cooperation with the authorities"),
    "proceedings": lazy_gettext("Proceedings and compensation"),
    "witness_protection": lazy_gettext("Witness protection"),
    "residence": lazy_gettext("Residence"),
    "durable_solution": lazy_gettext("Durable solution"),
    "return": lazy_gettext("Return"),
    "integration": lazy_gettext("Integration"),
    "closure": lazy_gettext("Closure"),
    "feedback": lazy_gettext("Survivor feedback"),
}

# Fields a diagram sets itself (no form gives them a title).
DERIVED_LABELS = {
    "age_disputed": lazy_gettext("Age disputed"),
    "presumed_child": lazy_gettext("Presumed to be a child"),
    "route": lazy_gettext("Route of the case"),
    "consent_withdrawal": lazy_gettext("Consent withdrawn"),
    "rg_decided_at": lazy_gettext("Reasonable-grounds decision made on"),
    "recovery_period_started": lazy_gettext("Recovery and reflection period started"),
    "recovery_period_ends": lazy_gettext("Recovery and reflection period ends"),
    "cg_decided_at": lazy_gettext("Conclusive-grounds decision made on"),
    "risk_level": lazy_gettext("Risk level"),
    "risk_assessed_at": lazy_gettext("Risk assessed on"),
    "risk_context": lazy_gettext("Occasion of the risk assessment"),
    "permit_valid_until": lazy_gettext("Residence permit valid until"),
    "permit_renewal_cycle": lazy_gettext("Permit renewal schedule"),
    "protection_outcome": lazy_gettext("Outcome of the protection stage"),
    "risk_reassessment_due": lazy_gettext("Risk re-assessment due"),
    "return_stopped_reason": lazy_gettext("Why the return was stopped"),
    "travel_documents": lazy_gettext("Travel documents"),
    "reception": lazy_gettext("Reception in the country of origin"),
    "arrival": lazy_gettext("Arrival confirmed"),
    "follow_up_due": lazy_gettext("Follow-ups due"),
    "next_follow_up_due": lazy_gettext("Next follow-up due"),
    "follow_ups_done": lazy_gettext("Follow-ups done"),
    "return_outcome": lazy_gettext("Outcome of the return"),
    "integration_review_cycle": lazy_gettext("Integration review schedule"),
    "case_closed_at": lazy_gettext("Case closed on"),
    "retention_until": lazy_gettext("Record kept until"),
}


@dataclass(frozen=True)
class Entry:
    name: str
    label: str
    value: str


@dataclass(frozen=True)
class Section:
    title: str
    entries: list[Entry]


def case_sections(data: Mapping[str, Any], fields: Mapping[str, FieldLabel]) -> list[Section]:
    """The data in catalogue order, one section per category; uncatalogued fields last."""
    labels = _labels(fields)
    sections = []
    for category, names in CATEGORIES.items():
        entries = [_entry(n, data[n], labels, fields) for n in names if n in data]
        if entries:
            sections.append(Section(str(CATEGORY_TITLES[category]), entries))
    others = sorted(name for name in data if name not in CATEGORY_OF)
    if others:
        entries = [_entry(n, data[n], labels, fields) for n in others]
        sections.append(Section(_("Other data"), entries))
    return sections


def _labels(fields: Mapping[str, FieldLabel]) -> dict[str, str]:
    """A field's title, prefixed with its form's title when another field has the same one."""
    shared = Counter(f.title for f in fields.values())
    return {
        name: f"{f.form_title}: {f.title}" if shared[f.title] > 1 and f.form_title else f.title
        for name, f in fields.items()
    }


def _entry(
    name: str, value: Any, labels: Mapping[str, str], fields: Mapping[str, FieldLabel]
) -> Entry:
    field = fields.get(name)
    if field is None:  # set by the diagram: its values are identifiers, not a person's words
        label = str(DERIVED_LABELS.get(name) or readable(name))
        return Entry(name, label, format_value(value, {}, humanize=True))
    return Entry(name, labels[name], format_value(value, field.choices))


def format_value(value: Any, choices: Mapping[str, str], humanize: bool = False) -> str:
    """One value as text: a choice by its title, lists joined, booleans as Yes or No."""
    if value is None or value == "" or value == []:
        return _("Not recorded")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(format_value(item, choices, humanize) for item in value)
    if isinstance(value, dict):  # a message's payload; an empty one only says it came
        if not value:
            return _("Received")
        return "; ".join(
            f"{readable(str(key))}: {format_value(item, {}, humanize)}"
            for key, item in value.items()
        )
    text = str(value)
    if text in choices:
        return choices[text]
    if humanize and _IDENTIFIER.fullmatch(text):
        return readable(text)
    if humanize and _TIMESTAMP.fullmatch(text):
        return format_datetime(datetime.fromisoformat(text), "medium")
    return text
