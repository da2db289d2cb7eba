"""The NRM actor catalogue: which roles exist and which diagram lanes each serves.

Lanes in ``bpmn/nrm`` are named for actors ("Competent Authority"); the
engine asks :func:`role_for_lane` who may work a task in a lane. A lane no
role serves is refused at deploy, so a typo in a diagram cannot create a
task nobody can see.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    key: str
    name: str
    lanes: tuple[str, ...] = ()
    starts_referrals: bool = False


ROLES: tuple[Role, ...] = (
    Role(
        "first_responder",
        "First responder (police, border guard, labour inspector, NGO outreach, social worker)",
        ("First Responder",),
        starts_referrals=True,
    ),
    Role(
        "competent_authority",
        "Competent authority (reasonable and conclusive grounds)",
        ("Competent Authority",),
    ),
    Role("nrm_coordinator", "NRM coordinator (oversight and escalations)", ("NRM Coordinator",)),
    Role("support_provider", "Support provider (NGO caseworker)", ("Support Provider",)),
    Role("social_services", "Social services (accommodation and housing)", ("Social Services",)),
    Role("health_services", "Health services", ("Health Services",)),
    Role("interpreter", "Interpretation service", ("Interpretation Service",)),
    Role("legal_aid", "Legal aid lawyer", ("Legal Aid",)),
    Role("child_protection", "Child protection authority", ("Child Protection",)),
    Role("guardian", "Guardian of a child (art. 10(4))", ("Guardian",)),
    Role("prosecutor", "Prosecutor", ("Prosecutor",)),
    Role("police", "Investigating police", ("Police",)),
    Role("immigration", "Immigration and residence-permit authority", ("Immigration",)),
    Role(
        "return_organisation",
        "Return and reintegration organisation (e.g. IOM)",
        ("Return Organisation",),
    ),
    Role("supervisor", "Supervisor: reassigns work items within their agency"),
    Role("partner_gateway", "Partner system: consulate or origin-country contact point"),
    Role("auditor", "Auditor: ombudsperson, national rapporteur, inspector (read-only)"),
)

ROLES_BY_KEY = {role.key: role for role in ROLES}
_ROLE_OF_LANE = {lane: role.key for role in ROLES for lane in role.lanes}


def role_for_lane(lane: str | None) -> str | None:
    """The role serving a lane, or None for a lane the catalogue does not know."""
    return _ROLE_OF_LANE.get(lane) if lane is not None else None


def referral_starters() -> set[str]:
    return {role.key for role in ROLES if role.starts_referrals}
