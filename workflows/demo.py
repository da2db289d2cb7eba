"""Demo agencies and users for ``make run``: invented names, one user per NRM role.

Nothing here is real personal data; usernames say which role they play, so a
newcomer can sign in as each actor and walk a case end to end. They share one
published password, which is why ``nrmflow seed-demo`` refuses to run in
production.
"""

from __future__ import annotations

from engine.accounts import set_missing_passwords
from engine.clock import Clock
from engine.db import Database
from engine.users import UserView, add_user

DEMO_PASSWORD = "nrmflow-demo-2026"
SEED_ACTOR = "system:seed"

DEMO_USERS: list[tuple[str, str, list[str]]] = [
    ("demo.police", "Riverside Police", ["first_responder", "police"]),
    ("demo.labour", "Labour Inspectorate", ["first_responder"]),
    ("demo.outreach", "Harbour Light NGO", ["first_responder"]),
    ("demo.authority", "Competent Authority", ["competent_authority"]),
    ("demo.coordinator", "National NRM Coordination Office", ["nrm_coordinator"]),
    ("demo.caseworker", "Harbour Light NGO", ["support_provider"]),
    ("demo.caseworker2", "Harbour Light NGO", ["support_provider"]),
    ("demo.supervisor", "Harbour Light NGO", ["support_provider", "supervisor"]),
    ("demo.social", "Social Services", ["social_services"]),
    ("demo.health", "Public Health Service", ["health_services"]),
    ("demo.interpreter", "Interpretation Service", ["interpreter"]),
    ("demo.lawyer", "Legal Aid Board", ["legal_aid"]),
    ("demo.childprotection", "Child Protection Authority", ["child_protection"]),
    ("demo.guardian", "Guardianship Service", ["guardian"]),
    ("demo.prosecutor", "Public Prosecution", ["prosecutor"]),
    ("demo.immigration", "Immigration Service", ["immigration"]),
    ("demo.return", "Return and Reintegration Organisation", ["return_organisation"]),
    ("demo.partners", "Partner Gateway", ["partner_gateway"]),
    ("demo.auditor", "Ombudsperson", ["auditor"]),
]


def demo_user_for(role: str) -> str:
    """The first demo user holding ``role``: scenario tests act as them."""
    return next(name for name, _agency, roles in DEMO_USERS if role in roles)


def seed_demo_users(db: Database, clock: Clock) -> list[UserView]:
    """Idempotent: re-running adds nothing that is already there.

    A demo user gets the demo password only while they have none, so a
    password someone changed is never reset by seeding again.
    """
    views = [
        add_user(db, username, roles, agency, actor=SEED_ACTOR, clock=clock)
        for username, agency, roles in DEMO_USERS
    ]
    set_missing_passwords(db, [v.username for v in views], DEMO_PASSWORD, SEED_ACTOR, clock)
    return views
