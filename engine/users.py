"""Users, their agency and roles: who may act on which work item."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.clock import Clock
from engine.db import Database
from engine.errors import UserNotFound
from engine.models import User, UserRole


@dataclass(frozen=True)
class UserView:
    username: str
    agency: str | None
    roles: list[str]
    created: bool = False


def find_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise UserNotFound(f"no user named '{username}'")
    return user


def add_user(
    db: Database, username: str, roles: list[str], agency: str | None, actor: str, clock: Clock
) -> UserView:
    """Create the user, or add roles (and set the agency) of an existing one; never removes."""
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        created = user is None
        if user is None:
            user = User(username=username, agency=agency, created_at=clock.now())
            session.add(user)
        changed = created or (agency is not None and agency != user.agency)
        if agency is not None:
            user.agency = agency
        for role in sorted(set(roles) - user.role_names):
            user.roles.append(UserRole(role=role))
            changed = True
        session.flush()
        view = UserView(user.username, user.agency, sorted(user.role_names), created)
        if changed:
            event = audit.PendingEvent(
                actor=actor,
                action="user_added" if created else "user_updated",
                payload={"user": username, "roles": view.roles, "agency": user.agency},
            )
            audit.append(session, [event], clock.now())
    return view
