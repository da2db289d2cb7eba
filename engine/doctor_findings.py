"""What a doctor check reports, and how it writes times for an operator."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Literal

from engine.clock import as_utc

Severity = Literal["error", "warning", "ok"]


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    fix: str | None = None

    @property
    def needs_attention(self) -> bool:
        return self.severity != "ok"

    def to_json(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass(frozen=True)
class Thresholds:
    """How late is too late: the worker passes every ``poll`` seconds, so allow two and a minute."""

    timer_grace: timedelta
    outbox_age: timedelta = timedelta(hours=1)
    outbox_attempts: int = 5
    # the deployment's retention period, for closed cases whose process set no date
    retention_days: int = 6 * 365 + 2

    @classmethod
    def for_worker(cls, poll_seconds: float, retention_days: int = 6 * 365 + 2) -> Thresholds:
        return cls(
            timer_grace=timedelta(seconds=2 * poll_seconds + 60), retention_days=retention_days
        )


def moment_text(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def duration_text(delta: timedelta) -> str:
    """Coarse and readable: an operator wants "3 d", not a second count."""
    seconds = int(delta.total_seconds())
    # (unit, its length, the least amount shown in it): "70 s", "15 min", "1 h", "3 d"
    for unit, size, least in (("d", 86400, 2), ("h", 3600, 1), ("min", 60, 10)):
        if seconds >= size * least:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def ago_text(now: datetime, moment: datetime) -> str:
    """How long before ``now`` the stored ``moment`` was, as :func:`duration_text` writes it."""
    return duration_text(now - as_utc(moment))
