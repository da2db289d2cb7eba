"""Commands on a work item that leave the workflow as it is: claim, give back, reassign, draft.

They change only the inbox row (and the audit log), so they never load or
save a workflow; mixed into :class:`engine.runtime.Runtime`. Claiming and
drafting are work on the case, refused while it is suspended; giving an item
back or reassigning it is not.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine import audit
from engine.case_suspension import refuse_if_suspended
from engine.errors import (
    AccessRefused,
    AlreadyClaimed,
    FieldError,
    FormInvalid,
    NotAuthorized,
    NotClaimant,
    TaskNotReady,
)
from engine.forms import validate_form_data
from engine.models import WorkItem
from engine.users import find_user
from engine.views import WorkItemView

if TYPE_CHECKING:
    from engine.clock import Clock
    from engine.hooks import Hooks

MAX_DRAFT_BYTES = 200_000


class WorkItemCommands:
    clock: Clock
    hooks: Hooks

    def _transaction(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def claim(self, work_item_id: int, actor: str) -> WorkItemView:
        with self._transaction() as session:
            item = self._authorized_item(session, work_item_id, actor)
            refuse_if_suspended(item.instance)
            claimed = session.execute(
                update(WorkItem)
                .where(WorkItem.id == item.id)
                .where((WorkItem.assignee.is_(None)) | (WorkItem.assignee == actor))
                .values(assignee=actor)
            )
            if claimed.rowcount != 1:
                raise AlreadyClaimed(f"work item {work_item_id} is claimed by someone else")
            self._audit_item(session, item, actor, "work_item_claimed")
            session.refresh(item)
            return WorkItemView.of(item, item.instance.business_key)

    def unclaim(self, work_item_id: int, actor: str) -> WorkItemView:
        with self._transaction() as session:
            item = self._authorized_item(session, work_item_id, actor)
            if item.assignee != actor:
                raise NotClaimant(f"work item {work_item_id} is not claimed by '{actor}'")
            item.assignee = None
            self._audit_item(session, item, actor, "work_item_unclaimed")
            return WorkItemView.of(item, item.instance.business_key)

    def reassign(self, work_item_id: int, to_user: str, actor: str) -> WorkItemView:
        """A supervisor hands an item of a role they hold to a colleague of their agency with it."""
        with self._transaction() as session:
            supervisor = find_user(session, actor)
            item = self._authorized_item(session, work_item_id, actor)
            if not self.hooks.may_reassign(supervisor.role_names):
                raise NotAuthorized(f"'{actor}' may not reassign work items")
            colleague = find_user(session, to_user)
            if colleague.agency != supervisor.agency or item.role not in colleague.role_names:
                raise NotAuthorized(
                    f"'{to_user}' is not in {actor}'s agency with the role of this work item"
                )
            previous = item.assignee
            item.assignee = colleague.username
            event = audit.PendingEvent(
                actor,
                "work_item_reassigned",
                item.instance_id,
                item.task_id,
                None,
                {"task": item.task_name, "from": previous, "to": colleague.username},
            )
            audit.append(session, [event], self.clock.now())
            return WorkItemView.of(item, item.instance.business_key)

    def save_draft(self, work_item_id: int, data: dict[str, Any], actor: str) -> WorkItemView:
        """Keep unfinished form input on the item; it is not validated until completion."""
        validate_form_data(None, data)
        draft = json.dumps(data, sort_keys=True)
        if len(draft.encode("utf-8")) > MAX_DRAFT_BYTES:
            raise FormInvalid([FieldError("", "the draft is too large to keep")])
        with self._transaction() as session:
            item = self._authorized_item(session, work_item_id, actor)
            refuse_if_suspended(item.instance)
            if item.assignee not in (None, actor):
                raise AlreadyClaimed(f"work item {work_item_id} is claimed by someone else")
            item.draft, item.draft_by = draft, actor
            self._audit_item(session, item, actor, "draft_saved", fields=sorted(data))
            return WorkItemView.of(item, item.instance.business_key)

    # ----------------------------------------------------------------- shared

    def _open_item(self, session: Session, work_item_id: int) -> WorkItem:
        item = session.get(WorkItem, work_item_id)
        if item is None:
            raise TaskNotReady(
                f"work item {work_item_id} is not open: completed, withdrawn or never existed"
            )
        return item

    def _authorized_item(self, session: Session, work_item_id: int, actor: str) -> WorkItem:
        user = find_user(session, actor)
        item = self._open_item(session, work_item_id)
        if item.role not in user.role_names:
            raise AccessRefused(
                f"'{actor}' does not hold the role of work item {work_item_id}",
                actor,
                "work_item",
                item.instance_id,
                item.task_id,
            )
        return item

    def _audit_item(
        self, session: Session, item: WorkItem, actor: str, action: str, **payload: Any
    ) -> None:
        event = audit.PendingEvent(
            actor, action, item.instance_id, item.task_id, None, {"task": item.task_name, **payload}
        )
        audit.append(session, [event], self.clock.now())
