"""Issue 5 pages (being written)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("monitoring", __name__)
