"""Case references: what staff and partners quote to find a case."""

from __future__ import annotations

import secrets
from datetime import datetime

_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_business_key(now: datetime) -> str:
    """A case reference that says nothing about the person and cannot be enumerated."""
    body = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"{now:%Y}-{body[:4]}-{body[4:]}"
