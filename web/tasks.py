"""Placeholder blueprint: routes are added by the web issue."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("tasks", __name__)
