"""Who is calling the API: a bearer token, resolved to its user on every request.

The caller's roles come from the database each time, so a role removed or a
token revoked takes effect on the next request. The token never reaches a
log: only its owner's name is kept, on ``g``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request

from engine.api_tokens import TokenOwner, TokenRejected, authenticate_token
from web import services


@dataclass(frozen=True)
class ApiUser:
    username: str
    agency: str | None
    roles: frozenset[str]


def authenticate() -> ApiUser:
    """The bearer token's owner; :class:`TokenRejected` (401) for anything else."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejected("send 'Authorization: Bearer <token>'")
    owner: TokenOwner = authenticate_token(
        services.database(), token.strip(), services.runtime().clock
    )
    user = ApiUser(owner.username, owner.agency, owner.roles)
    g.api_user = user
    return user


def api_user() -> ApiUser:
    """The authenticated caller of this request (set before the view runs)."""
    return g.api_user  # type: ignore[no-any-return]
