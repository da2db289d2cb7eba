"""Steps shared by the NRM scenarios, each one stage of a case as people work it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase


def identify_adult(case: NrmCase, **screening: Any) -> None:
    case.complete("screen_indicators", answers.screening(**screening), "first_responder")
    case.complete("obtain_consent", answers.consent_given(), "first_responder")


def provide_assistance(case: NrmCase) -> None:
    """Every assistance task, each in its own agency's inbox."""
    case.complete("assess_needs", answers.NEEDS, "support_provider")
    assert set(answers.ASSISTANCE) <= set(case.open_tasks())
    for task, (role, answer) in answers.ASSISTANCE.items():
        case.complete(task, answer, role)


def assess_risk(case: NrmCase, level: str) -> None:
    case.complete("assess_risk", answers.risk(level), "support_provider")
    if level == "high":
        case.complete(
            "agree_protection_measures", {"protection_measures": ["relocation"]}, "police"
        )


def recognise_after_recovery_period(case: NrmCase, rg_day_offset: float = 0) -> None:
    """The recovery period runs out, then the competent authority decides positive CG."""
    due = case.waiting_timers()["recovery_period_ended"]
    assert not case.advance_to(due - timedelta(minutes=1))
    assert case.advance_to(due + timedelta(minutes=1)) == ["recovery_period_ended"]
    case.complete("decide_conclusive_grounds", answers.cg("positive"), "competent_authority")


def referral_to_recognition(case: NrmCase, risk_level: str = "low", **screening: Any) -> None:
    """Identification, positive RG on day 3, assistance, risk, recovery period, positive CG."""
    identify_adult(case, **screening)
    case.advance(days=3)
    case.complete("decide_reasonable_grounds", answers.rg("positive"), "competent_authority")
    provide_assistance(case)
    assess_risk(case, risk_level)
    recognise_after_recovery_period(case)


def return_home(case: NrmCase) -> None:
    """Voluntary return at low risk: consulate and contact point answer, three follow-ups."""
    case.complete(
        "agree_durable_solution", answers.durable_solution("voluntary_return"), "support_provider"
    )
    case.complete("record_return_request", answers.RETURN_REQUEST, "support_provider")
    assess_risk(case, "low")
    case.complete("check_proceedings_status", answers.PROCEEDINGS_STATUS, "prosecutor")
    assert [name for name, _ in case.outbox()] == [
        "travel_document_request",
        "reintegration_referral",
    ]
    case.deliver("travel_documents_issued", {"issued_on": "2026-05-01"}, "demo.partners")
    case.deliver("reception_confirmed", {"organisation": "receiving"}, "demo.partners")
    case.complete("agree_reintegration_plan", answers.REINTEGRATION_PLAN, "return_organisation")
    case.complete("organise_return_travel", answers.RETURN_TRAVEL, "return_organisation")
    case.deliver("arrival_confirmed", {"arrived_on": "2026-05-20"}, "demo.partners")
    for _ in range(3):
        due = case.waiting_timers()["follow_up_due_event"]
        assert case.advance_to(due + timedelta(minutes=1)) == ["follow_up_due_event"]
        case.complete("record_follow_up", answers.FOLLOW_UP, "return_organisation")


def settle_by_integration(case: NrmCase) -> None:
    """With a cooperation permit: integration, residence, housing, then education or work."""
    case.complete(
        "agree_durable_solution", answers.durable_solution("integration"), "support_provider"
    )
    case.complete(
        "decide_residence_status", {"residence_status": "permit_cooperation"}, "immigration"
    )
    case.complete("plan_housing", {"housing_plan": "supported_housing"}, "social_services")
    case.complete(
        "plan_education_or_employment", {"pathway": ["language_course"]}, "support_provider"
    )


def close(case: NrmCase, reason: str = "durable_solution_returned") -> None:
    case.complete("close_case", {"closure_reason": reason}, "support_provider")
    case.complete("invite_survivor_feedback", answers.FEEDBACK, "support_provider")


def cooperate_with_witness_protection(case: NrmCase) -> None:
    """After recognition the person cooperates and needs witness protection: the police and
    the caseworker (agreeing a durable solution) then both have work on the case."""
    recognise_after_recovery_period(case)
    case.complete("record_informed_choice", answers.proceedings_choice(cooperate=True), "legal_aid")
    case.complete(
        "decide_cooperation",
        {"cooperation_accepted": True, "witness_protection_needed": True},
        "prosecutor",
    )
    assert {item.role for item in case.open_tasks().values()} == {"support_provider", "police"}
