"""How long the NRM keeps a closed case's personal data, and what outlives its erasure.

The closure stage sets ``retention_until`` (the deployment's retention period,
or the shorter minimal-record period after consent was withdrawn). What
survives erasure is what the statistics count (sex, age group, nationality
group, forms of exploitation, the decisions) and the dates that say when the
case closed and was due to go: categories, never identities, and released
only through small-cell suppression (workflows/small_cells.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from workflows.statistics_figures import DECISIONS, EXPLOITATION_FIELD, PROFILE_FIELDS

RETENTION_FIELD = "retention_until"

KEPT_AFTER_ERASURE = frozenset(
    {
        *PROFILE_FIELDS,
        EXPLOITATION_FIELD,
        *(field for _task, field, _title in DECISIONS),
        RETENTION_FIELD,
        "case_closed_at",
    }
)


CONSENT_WITHDRAWN = "consent_withdrawn"


def erase_at_close(data: dict[str, Any]) -> str | None:
    """An adult who withdrew consent is removed from the record as the case closes.

    The diagram already drops the identity from the case's current data; this
    also clears what was recorded earlier (the answers beside the audit, the
    earlier steps' data), keeping the statistical categories as any erasure does.
    """
    return CONSENT_WITHDRAWN if data.get("closure_reason") == CONSENT_WITHDRAWN else None


def retention_date(data: dict[str, Any]) -> datetime | None:
    """The moment the closure stage set for erasure; None if it set none or it is unreadable."""
    value = data.get(RETENTION_FIELD)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
