"""The coordinator's monitoring dashboard, its CSV, and the heat overlay on a diagram.

Only the NRM coordinator may read these pages (everyone else gets the 403
page). The figures, their suppression and the audit of each read are the
domain's (``workflows.statistics``); this module only formats them: counts,
"<5" for a small count, a dash for a count hidden to protect one, durations
in days and hours.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from flask import Blueprint, Response, abort, jsonify, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from markupsafe import Markup

from engine.model_versions import list_models
from web import services
from web.i18n import stage_title
from web.svg_charts import Bar, bar_chart
from workflows.statistics import Dashboard, DiagramHeat, dashboard, diagram_heat
from workflows.statistics_values import Figure, Value

blueprint = Blueprint("monitoring", __name__)

PROCESS_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,199}")
# upper bounds (seconds) of the heat levels, in order; the last level is open-ended
HIDDEN_MARK = "\u2013"  # an en dash: a count hidden to protect a small one
HEAT_LEVELS = (3600.0, 86400.0, 3 * 86400.0, 7 * 86400.0)


@blueprint.before_request
def coordinator_only() -> None:
    if not current_user.may_monitor:
        abort(403)


@blueprint.get("/monitoring")
@login_required
def index() -> str:
    figures = _read("statistics_viewed")
    return render_template(
        "monitoring.html",
        board=figures,
        charts={f.key: _chart(f) for f in figures.figures},
        shown=shown_text,
        heat_processes=_heat_processes(),
        stage_title=stage_title,
    )


@blueprint.get("/monitoring.csv")
@login_required
def download() -> Response:
    board = _read("statistics_exported")
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([_("Figure"), _("Row"), _("Column"), _("Value")])
    writer.writerows(csv_rows(board))
    name = f"nrm-monitoring-{board.at:%Y-%m-%d}.csv"
    return Response(
        text.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@blueprint.get("/monitoring/diagram/<key>")
@login_required
def diagram(key: str) -> ResponseReturnValue:
    heat = _heat(key)
    rows = [
        (task_id, title, shown_text(value), heat_level(value))
        for task_id, title, value in heat.tasks
    ]
    return render_template(
        "monitoring_diagram.html",
        key=key,
        rows=rows,
        legend=heat_legend(),
        data_url=url_for("monitoring.diagram_data", key=key),
        stage_title=stage_title,
    )


@blueprint.get("/monitoring/diagram/<key>/data.json")
@login_required
def diagram_data(key: str) -> ResponseReturnValue:
    heat = _heat(key)
    return jsonify(
        process=key,
        xml=heat.xml,
        tasks={
            task_id: {"median": shown_text(value), "level": heat_level(value)}
            for task_id, _title, value in heat.tasks
        },
        legend=heat_legend(),
    )


# ---------------------------------------------------------------- formatting


def shown_text(value: Value) -> str:
    """A figure as people read it, in their language."""
    if value.shown == "small":
        return _("<5")
    if value.shown == "hidden":
        return HIDDEN_MARK
    if value.shown == "too_few" or value.number is None:
        return _("fewer than 5")
    if value.kind == "percent":
        return _("%(percent)s%%", percent=f"{value.number:g}")
    if value.kind == "duration":
        return duration_text(value.number)
    return f"{value.number:.0f}"


def duration_text(seconds: float) -> str:
    """Days and hours (or hours and minutes under a day): enough to see where cases stall."""
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        parts = [ngettext("%(num)d day", "%(num)d days", days)]
        if hours:
            parts.append(ngettext("%(num)d hour", "%(num)d hours", hours))
    elif hours:
        parts = [ngettext("%(num)d hour", "%(num)d hours", hours)]
        if minutes:
            parts.append(ngettext("%(num)d minute", "%(num)d minutes", minutes))
    else:
        parts = [ngettext("%(num)d minute", "%(num)d minutes", minutes)]
    return " ".join(parts)


def heat_level(value: Value) -> int | None:
    """0 (quickest) to 4 (slowest); None when the median is not shown."""
    if value.number is None:
        return None
    return next((i for i, bound in enumerate(HEAT_LEVELS) if value.number < bound), 4)


def heat_legend() -> list[dict[str, object]]:
    labels = [
        _("under 1 hour"),
        _("1 hour to 1 day"),
        _("1 to 3 days"),
        _("3 to 7 days"),
        _("7 days or more"),
    ]
    legend: list[dict[str, object]] = [
        {"level": i, "label": label} for i, label in enumerate(labels)
    ]
    legend.append({"level": None, "label": _("fewer than 5 completed tasks: not shown")})
    return legend


def csv_rows(board: Dashboard) -> Iterator[list[str]]:
    """One line per figure, row and column, with the value exactly as the page shows it."""
    for figure in board.figures:
        for row in figure.rows:
            for column, value in zip(figure.columns, row.values, strict=True):
                yield [_(figure.title), _(row.label), _(column), shown_text(value)]


# ---------------------------------------------------------------- internals


def _read(action: str) -> Dashboard:
    runtime = services.runtime()
    return dashboard(services.database(), runtime.clock, current_user.username, action)


def _heat(key: str) -> DiagramHeat:
    if not PROCESS_KEY.fullmatch(key):
        abort(404)
    runtime = services.runtime()
    heat = diagram_heat(services.database(), runtime.clock, current_user.username, key)
    if heat is None:
        abort(404)
    return heat


def _chart(figure: Figure) -> Markup:
    bars = [Bar(_(label), value.number, shown_text(value)) for label, value in figure.chart]
    return bar_chart(_(figure.title), bars, f"chart-{figure.key}")


def _heat_processes() -> list[str]:
    return sorted({model["key"] for model in list_models(services.database())})
