"""The NRM's time limits, as deployment settings with the reference defaults.

Each country sets its own (../shared/domain/NRM.md "Time limits"); the
diagrams read them through the ``time_limit(name)`` script helper, so a
changed limit needs no new diagram version. Settings below a legal minimum
are refused at start-up rather than silently shortening a protection.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class TimeLimits:
    rg_target_working_days: int = 5
    recovery_period_days: int = 30
    residence_permit_months: int = 6
    permit_renewal_notice_days: int = 30
    risk_reassessment_days: int = 90
    integration_review_months: int = 6
    return_follow_up_months: tuple[int, ...] = (3, 6, 12)
    retention_years: int = 6
    minimal_record_retention_years: int = 1


MINIMUMS = {
    "recovery_period_days": 30,  # CETS 197 art. 13(1): at least 30 days
    "residence_permit_months": 6,  # Directive 2004/81 art. 8(3): at least 6 months
}


class InvalidTimeLimit(ValueError):
    """A configured limit is malformed or below its legal minimum."""


def env_name(field_name: str) -> str:
    return f"NRMFLOW_{field_name.upper()}"


def load_time_limits(environ: Mapping[str, str] | None = None) -> TimeLimits:
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for field in fields(TimeLimits):
        raw = env.get(env_name(field.name))
        if raw is None or not raw.strip():
            continue
        values[field.name] = _parse(field.name, raw)
    limits = TimeLimits(**values)  # type: ignore[arg-type]
    for name, minimum in MINIMUMS.items():
        if getattr(limits, name) < minimum:
            raise InvalidTimeLimit(f"{env_name(name)} must be at least {minimum}")
    return limits


def _parse(name: str, raw: str) -> int | tuple[int, ...]:
    try:
        numbers = tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise InvalidTimeLimit(f"{env_name(name)} must be a whole number") from None
    if any(n < 0 for n in numbers):
        raise InvalidTimeLimit(f"{env_name(name)} must not be negative")
    if name == "return_follow_up_months":
        return numbers
    if len(numbers) != 1:
        raise InvalidTimeLimit(f"{env_name(name)} must be one whole number")
    return numbers[0]
