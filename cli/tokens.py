"""``nrmflow tokens``: API bearer tokens, printed once at creation, revocable at once."""

from __future__ import annotations

import click

from cli.main import CLI_ACTOR, Context, json_option, main
from engine.api_tokens import create_token, list_tokens, revoke_tokens


@main.group()
def tokens() -> None:
    """API tokens (only their hashes are stored)."""


@tokens.command("create")
@click.option("--user", "username", required=True, help="Whose roles the token carries.")
@click.option("--label", default="api", help="What the token is for, e.g. the calling system.")
@json_option
def tokens_create(ctx: Context, username: str, label: str) -> None:
    """Print a new token for USER; it is shown this once and cannot be recovered."""
    token = create_token(ctx.db, username, label, CLI_ACTOR, ctx.runtime.clock)
    ctx.emit({"user": username, "label": label, "token": token}, token)


@tokens.command("list")
@click.option("--user", "username", default=None)
@json_option
def tokens_list(ctx: Context, username: str | None) -> None:
    """Tokens by id, owner and label, with when each was last used (never the token)."""
    views = list_tokens(ctx.db, username)
    rows = [
        {
            "id": v.id,
            "user": v.username,
            "label": v.label,
            "created_at": v.created_at.isoformat(),
            "last_used_at": v.last_used_at.isoformat() if v.last_used_at else None,
            "revoked_at": v.revoked_at.isoformat() if v.revoked_at else None,
        }
        for v in views
    ]
    text = "\n".join(
        f"{r['id']:>5}  {r['user']:<24} {r['label']:<20} "
        f"{'revoked ' + r['revoked_at'] if r['revoked_at'] else 'live'}"
        for r in rows
    )
    ctx.emit(rows, text or "no tokens")


@tokens.command("revoke")
@click.argument("token_id", type=int, required=False)
@click.option("--user", "username", default=None, help="Revoke every live token of this user.")
@json_option
def tokens_revoke(ctx: Context, token_id: int | None, username: str | None) -> None:
    """Revoke token TOKEN_ID, or all of a user's tokens with --user; effective at once."""
    if (token_id is None) == (username is None):
        raise click.UsageError("give a token id or --user, not both")
    revoked = revoke_tokens(ctx.db, CLI_ACTOR, ctx.runtime.clock, token_id=token_id, user=username)
    ctx.emit({"revoked": revoked}, f"revoked {len(revoked)} token(s)")
