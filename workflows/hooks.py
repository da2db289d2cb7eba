"""The domain's hooks into the engine: lanes, script helpers, who starts, who messages,
who opens a case and which of its data they see."""

from __future__ import annotations

from engine.calendar import BusinessCalendar
from engine.config import Settings
from engine.hooks import Hooks
from workflows import messages, roles, visibility
from workflows.script_helpers import script_helpers
from workflows.time_limits import TimeLimits, load_time_limits

CASE_PROCESS = "nrm_case"


def may_start(key: str, role_names: set[str]) -> bool:
    """Only a first responder starts a referral; stage processes run only as call activities."""
    return key == CASE_PROCESS and bool(role_names & roles.referral_starters())


def build_hooks(settings: Settings, limits: TimeLimits | None = None) -> Hooks:
    return Hooks(
        role_for_lane=roles.role_for_lane,
        script_helpers=script_helpers(
            limits or load_time_limits(), BusinessCalendar(settings.holiday_country)
        ),
        may_start=may_start,
        may_deliver=messages.may_deliver,
        may_view_case=visibility.may_view_case,
        visible_data=visibility.visible_data,
    )
