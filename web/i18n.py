"""Translations: English and French (the OSCE working languages), chosen per user.

The signed-in user's saved language wins; before sign-in the browser's
preference decides. Catalogues live in web/translations; the Makefile
compiles them (``pybabel compile``) before ``make run`` and ``make test``.

Stage and role titles come from ``workflows`` in English, marked there with a
no-op ``N_`` so extraction finds them without ``workflows`` importing Flask;
they are translated here, when shown.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel, get_locale, gettext
from flask_login import current_user

from workflows import stages
from workflows.roles import ROLES_BY_KEY

LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"


def select_locale() -> str:
    chosen = getattr(current_user, "language", None) if current_user else None
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def stage_title(stage: str | None) -> str:
    """A stage by its name in the reader's language; an unknown stage by its key."""
    return _translated(stages.stage_title(stage))


def role_title(role: str | None) -> str:
    """A role by its name in the reader's language; an unknown role by its key."""
    known = ROLES_BY_KEY.get(role or "")
    return _translated(known.name) if known else role or ""


def _translated(title: str) -> str:
    return gettext(title) if title else ""  # gettext("") would be the catalogue's header


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["get_locale"] = get_locale  # base.html's <html lang>
