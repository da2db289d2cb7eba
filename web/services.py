"""What a route may reach: the runtime, the database and the settings of this app."""

from __future__ import annotations

from flask import current_app

from engine.config import Settings
from engine.db import Database
from engine.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["nrmflow.runtime"]  # type: ignore[no-any-return]


def database() -> Database:
    return current_app.extensions["nrmflow.db"]  # type: ignore[no-any-return]


def settings() -> Settings:
    return current_app.extensions["nrmflow.settings"]  # type: ignore[no-any-return]
