"""API bearer tokens: shown once at creation, stored only as a SHA-256 digest.

A token is 32 random bytes, so a plain SHA-256 is enough to make a stolen
table useless (no one can guess a preimage of 256 random bits); a slow
password hash would only slow every API request. Revoking is immediate: the
next request with the token is refused.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from engine import audit
from engine.clock import Clock, as_utc
from engine.db import Database
from engine.errors import EngineError
from engine.models import ApiToken
from engine.users import find_user

TOKEN_PREFIX = "nrm_"
# last use is written at most this often, so reads do not each take the write lock
LAST_USED_RESOLUTION = timedelta(minutes=5)


class TokenRejected(EngineError):
    """Unknown, revoked or malformed; one message for all, so none reveals which."""


class TokenNotFound(EngineError):
    """No live token has that id: it never existed or is revoked already."""


@dataclass(frozen=True)
class TokenOwner:
    token_id: int
    username: str
    agency: str | None
    roles: frozenset[str]


@dataclass(frozen=True)
class TokenView:
    id: int
    username: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(db: Database, username: str, label: str, actor: str, clock: Clock) -> str:
    """A new token for ``username``; the return value is the only copy of it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.transaction() as session:
        user = find_user(session, username)
        row = ApiToken(
            user_id=user.id, token_hash=digest(token), label=label, created_at=clock.now()
        )
        session.add(row)
        session.flush()
        event = audit.PendingEvent(
            actor, "api_token_created", payload={"user": username, "token": row.id}
        )
        audit.append(session, [event], clock.now())
    return token


def revoke_tokens(
    db: Database, actor: str, clock: Clock, token_id: int | None = None, user: str | None = None
) -> list[int]:
    """Revoke one token by id, or every live token of a user; returns the ids revoked."""
    if (token_id is None) == (user is None):
        raise ValueError("revoke either one token id or one user's tokens")
    with db.transaction() as session:
        query = select(ApiToken).where(ApiToken.revoked_at.is_(None))
        if token_id is not None:
            query = query.where(ApiToken.id == token_id)
        else:
            query = query.where(ApiToken.user_id == find_user(session, user or "").id)
        now = clock.now()
        revoked = []
        for row in session.scalars(query):
            row.revoked_at = now
            revoked.append(row.id)
        events = [
            audit.PendingEvent(
                actor, "api_token_revoked", payload={"user": row.user.username, "token": row.id}
            )
            for row in session.scalars(select(ApiToken).where(ApiToken.id.in_(revoked)))
        ]
        if token_id is not None and not revoked:
            raise TokenNotFound(f"no live token with id {token_id}")
        audit.append(session, events, now)
    return revoked


def list_tokens(db: Database, user: str | None = None) -> list[TokenView]:
    with db.reader() as session:
        query = select(ApiToken).order_by(ApiToken.id)
        if user is not None:
            query = query.where(ApiToken.user_id == find_user(session, user).id)
        return [
            TokenView(
                row.id,
                row.user.username,
                row.label,
                as_utc(row.created_at),
                as_utc(row.last_used_at) if row.last_used_at else None,
                as_utc(row.revoked_at) if row.revoked_at else None,
            )
            for row in session.scalars(query)
        ]


def authenticate_token(db: Database, token: str, clock: Clock) -> TokenOwner:
    """The live token's owner, or :class:`TokenRejected`."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise TokenRejected("invalid or revoked token")
    hashed = digest(token)
    with db.reader() as session:
        row = session.scalars(
            select(ApiToken).where(ApiToken.token_hash == hashed, ApiToken.revoked_at.is_(None))
        ).one_or_none()
        if row is None:
            raise TokenRejected("invalid or revoked token")
        user = row.user
        owner = TokenOwner(row.id, user.username, user.agency, frozenset(user.role_names))
        last_used = as_utc(row.last_used_at) if row.last_used_at else None
    now = clock.now()
    if last_used is None or now - last_used > LAST_USED_RESOLUTION:
        with db.transaction() as session:
            session.execute(
                update(ApiToken).where(ApiToken.id == owner.token_id).values(last_used_at=now)
            )
    return owner
