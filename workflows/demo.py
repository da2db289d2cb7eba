"""Demo users for ``make run``: invented names, one per NRM actor role.

Nothing here is real personal data; usernames say which role they play.
"""

from __future__ import annotations

from engine.clock import Clock
from engine.db import Database
from engine.users import UserView, add_user

DEMO_USERS: list[tuple[str, str, list[str]]] = [
    ("demo.police", "Police", ["first_responder", "police"]),
    ("demo.labour", "Labour Inspectorate", ["first_responder", "labour_inspector"]),
    ("demo.ngo", "Support NGO", ["first_responder", "support_provider"]),
    ("demo.social", "Social Services", ["first_responder", "social_services"]),
    ("demo.authority", "Competent Authority", ["competent_authority"]),
    ("demo.coordinator", "NRM Coordinator", ["nrm_coordinator"]),
    ("demo.guardian", "Child Protection", ["guardian"]),
    ("demo.immigration", "Immigration", ["immigration"]),
    ("demo.prosecutor", "Prosecution", ["prosecutor"]),
    ("demo.auditor", "Ombudsperson", ["auditor"]),
]


def seed_demo_users(db: Database, clock: Clock) -> list[UserView]:
    """Idempotent: re-running adds nothing that is already there."""
    return [
        add_user(db, username, roles, agency, actor="system:seed", clock=clock)
        for username, agency, roles in DEMO_USERS
    ]
