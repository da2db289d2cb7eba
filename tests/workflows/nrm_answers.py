"""What caseworkers type into each NRM form in the scenarios: invented, never real people.

Each function returns a valid answer for one task's form; scenarios change
only the fields their story turns on.
"""

from __future__ import annotations

from typing import Any


def screening(**changes: Any) -> dict[str, Any]:
    answer = {
        "indicators": ["debt_bondage", "documents_withheld", "wages_withheld"],
        "exploitation_types": ["labour"],
        "age_status": "adult",
        "unaccompanied": False,
        "sex": "male",
        "age_group": "25_34",
        "nationality_group": "third_country",
        "compelled_offences": False,
        "willing_to_cooperate": "undecided",
        "immediate_needs": ["shelter"],
    }
    return {**answer, **changes}


def consent_given(**changes: Any) -> dict[str, Any]:
    answer = {
        "informed_of_rights": True,
        "consent_given": True,
        "consent_date": "2026-03-02",
        "interpreter_used": True,
        "given_name": "Alex",
        "family_name": "Example",
        "date_of_birth": "1990-01-01",
        "preferred_language": "Romanian",
    }
    return {**answer, **changes}


CONSENT_DECLINED = {
    "informed_of_rights": True,
    "consent_given": False,
    "consent_date": "2026-03-02",
}
ANONYMOUS_NOTIFICATION = {
    "notification_date": "2026-03-02",
    "exploitation_location": "in_this_country",
    "no_identifying_data_confirmed": True,
}


def rg(decision: str) -> dict[str, Any]:
    return {
        "rg_decision": decision,
        "rg_reasons": "Indicators consistent with the first responder's report.",
        "rg_evidence_considered": ["first_responder_report", "interview"],
    }


def reconsidered_rg(decision: str) -> dict[str, Any]:
    return {"rg_decision": decision, "rg_reasons": "New medical evidence considered."}


def cg(decision: str) -> dict[str, Any]:
    return {"cg_decision": decision, "cg_reasons": "Consistent account over the period."}


NEEDS = {"assistance_needs": ["accommodation", "medical_care", "interpretation"]}
ASSISTANCE: dict[str, tuple[str, dict[str, Any]]] = {
    "arrange_safe_accommodation": ("social_services", {"accommodation": "specialised_shelter"}),
    "provide_medical_care": ("health_services", {"medical_care": "general_check"}),
    "provide_psychological_support": (
        "support_provider",
        {"psychological_support": "counselling_started"},
    ),
    "arrange_interpretation": ("interpreter", {"interpretation": "provided"}),
    "provide_legal_counselling": (
        "legal_aid",
        {"legal_counselling": "provided", "legal_topics": ["rights_as_victim"]},
    ),
}


def risk(level: str) -> dict[str, Any]:
    """Answers the risk table turns into ``level``."""
    threat, locate, vulnerability = {
        "low": ("none", False, "low"),
        "medium": ("indirect", False, "moderate"),
        "high": ("direct", True, "severe"),
    }[level]
    return {
        "threat_level": threat,
        "traffickers_can_locate_person": locate,
        "vulnerability": vulnerability,
        "safety_plan_updated": True,
    }


def proceedings_choice(cooperate: bool = False, compensation: bool = False) -> dict[str, Any]:
    return {
        "informed_of_options": True,
        "cooperate_with_prosecution": cooperate,
        "claim_compensation": compensation,
    }


def durable_solution(solution: str) -> dict[str, Any]:
    return {"durable_solution": solution, "person_informed": True}


RETURN_REQUEST = {
    "return_requested_voluntarily": True,
    "informed_of_risks_and_options": True,
    "destination_region": "rural",
}
PERMIT_GRANTED = {"permit_granted": True, "permit_valid_months": 6}
PROCEEDINGS_STATUS = {"presence_required": False, "return_compatible_with_proceedings": True}
REINTEGRATION_PLAN = {
    "reintegration_support": ["housing", "income_generation"],
    "plan_agreed_with_person": True,
}
RETURN_TRAVEL = {"departure_date": "2026-05-20", "escorted": True}
FOLLOW_UP = {"follow_up_contact": "through_partner", "reintegration_progress": "on_track"}
CLOSE_CASE = {"closure_reason": "durable_solution_returned"}
FEEDBACK = {"feedback_offered": True, "feedback_given": True, "felt_safe": "yes"}
