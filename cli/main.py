"""``nrmflow``: every command prints text for people, or JSON with ``--json``.

Exit codes: 0 success, 1 a domain error (message on stderr), 2 an invalid
bundle (one ``file:line:element_id: message`` line per problem).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, wraps
from pathlib import Path
from typing import Any

import click

from engine.accounts import check_password_policy, set_password
from engine.bundle import read_bundle
from engine.config import Settings, load_settings
from engine.db import Database
from engine.deploy import DeployedModel, deploy_bundle
from engine.errors import EngineError, ModelInvalid
from engine.layout import LayoutError, layout_bpmn
from engine.model_versions import list_models
from engine.outbox import deliver_due
from engine.partners import load_partner_directory
from engine.runtime import Runtime
from engine.training_clock import deployment_clock, refresh_if_training
from engine.users import add_user
from workflows.demo import seed_demo_users
from workflows.hooks import build_hooks

CLI_ACTOR = "cli"


@dataclass
class Context:
    settings: Settings
    as_json: bool

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.database_url)

    @cached_property
    def runtime(self) -> Runtime:
        """On the deployment's clock: in training mode as far as a coordinator moved it."""
        runtime = Runtime(
            self.db,
            build_hooks(self.settings),
            deployment_clock(self.settings, self.db),
            self.settings.script_time_limit_seconds,
            partners=load_partner_directory(self.settings.partners_file),
            timer_retry=self.settings.timer_retry(),
        )
        refresh_if_training(runtime.clock)
        return runtime

    def refresh_clock(self) -> None:
        """Pick up a clock advance made elsewhere; a long-running command calls it each pass."""
        refresh_if_training(self.runtime.clock)

    def close(self) -> None:
        if "db" in self.__dict__:  # only a command that used the database opened it
            self.db.dispose()

    def emit(self, data: Any, text: str) -> None:
        click.echo(json.dumps(data, indent=2, default=str) if self.as_json else text)


def json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """Accept ``--json`` after any subcommand, as well as before it."""

    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @click.pass_obj
    @wraps(function)
    def wrapper(ctx: Context, as_json: bool, *args: Any, **kwargs: Any) -> Any:
        ctx.as_json = ctx.as_json or as_json
        try:
            return function(ctx, *args, **kwargs)
        except ModelInvalid as error:
            for problem in error.problems:
                click.echo(str(problem), err=True)
            sys.exit(2)
        except EngineError as error:
            if ctx.as_json:
                click.echo(json.dumps({"error": type(error).__name__, "message": str(error)}))
            click.echo(f"error: {error}", err=True)
            sys.exit(1)

    return wrapper


def parse_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise click.BadParameter(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object")
    return value


@click.group()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def main(click_ctx: click.Context, as_json: bool) -> None:
    """nrmflow: a National Referral Mechanism run as executable BPMN."""
    context = Context(load_settings(), as_json)
    click_ctx.obj = context
    click_ctx.call_on_close(context.close)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@json_option
def db_upgrade(ctx: Context) -> None:
    """Create or migrate the database schema to the current version."""
    ctx.db.upgrade()
    ctx.emit({"upgraded": True}, "database is at the current schema")


def _print_deployed(ctx: Context, deployed: list[DeployedModel]) -> None:
    for warning in sorted({w for d in deployed for w in d.warnings}):
        click.echo(f"warning: {warning}", err=True)
    ctx.emit(
        [vars(d) for d in deployed],
        "\n".join(
            f"{d.key} v{d.version} {'deployed' if d.created else 'unchanged'} {d.content_hash[:12]}"
            for d in deployed
        )
        or "no process models found",
    )


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@json_option
def deploy(ctx: Context, directory: Path) -> None:
    """Validate DIRECTORY as one bundle and store new versions of changed processes."""
    bundle = read_bundle(directory, ctx.settings.max_bundle_bytes)
    _print_deployed(
        ctx, deploy_bundle(ctx.db, bundle, CLI_ACTOR, ctx.runtime.hooks, ctx.runtime.clock)
    )


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 if a file's layout is missing or out of date; write nothing.",
)
@json_option
def layout(ctx: Context, files: tuple[Path, ...], check: bool) -> None:
    """Write diagram layout (BPMN DI) into BPMN FILES from their lanes and flows."""
    results = []
    for path in files:
        content = path.read_bytes()
        try:
            laid_out = layout_bpmn(content)
        except LayoutError as error:
            click.echo(f"error: {path}: {error}", err=True)
            results.append({"file": str(path), "status": "error", "message": str(error)})
            continue
        status = "unchanged" if laid_out == content else "stale" if check else "written"
        if status == "written":
            path.write_bytes(laid_out)
        results.append({"file": str(path), "status": status})
    ctx.emit(results, "\n".join(f"{r['file']}: {r['status']}" for r in results))
    if any(r["status"] in ("error", "stale") for r in results):
        sys.exit(1)


