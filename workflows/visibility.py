"""Need-to-know: which case data each NRM role may see, at each stage of a case.

The rules are data, not code in templates: case fields are grouped into
named categories, and each role is granted categories per stage (the process
of the case's open work items, or ``completed`` for a closed case). A viewer
sees the union over their roles and the case's current stages; everything
else is withheld (NRM.md, "Safeguards": each agency sees only what its task
needs).

It fails closed: a field no category names (a new form field, a new script
variable) is shown to nobody but the NRM coordinator, who oversees every
case. ``tests/workflows/test_visibility.py`` checks every form property and
every variable a diagram sets is catalogued, so nothing is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

COORDINATOR = "nrm_coordinator"
COMPLETED = "completed"

# Each case field belongs to exactly one category. Fields a diagram's script,
# decision table or message sets (not a form) are listed with their category.
CATEGORIES: Mapping[str, tuple[str, ...]] = {
    # who referred, when and how: no personal data
    "referral": ("first_responder_type", "first_contact_date", "contact_setting"),
    # age, sex, nationality group: what the route and the services depend on
    "profile": (
        "age_status",
        "reasons_to_believe_child",
        "unaccompanied",
        "sex",
        "age_group",
        "nationality_group",
        "age_assessment_outcome",
        "age_assessment_method",
        "age_assessed_on",
        "age_disputed",
        "presumed_child",
        "route",
    ),
    # the person's identity: recorded only after consent (or for a child by child protection)
    "identity": (
        "given_name",
        "family_name",
        "date_of_birth",
        "preferred_language",
        "contact_phone",
        "child_given_name",
        "child_family_name",
        "child_date_of_birth",
        "child_language",
    ),
    # informed consent, its withdrawal, and the anonymous notification when declined
    "consent": (
        "informed_of_rights",
        "consent_given",
        "consent_date",
        "interpreter_used",
        "earlier_notification_reference",
        "link_consent",
        "notification_date",
        "no_identifying_data_confirmed",
        "consent_withdrawal",
    ),
    # the trafficking story as screened by the first responder
    "screening": (
        "indicators",
        "exploitation_types",
        "exploitation_location",
        "willing_to_cooperate",
    ),
    # offences the person was compelled to commit and what the prosecution decided (art. 26)
    "non_punishment": ("compelled_offences", "non_punishment_decision", "non_punishment_note"),
    # whether and when the person was recognised: what services and the permit depend on
    "recognition": (
        "rg_decision",
        "rg_decided_at",
        "recovery_period_started",
        "recovery_period_ends",
        "cg_decision",
        "cg_decided_at",
    ),
    # why the competent authority decided so, and the way to challenge it
    "decision_grounds": (
        "rg_reasons",
        "rg_evidence_considered",
        "cg_reasons",
        "request_reconsideration",
        "new_evidence",
        "new_evidence_summary",
        "escalation_action",
        "escalation_note",
    ),
    # assistance needs and the practical help arranged (art. 12)
    "needs": (
        "immediate_needs",
        "assistance_needs",
        "needs_note",
        "accommodation",
        "accommodation_from",
        "interpretation",
        "interpretation_language",
    ),
    "health": ("medical_care", "psychological_support"),
    "legal_counselling": ("legal_counselling", "legal_topics"),
    # the continuous risk assessment and safety plan
    "risk": (
        "threat_level",
        "traffickers_can_locate_person",
        "vulnerability",
        "safety_plan_updated",
        "risk_notes",
        "risk_level",
        "risk_assessed_at",
        "risk_context",
    ),
    # measures agreed because the risk is high: police only, never the NGOs
    "protection_measures": ("protection_measures", "measures_note"),
    "child_protection": (
        "guardian_appointed_on",
        "guardian_reference",
        "child_views_heard",
        "return_in_best_interests",
        "best_interests_reasons",
        "family_tracing",
    ),
    # the person's choice to cooperate, and whether proceedings need them here
    "cooperation": (
        "cooperate_with_prosecution",
        "cooperation_accepted",
        "presence_required",
        "return_compatible_with_proceedings",
    ),
    "proceedings": (
        "informed_of_options",
        "claim_compensation",
        "choice_notes",
        "witness_protection_needed",
        "proceedings_outcome",
        "outcome_date",
        "claim_route",
        "claim_filed_on",
    ),
    "witness_protection": ("witness_protection_measures",),
    "residence": (
        "permit_granted",
        "permit_valid_months",
        "permit_decision_reasons",
        "permit_valid_until",
        "permit_renewal_cycle",
        "permit_renewed",
        "renewed_for_months",
        "residence_status",
        "status_valid_until",
    ),
    "durable_solution": (
        "durable_solution",
        "person_informed",
        "guardian_consulted",
        "solution_notes",
        "protection_outcome",
    ),
    "return": (
        "return_requested_voluntarily",
        "informed_of_risks_and_options",
        "destination_region",
        "return_decision",
        "decision_reasons",
        "risk_reassessment_due",
        "return_stopped_reason",
        "travel_documents",
        "reception",
        "reintegration_support",
        "plan_agreed_with_person",
        "departure_date",
        "escorted",
        "arrival",
        "follow_up_due",
        "next_follow_up_due",
        "follow_ups_done",
        "follow_up_contact",
        "reintegration_progress",
        "follow_up_note",
        "return_outcome",
    ),
    # the origin country's side of a return: the referral received (needs and risk level,
    # never a name) and the reception planned in answer
    "reception": (
        "reintegration_referral",
        "reception_accepted",
        "reception_arrangement",
        "reception_support_offered",
    ),
    "integration": (
        "housing_plan",
        "pathway",
        "integration_progress",
        "needs_changed",
        "review_note",
        "integration_review_cycle",
        "support_ended_because",
    ),
    "closure": ("closure_reason", "closure_summary", "case_closed_at", "retention_until"),
    # the survivor's own words about the support they had
    "feedback": (
        "feedback_offered",
        "feedback_given",
        "felt_safe",
        "felt_listened_to",
        "information_clear",
        "suggestions",
    ),
}

# What the support provider (the NGO caseworker who accompanies the person
# throughout) needs at any of its stages; never the police-only measures.
_CASEWORKER = (
    "referral",
    "profile",
    "identity",
    "consent",
    "screening",
    "recognition",
    "needs",
    "health",
    "legal_counselling",
    "risk",
    "child_protection",
    "durable_solution",
)
_LEGAL_AID = (
    "identity",
    "profile",
    "consent",
    "screening",
    "non_punishment",
    "recognition",
    "legal_counselling",
    "cooperation",
    "proceedings",
)
_PROSECUTOR = (
    "identity",
    "profile",
    "screening",
    "non_punishment",
    "recognition",
    "cooperation",
    "proceedings",
    "witness_protection",
)
_POLICE = ("identity", "profile", "screening", "risk", "protection_measures")
_IMMIGRATION = ("identity", "profile", "recognition", "residence")
_GUARDIAN = (
    "referral",
    "profile",
    "identity",
    "screening",
    "recognition",
    "needs",
    "health",
    "legal_counselling",
    "risk",
    "child_protection",
    "durable_solution",
    "return",
)

# role → stage → categories. A role absent from a stage sees nothing there; a
# closed case ("completed") is kept for retention and oversight, not work, so
# only the coordinator reads it. The auditor, the partner gateway and the
# supervisor role (which only reassigns) see no case data here.
GRANTS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "first_responder": {
        "nrm_identification": (
            "referral",
            "profile",
            "identity",
            "consent",
            "screening",
            "non_punishment",
            "needs",
        ),
    },
    "child_protection": {
        "nrm_identification": ("referral", "profile", "screening", "needs"),
        "nrm_child_path": (
            "referral",
            "profile",
            "identity",
            "screening",
            "recognition",
            "needs",
            "child_protection",
        ),
    },
    "guardian": {"nrm_child_path": _GUARDIAN},
    "competent_authority": {
        "nrm_referral_decision": (
            "referral",
            "profile",
            "identity",
            "consent",
            "screening",
            "non_punishment",
            "recognition",
            "decision_grounds",
        ),
    },
    "support_provider": {
        "nrm_referral_decision": (*_CASEWORKER, "decision_grounds"),
        "nrm_assistance": _CASEWORKER,
        "nrm_risk_assessment": _CASEWORKER,
        "nrm_protection": (*_CASEWORKER, "residence"),
        "nrm_return": (*_CASEWORKER, "residence", "return"),
        "nrm_integration": (*_CASEWORKER, "residence", "integration"),
        "nrm_closure": (*_CASEWORKER, "return", "integration", "closure", "feedback"),
        # a case another country referred: only what came with the referral and the plan
        "nrm_return_reception": ("reception",),
    },
    # accommodation now and housing later: who the person is and what they need,
    # not the trafficking story, the decisions' grounds, health or proceedings
    "social_services": {
        "nrm_assistance": ("identity", "profile", "needs"),
        "nrm_integration": ("identity", "profile", "needs", "residence", "integration"),
    },
    "health_services": {"nrm_assistance": ("identity", "profile", "needs", "health")},
    "interpreter": {"nrm_assistance": ("identity", "needs")},
    "legal_aid": {
        "nrm_assistance": _LEGAL_AID,
        "nrm_proceedings": (*_LEGAL_AID, "residence"),
    },
    # proceedings and non-punishment, never health or assistance
    "prosecutor": {
        "nrm_proceedings": _PROSECUTOR,
        "nrm_return": ("identity", "profile", "recognition", "cooperation", "return"),
    },
    "police": {
        "nrm_risk_assessment": _POLICE,
        "nrm_proceedings": (*_POLICE, "cooperation", "proceedings", "witness_protection"),
    },
    "immigration": {
        "nrm_proceedings": (*_IMMIGRATION, "cooperation"),
        "nrm_return": (*_IMMIGRATION, "return"),
        "nrm_integration": _IMMIGRATION,
    },
    "return_organisation": {
        "nrm_return": ("identity", "profile", "needs", "risk", "durable_solution", "return"),
    },
}

CATEGORY_OF: Mapping[str, str] = {
    name: category for category, names in CATEGORIES.items() for name in names
}


def categories_visible_to(roles: Iterable[str], stages: Iterable[str]) -> set[str]:
    stage_list = list(stages)
    return {
        category
        for role in roles
        for stage in stage_list
        for category in GRANTS.get(role, {}).get(stage, ())
    }


def fields_visible_to(roles: Iterable[str], stages: Iterable[str]) -> set[str]:
    """The catalogued fields a viewer may see; the coordinator also sees uncatalogued ones."""
    return {name for c in categories_visible_to(roles, stages) for name in CATEGORIES[c]}


def visible_data(roles: set[str], stages: list[str], data: dict[str, Any]) -> dict[str, Any]:
    """The part of a case's data a viewer may see: the union over their roles and its stages."""
    if COORDINATOR in roles:
        return dict(data)
    allowed = fields_visible_to(roles, stages)
    return {name: value for name, value in data.items() if name in allowed}


def may_view_case(viewer_roles: set[str], open_item_roles: set[str | None]) -> bool:
    """Only someone with work on the case, or the coordinator, may open it.

    A case id guessed from another agency's screen is refused; the auditor reads
    case histories through their own view, not the case data.
    """
    if COORDINATOR in viewer_roles:
        return True
    return bool(viewer_roles & {role for role in open_item_roles if role})
