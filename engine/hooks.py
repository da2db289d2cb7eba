"""The explicit points where a domain (``workflows``) plugs into the engine.

The engine runs any SpiffWorkflow-compatible BPMN; what a lane means, which
helpers scripts may call, who may start which process and who may deliver
which message are the domain's business. ``workflows`` builds one
:class:`Hooks` and hands it to the runtime.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def role_from_lane(lane: str | None) -> str | None:
    """Default lane → role: "Case Worker" → "case_worker"."""
    if lane is None:
        return None
    return re.sub(r"[^a-z0-9]+", "_", lane.lower()).strip("_") or None


@dataclass(frozen=True)
class Hooks:
    role_for_lane: Callable[[str | None], str | None] = role_from_lane
    script_helpers: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    may_start: Callable[[str, set[str]], bool] = lambda _key, _roles: True
    may_deliver: Callable[[str, set[str]], bool] = lambda _message, _roles: True
    may_reassign: Callable[[set[str]], bool] = lambda roles: "supervisor" in roles
    # who may deploy process models through the web and the API (the CLI is the operator's)
    may_deploy: Callable[[set[str]], bool] = lambda _roles: True
    # who may move a training deployment's clock forward
    may_move_clock: Callable[[set[str]], bool] = lambda _roles: True
    # who may read the mechanism's statistics
    may_monitor: Callable[[set[str]], bool] = lambda _roles: True
    # who may suspend a case (no timer fires, no task is offered) and resume it
    may_suspend: Callable[[set[str]], bool] = lambda _roles: True
    # who may retry or cancel the failed step of an incident
    may_handle_incidents: Callable[[set[str]], bool] = lambda _roles: True
    # who may move running cases to another version of their process model
    may_migrate: Callable[[set[str]], bool] = lambda _roles: True
    # who may read a case's audit history
    may_read_history: Callable[[set[str]], bool] = lambda _roles: True
    # who may open a case record, given the viewer's roles and the roles of its open items
    may_view_case: Callable[[set[str], set[str | None]], bool] = lambda _roles, _item_roles: True
    # when a closed case's personal data is erased, read from its final data; None: after the
    # deployment's retention period (NRMFLOW_RETENTION_DAYS), see engine/retention.py
    retention_date: Callable[[dict[str, Any]], datetime | None] = lambda _data: None
    # a reason to erase a case the moment it closes (its final data decides), else None
    erase_at_close: Callable[[dict[str, Any]], str | None] = lambda _data: None
    # the fields whose recorded values erasure keeps (statistical categories); the rest go
    kept_after_erasure: frozenset[str] = frozenset()
    # the case data a viewer may see, given their roles and the case's current stages
    visible_data: Callable[[set[str], list[str], dict[str, Any]], dict[str, Any]] = (
        lambda _roles, _stages, data: data
    )
