"""The audit log for the people who check the mechanism: search, export, integrity.

Only the roles the domain lets read case histories (``Hooks.may_read_history``:
the auditor and the NRM coordinator) reach these pages; the engine refuses
anyone else, which the error handler turns into the 403 page. Filters travel
as GET parameters that name staff, agencies, actions, case references and
dates, never a person in care. Every search, export and check is itself
audited by the engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user, login_required

from engine.audit_export import export_lines
from engine.audit_search import (
    AuditFilters,
    AuditRow,
    begin_export,
    check_integrity,
    export_rows,
    search_choices,
    search_page,
)
from web import services
from web.typed_text import without_nul

blueprint = Blueprint("audit_log", __name__)

MAX_TEXT = 200
CHUNK_LINES = 200
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
REASONS = {
    "content does not match its hash (edited)": lazy_gettext(
        "its content does not match its hash (edited)"
    ),
    "previous-hash link broken (deleted or reordered)": lazy_gettext(
        "its link to the event before is broken (deleted or reordered)"
    ),
    "events missing after the last one": lazy_gettext("events are missing after the last one"),
}
SEQUENCE_REASON = re.compile(r"expected sequence (\d+), found (\d+)")


@dataclass(frozen=True)
class AuditQuery:
    """One search as its GET parameters say; unusable values are dropped and reported."""

    actor: str = ""
    agency: str = ""
    action: str = ""
    case: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    invalid: tuple[str, ...] = ()

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> AuditQuery:
        def text(name: str) -> str:
            return without_nul(args.get(name) or "").strip()[:MAX_TEXT]

        dates: dict[str, date | None] = {}
        invalid = []
        for name in ("from", "to"):
            try:
                dates[name] = date.fromisoformat(text(name)) if text(name) else None
            except ValueError:
                dates[name], invalid = None, [*invalid, name]
        page = args.get("page", "1")
        return cls(
            actor=text("actor"),
            agency=text("agency"),
            action=text("action"),
            case=text("case"),
            date_from=dates["from"],
            date_to=dates["to"],
            page=int(page) if page.isascii() and page.isdigit() else 1,
            invalid=tuple(invalid),
        )

    def filters(self) -> AuditFilters:
        """Dates are whole UTC days, ``to`` included: [from 00:00, the day after ``to`` 00:00)."""
        return AuditFilters(
            actor=self.actor or None,
            agency=self.agency or None,
            action=self.action or None,
            case_reference=self.case or None,
            since=_midnight(self.date_from) if self.date_from else None,
            until=_midnight(self.date_to + timedelta(days=1)) if self.date_to else None,
        )

    def params(self, **changes: object) -> dict[str, str]:
        """This search's GET parameters with ``changes``, empty ones left out."""
        params: dict[str, object] = {
            "actor": self.actor,
            "agency": self.agency,
            "action": self.action,
            "case": self.case,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "page": self.page if self.page != 1 else None,
            **changes,
        }
        return {key: str(value) for key, value in params.items() if value not in (None, "")}

    def url(self, endpoint: str = "audit_log.search", **changes: object) -> str:
        return url_for(endpoint, **self.params(**changes))

    def filtered(self) -> bool:
        return self.filters() != AuditFilters()


@blueprint.get("/audit")
@login_required
def search() -> str:
    query = AuditQuery.parse(request.args)
    runtime = services.runtime()
    page = search_page(
        services.database(),
        query.filters(),
        query.page,
        current_user.username,
        _may_read(),
        runtime.clock,
    )
    query = replace(query, page=page.page)
    return render_template(
        "audit_search.html",
        query=query,
        page=page,
        choices=search_choices(services.database()),
        details=details,
        case_link=_case_link(),
    )


@blueprint.get("/audit/export.<any(csv, jsonl):export_format>")
@login_required
def export(export_format: str) -> Response:
    """A streamed file of every matching event; the export is audited before it starts."""
    query = AuditQuery.parse(request.args)
    runtime = services.runtime()
    db = services.database()
    plan = begin_export(
        db, query.filters(), current_user.username, _may_read(), runtime.clock, export_format
    )
    lines = export_lines(export_rows(db, plan), export_format)
    filename = f"nrmflow-audit-{runtime.clock.now().date().isoformat()}.{export_format}"
    return Response(
        _chunks(lines),
        mimetype=MEDIA_TYPES[export_format],
        headers={
            "Content-Disposition": f"attachment; filename={filename}",
            "Cache-Control": "no-store",
        },
    )


@blueprint.get("/audit/integrity")
@login_required
def integrity() -> str:
    runtime = services.runtime()
    check = check_integrity(services.database(), current_user.username, _may_read(), runtime.clock)
    return render_template("integrity.html", check=check, reason=_reason(check.verification.reason))


def details(row: AuditRow) -> list[tuple[str, str]]:
    """An event's payload as (name, text) pairs for the table; values of a form never appear."""
    return [(name, _text(value)) for name, value in row.masked_payload().items()]


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_text(item)}" for key, item in value.items())
    if isinstance(value, list):
        separator = "; " if any(isinstance(item, dict | list) for item in value) else ", "
        return separator.join(_text(item) for item in value)
    return "" if value is None else str(value)


def _may_read() -> bool:
    return services.runtime().hooks.may_read_history(set(current_user.roles))


def _case_link() -> str | None:
    """The case history page's endpoint, when the app has one; else references stay text."""
    endpoint = "history.show"
    return endpoint if endpoint in current_app.view_functions else None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _reason(reason: str) -> str:
    if reason in REASONS:
        return str(REASONS[reason])
    found = SEQUENCE_REASON.search(reason)
    if found:
        expected, seen = (int(number) for number in found.groups())
        return _(
            "event %(expected)d was expected, %(found)d found (deleted or reordered)",
            expected=expected,
            found=seen,
        )
    return reason


def _chunks(lines: Iterable[str]) -> Iterator[str]:
    """A few hundred lines per write, not one: a large export is many thousand lines."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= CHUNK_LINES:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)