@main.command("deploy-all")
@click.argument("root", type=click.Path(path_type=Path))
@json_option
def deploy_all(ctx: Context, root: Path) -> None:
    """Deploy every bundle (each folder holding .bpmn files) directly under ROOT."""
    deployed: list[DeployedModel] = []
    for directory in sorted(p for p in root.iterdir() if p.is_dir() and any(p.rglob("*.bpmn"))):
        bundle = read_bundle(directory, ctx.settings.max_bundle_bytes)
        deployed += deploy_bundle(ctx.db, bundle, CLI_ACTOR, ctx.runtime.hooks, ctx.runtime.clock)
    _print_deployed(ctx, deployed)


@main.command()
@json_option
def models(ctx: Context) -> None:
    """List deployed process models and their versions."""
    rows = list_models(ctx.db)
    ctx.emit(
        rows,
        "\n".join(
            f"{r['key']} v{r['version']} {r['content_hash'][:12]} by {r['deployed_by']} "
            f"at {r['deployed_at']} ({r['instances']} cases)"
            for r in rows
        )
        or "no process models deployed",
    )


@main.group()
def users() -> None:
    """User accounts."""


@users.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="Repeat for several roles.")
@click.option("--agency", default=None)
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Set the password to this file's first line (else asked for on a terminal).",
)
@json_option
def users_add(
    ctx: Context, name: str, roles: tuple[str, ...], agency: str | None, password_file: Path | None
) -> None:
    """Create user NAME with roles, or add roles to an existing user; set a password.

    Without --password-file and without a terminal to ask on, the password is
    left as it is.
    """
    password = _new_password(password_file)
    if password is not None:
        check_password_policy(password, name)  # refuse before anything is stored
    view = add_user(ctx.db, name, list(roles), agency, CLI_ACTOR, ctx.runtime.clock)
    if password is not None:
        set_password(ctx.db, name, password, CLI_ACTOR, ctx.runtime.clock)
    verb = "created" if view.created else "updated"
    note = "; password set" if password is not None else ""
    ctx.emit(
        {**vars(view), "password_set": password is not None},
        f"{verb} {view.username} ({', '.join(view.roles)}){note}",
    )


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _new_password(password_file: Path | None) -> str | None:
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8-sig").splitlines()
        return lines[0] if lines else ""
    if stdin_is_terminal():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return None


@main.command("seed-demo")
@json_option
def seed_demo(ctx: Context) -> None:
    """Create the invented demo users with the demo password (idempotent; never in production)."""
    if ctx.settings.production:
        message = (
            "seed-demo refuses to run with NRMFLOW_ENV=production: "
            "demo users share a published password"
        )
        if ctx.as_json:
            click.echo(json.dumps({"error": "Refused", "message": message}))
        click.echo(f"error: {message}", err=True)
        sys.exit(1)
    views = seed_demo_users(ctx.db, ctx.runtime.clock)
    ctx.emit([vars(v) for v in views], f"{len(views)} demo users present")


@main.command()
@click.argument("key")
@click.option("--data", default="{}", help="Start data as a JSON object.")
@click.option("--as", "actor", required=True, help="User starting the case.")
@json_option
def start(ctx: Context, key: str, data: str, actor: str) -> None:
    """Start a case of process KEY."""
    case = ctx.runtime.start(key, parse_json(data), actor)
    ctx.emit(case.to_json(), f"started case {case.business_key} (id {case.id}): {case.status}")


