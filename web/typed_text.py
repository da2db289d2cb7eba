"""Text a person typed, made safe to hand to the database as a query parameter."""

from __future__ import annotations

NUL_STAND_IN = "\ufffd"


def without_nul(text: str) -> str:
    """PostgreSQL refuses a NUL in a text parameter (a 500); U+FFFD in its place matches
    nothing stored, which is the right answer to a filter or a user name holding one."""
    return text.replace("\x00", NUL_STAND_IN)
