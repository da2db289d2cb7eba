"""``nrmflow partners``: the partner directory and the outbox, as an operator checks them.

Neither command ever prints a secret or a message's payload.
"""

from __future__ import annotations

import click

from cli.main import Context, json_option, main
from engine.outbox import pending_deliveries, retry_now
from engine.partners import load_partner_directory


@main.group()
def partners() -> None:
    """Partner deployments messages are exchanged with (NRMFLOW_PARTNERS_FILE)."""


@partners.command("list")
@json_option
def partners_list(ctx: Context) -> None:
    """Check the partners file and list each partner's URL, key id, messages and roles."""
    directory = load_partner_directory(ctx.settings.partners_file)
    rows = [
        {
            "name": p.name,
            "url": p.url,
            "key_id": p.key_id,
            "messages": sorted(p.messages),
            "roles": sorted(p.roles),
        }
        for p in directory
    ]
    text = "\n".join(
        f"{r['name']}\t{r['url']}\tkey {r['key_id']}\tsends: {', '.join(r['messages']) or '-'}"
        f"\treceived as: {', '.join(r['roles'])}"
        for r in rows
    )
    ctx.emit(rows, text or "no partners configured (NRMFLOW_PARTNERS_FILE is not set)")


@partners.command("outbox")
@click.option("--limit", default=100, type=click.IntRange(1, 10_000), show_default=True)
@json_option
def partners_outbox(ctx: Context, limit: int) -> None:
    """Messages not yet delivered, oldest first, with their attempts and last error.

    A message with no partner waits for someone to pass it on by hand.
    """
    rows = [d.to_json() for d in pending_deliveries(ctx.db, limit)]
    text = "\n".join(
        f"{r['message_id'] or '-'}\t{r['message']}\t{r['partner'] or '(by hand)'}\t"
        f"case {r['case_reference']}\tattempts {r['attempts']}\t"
        f"next {r['next_attempt_at'] or '-'}\t{r['last_error'] or ''}".rstrip()
        for r in rows
    )
    ctx.emit(rows, text or "the outbox is empty")


@partners.command("retry")
@click.option("--partner", "name", default=None, help="Only this partner's messages.")
@json_option
def partners_retry(ctx: Context, name: str | None) -> None:
    """Make undelivered messages due now, after an outage or a key rotation."""
    count = retry_now(ctx.db, name)
    ctx.emit({"due": count}, f"{count} message(s) due now; the worker's next pass sends them")