@main.command()
@click.option("--role", default=None)
@click.option("--as", "actor", default=None, help="Only items this user may work on.")
@json_option
def tasks(ctx: Context, role: str | None, actor: str | None) -> None:
    """List open work items."""
    items = ctx.runtime.work_items(role=role, actor=actor)
    ctx.emit(
        [i.to_json() for i in items],
        "\n".join(
            f"{i.id}\t{i.business_key}\t{i.title}\t{i.role}\t{i.assignee or '-'}\t"
            f"{i.due_at.isoformat() if i.due_at else '-'}"
            for i in items
        )
        or "no open work items",
    )


@main.command()
@click.argument("work_item_id", type=int)
@click.option("--as", "actor", required=True)
@json_option
def claim(ctx: Context, work_item_id: int, actor: str) -> None:
    """Claim a work item."""
    item = ctx.runtime.claim(work_item_id, actor)
    ctx.emit(item.to_json(), f"{actor} claimed work item {item.id} ({item.title})")


@main.command()
@click.argument("work_item_id", type=int)
@click.option("--as", "actor", required=True)
@json_option
def unclaim(ctx: Context, work_item_id: int, actor: str) -> None:
    """Give a claimed work item back to its role's pool."""
    item = ctx.runtime.unclaim(work_item_id, actor)
    ctx.emit(item.to_json(), f"work item {item.id} is back in the {item.role} pool")


@main.command()
@click.argument("work_item_id", type=int)
@click.option("--data", default="{}", help="Form data as a JSON object.")
@click.option("--as", "actor", required=True)
@json_option
def complete(ctx: Context, work_item_id: int, data: str, actor: str) -> None:
    """Complete a work item with form data."""
    case = ctx.runtime.complete(work_item_id, parse_json(data), actor)
    ctx.emit(case.to_json(), f"case {case.business_key}: {case.status}")


@main.command()
@click.argument("message")
@click.option("--case", "reference", required=True, help="The case reference, e.g. 2026-7K3M-Q9XD.")
@click.option("--data", default="{}", help="Message payload as a JSON object.")
@click.option("--as", "actor", required=True)
@json_option
def deliver(ctx: Context, message: str, reference: str, data: str, actor: str) -> None:
    """Deliver MESSAGE (e.g. a partner's reply) to the case waiting for it."""
    case = ctx.runtime.deliver_message(reference, message, parse_json(data), actor)
    ctx.emit(case.to_json(), f"case {case.business_key}: {case.status}")


@main.command()
@click.option("--once", is_flag=True, help="Do one pass (timers, then the outbox) and exit.")
@json_option
def worker(ctx: Context, once: bool) -> None:
    """Fire due timers, then deliver the outbox to partner deployments, in a loop (or once).

    Timers go first, so a message a timer's step throws leaves in the same pass.
    """
    retry = ctx.settings.outbox_retry()
    while True:
        ctx.refresh_clock()
        fired = ctx.runtime.fire_due_timers()
        sent = deliver_due(ctx.db, ctx.runtime.partners, ctx.runtime.clock.now(), retry=retry)
        if once:
            ctx.emit(
                {"fired": fired, **sent.to_json()},
                f"fired {fired} timer(s); delivered {len(sent.delivered)} message(s), "
                f"{len(sent.failed)} failed",
            )
            return
        time.sleep(ctx.settings.worker_poll_seconds)


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option("--workers", default=2, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app with gunicorn."""
    args = [sys.executable, "-m", "gunicorn", f"--bind={host}:{port}", f"--workers={workers}"]
    os.execv(sys.executable, [*args, "web.wsgi:app"])


# Commands grouped by subject live in modules of their own and attach themselves to ``main``
# when imported.
from cli import (  # noqa: E402, F401
    audit,
    backup,
    cases,
    doctor,
    incidents,
    migration,
    partners,
    retention,
    tokens,
    training,
)
