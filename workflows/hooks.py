"""The domain's hooks into the engine: lanes, script helpers, who starts, who messages,
who opens a case and which of its data they see."""

from __future__ import annotations

from engine.calendar import BusinessCalendar
from engine.config import Settings
from engine.hooks import Hooks
from workflows import messages, retention, roles, visibility
from workflows.script_helpers import script_helpers
from workflows.time_limits import TimeLimits, load_time_limits

CASE_PROCESS = "nrm_case"


def may_start(key: str, role_names: set[str]) -> bool:
    """Only a first responder starts a referral; stage processes run only as call activities."""
    return key == CASE_PROCESS and bool(role_names & roles.referral_starters())


def may_deploy(role_names: set[str]) -> bool:
    """Only the NRM coordinator changes the mechanism's process models."""
    return visibility.COORDINATOR in role_names


def may_move_clock(role_names: set[str]) -> bool:
    """The NRM coordinator runs a training rehearsal."""
    return visibility.COORDINATOR in role_names


def may_monitor(role_names: set[str]) -> bool:
    """The NRM coordinator watches where the mechanism stalls."""
    return visibility.COORDINATOR in role_names


def may_suspend(role_names: set[str]) -> bool:
    """The NRM coordinator pauses a case that must wait for something outside the process."""
    return visibility.COORDINATOR in role_names


def may_handle_incidents(role_names: set[str]) -> bool:
    """The NRM coordinator owns a failed step: retries it once fixed, or cancels its branch."""
    return visibility.COORDINATOR in role_names


def may_migrate(role_names: set[str]) -> bool:
    """The NRM coordinator, who deploys the process, moves running cases to a new version."""
    return visibility.COORDINATOR in role_names


def may_read_history(role_names: set[str]) -> bool:
    """Auditors (ombudsperson, rapporteur, inspector) and the coordinator read case histories."""
    return bool(role_names & {"auditor", visibility.COORDINATOR})


def build_hooks(settings: Settings, limits: TimeLimits | None = None) -> Hooks:
    return Hooks(
        role_for_lane=roles.role_for_lane,
        script_helpers=script_helpers(
            limits or load_time_limits(), BusinessCalendar(settings.holiday_country)
        ),
        may_start=may_start,
        may_deliver=messages.may_deliver,
        may_view_case=visibility.may_view_case,
        may_deploy=may_deploy,
        may_read_history=may_read_history,
        may_move_clock=may_move_clock,
        may_monitor=may_monitor,
        may_suspend=may_suspend,
        may_handle_incidents=may_handle_incidents,
        may_migrate=may_migrate,
        visible_data=visibility.visible_data,
        retention_date=retention.retention_date,
        kept_after_erasure=retention.KEPT_AFTER_ERASURE,
        erase_at_close=retention.erase_at_close,
    )
