"""Translations: English and French (the OSCE working languages), chosen per user.

The signed-in user's saved language wins; before sign-in the browser's
preference decides. Catalogues live in web/translations and are compiled by
the Makefile's install step (``pybabel compile``).
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel, get_locale
from flask_login import current_user

LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"


def select_locale() -> str:
    chosen = getattr(current_user, "language", None) if current_user else None
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["get_locale"] = get_locale  # base.html's <html lang>
