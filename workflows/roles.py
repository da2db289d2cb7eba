"""The NRM actor catalogue: which roles exist and which diagram lanes each serves.

Lanes in ``bpmn/nrm`` are named for actors ("Competent Authority"); the
engine asks :func:`role_for_lane` who may work a task in a lane. A lane no
role serves is refused at deploy, so a typo in a diagram cannot create a
task nobody can see.
"""

from __future__ import annotations

from dataclasses import dataclass


def N_(text: str) -> str:
    """Marks a title for translation; web translates it when shown."""
    return text


@dataclass(frozen=True)
class Role:
    key: str
    name: str
    lanes: tuple[str, ...] = ()
    starts_referrals: bool = False


ROLES: tuple[Role, ...] = (
    Role(
        "first_responder",
        N_("First responder (police, border guard, labour inspector, NGO outreach, social worker)"),
        ("First Responder",),
        starts_referrals=True,
    ),
    Role(
        "competent_authority",
        N_("Competent authority (reasonable and conclusive grounds)"),
        ("Competent Authority",),
    ),
    Role(
        "nrm_coordinator", N_("NRM coordinator (oversight and escalations)"), ("NRM Coordinator",)
    ),
    Role("support_provider", N_("Support provider (NGO caseworker)"), ("Support Provider",)),
    Role(
        "social_services", N_("Social services (accommodation and housing)"), ("Social Services",)
    ),
    Role("health_services", N_("Health services"), ("Health Services",)),
    Role("interpreter", N_("Interpretation service"), ("Interpretation Service",)),
    Role("legal_aid", N_("Legal aid lawyer"), ("Legal Aid",)),
    Role("child_protection", N_("Child protection authority"), ("Child Protection",)),
    Role("guardian", N_("Guardian of a child (art. 10(4))"), ("Guardian",)),
    Role("prosecutor", N_("Prosecutor"), ("Prosecutor",)),
    Role("police", N_("Investigating police"), ("Police",)),
    Role("immigration", N_("Immigration and residence-permit authority"), ("Immigration",)),
    Role(
        "return_organisation",
        N_("Return and reintegration organisation (e.g. IOM)"),
        ("Return Organisation",),
    ),
    Role("supervisor", N_("Supervisor: reassigns work items within their agency")),
    Role("partner_gateway", N_("Partner system: consulate or origin-country contact point")),
    Role("auditor", N_("Auditor: ombudsperson, national rapporteur, inspector (read-only)")),
)

ROLES_BY_KEY = {role.key: role for role in ROLES}
_ROLE_OF_LANE = {lane: role.key for role in ROLES for lane in role.lanes}


def role_for_lane(lane: str | None) -> str | None:
    """The role serving a lane, or None for a lane the catalogue does not know."""
    return _ROLE_OF_LANE.get(lane) if lane is not None else None


def referral_starters() -> set[str]:
    return {role.key for role in ROLES if role.starts_referrals}
