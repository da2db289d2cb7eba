"""The NRM reference library driven end to end through the engine with a controlled clock.

Each scenario is one person's story from the library issue: it asserts the
path the case took, which role received each task and when each timer fired.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.clock import FixedClock
from engine.db import Database
from engine.errors import FormInvalid, MessageNotExpected, NotAuthorized
from engine.runtime import Runtime
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase, nrm_runtime, stored_text_of
from tests.workflows.nrm_steps import (
    assess_risk,
    close,
    identify_adult,
    provide_assistance,
    recognise_after_recovery_period,
    referral_to_recognition,
    return_home,
    settle_by_integration,
)

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def runtime(db: Database, clock: FixedClock) -> Runtime:
    return nrm_runtime(db, clock)


@pytest.fixture
def case(runtime: Runtime, db: Database, clock: FixedClock) -> NrmCase:
    return NrmCase.refer(runtime, db, clock)


def _in_order(path: list[str], *steps: str) -> bool:
    """True when ``steps`` occur in ``path`` in this order (other steps may come between)."""
    remaining = iter(path)
    return all(step in remaining for step in steps)


def test_a_adult_labour_exploitation_returns_home_and_case_closes(case: NrmCase) -> None:
    referral_to_recognition(case, exploitation_types=["labour"])
    recovery = dict(case.timers_fired())["recovery_period_ended"]
    assert recovery - (MONDAY + timedelta(days=3)) < timedelta(days=30, minutes=2)
    assert recovery >= MONDAY + timedelta(days=33)

    case.complete("record_informed_choice", answers.proceedings_choice(), "legal_aid")
    return_home(case)
    close(case)

    assert case.status == "completed"
    fired = [name for name, _ in case.timers_fired()]
    assert fired == ["recovery_period_ended"] + ["follow_up_due_event"] * 3
    arrival = dict(case.timers_fired()[1:2])["follow_up_due_event"]
    assert arrival.date() > (MONDAY + timedelta(days=33 + 85)).date()
    assert _in_order(
        case.path(),
        "screen_indicators",
        "obtain_consent",
        "decide_reasonable_grounds",
        "open_recovery_period",
        "decide_conclusive_grounds",
        "agree_durable_solution",
        "record_return_request",
        "compute_risk_level",
        "check_proceedings_status",
        "request_travel_documents",
        "organise_return_travel",
        "record_follow_up",
        "close_case",
        "set_retention",
    )
    assert case.roles["decide_reasonable_grounds"] == "competent_authority"
    assert case.roles["arrange_safe_accommodation"] == "social_services"
    assert case.roles["record_follow_up"] == "return_organisation"
    retention = datetime.fromisoformat(case.data()["retention_until"])
    assert retention.year == case.clock.now().year + 6


def test_b_high_pre_return_risk_postpones_return_with_permit_and_reassessment(
    case: NrmCase,
) -> None:
    referral_to_recognition(case)
    case.complete("record_informed_choice", answers.proceedings_choice(), "legal_aid")
    case.complete(
        "agree_durable_solution", answers.durable_solution("voluntary_return"), "support_provider"
    )
    case.complete("record_return_request", answers.RETURN_REQUEST, "support_provider")
    assess_risk(case, "high")
    case.complete(
        "decide_after_high_risk",
        {"return_decision": "postpone", "decision_reasons": "Exploiters active in home town."},
        "support_provider",
    )
    case.complete("grant_personal_situation_permit", answers.PERMIT_GRANTED, "immigration")
    decided = case.clock.now()
    assert case.waiting_timers() == {"risk_reassessment_due_event": decided + timedelta(days=90)}
    assert case.outbox() == []  # nobody abroad was contacted
    assert case.advance(days=89) == []
    assert case.advance(days=1, minutes=1) == ["risk_reassessment_due_event"]
    assert case.item("assess_risk").role == "support_provider"  # re-assessed before any move
    assert _in_order(
        case.path(), "compute_risk_level", "decide_after_high_risk", "schedule_risk_reassessment"
    )


CHILD = answers.screening(
    indicators=["forced_criminality", "movement_restricted"],
    exploitation_types=["criminal"],
    age_status="child",
    age_group="16_17",
    unaccompanied=True,
    sex="female",
    compelled_offences=True,
)


def test_c_unaccompanied_child_gets_a_guardian_at_once_and_is_not_returned(
    case: NrmCase,
) -> None:
    case.complete("screen_indicators", CHILD, "first_responder")
    opened = case.open_tasks()
    assert opened["appoint_guardian"].role == "child_protection"
    assert {"decide_reasonable_grounds", "assess_needs", "assess_risk"} <= set(opened)
    assert "consent_withdrawn" not in case.waiting_messages()  # no consent to withdraw
    case.complete(
        "appoint_guardian",
        {
            "guardian_appointed_on": "2026-03-02",
            "guardian_reference": "G-2026-014",
            "child_given_name": "Sam",
            "child_family_name": "Example",
            "child_language": "Albanian",
        },
        "child_protection",
    )
    case.complete(
        "determine_best_interests",
        {
            "child_views_heard": True,
            "return_in_best_interests": False,
            "best_interests_reasons": "Family involved in the exploitation.",
            "family_tracing": "family_found_unsafe",
        },
        "guardian",
    )
    case.complete("decide_reasonable_grounds", answers.rg("positive"), "competent_authority")
    provide_assistance(case)
    assess_risk(case, "medium")
    recognise_after_recovery_period(case)
    case.complete("record_informed_choice", answers.proceedings_choice(), "legal_aid")
    assert case.item("consider_non_punishment").role == "prosecutor"  # art. 26 notice
    case.complete(
        "consider_non_punishment", {"non_punishment_decision": "no_prosecution"}, "prosecutor"
    )
    case.complete(
        "agree_durable_solution", answers.durable_solution("voluntary_return"), "support_provider"
    )
    case.complete("record_return_request", answers.RETURN_REQUEST, "support_provider")

    path = case.path()
    assert "obtain_consent" not in path
    assert _in_order(path, "record_return_request", "stop_return_best_interests")
    assert "compute_risk_level" not in path[path.index("record_return_request") :]
    assert case.outbox() == []
    assert case.item("decide_residence_status").role == "immigration"  # integration instead


def test_d_age_disputed_person_assessed_adult_switches_to_consent(case: NrmCase) -> None:
    case.complete(
        "screen_indicators",
        answers.screening(age_status="uncertain", reasons_to_believe_child=True),
        "first_responder",
    )
    assert set(case.open_tasks()) == {"assess_age"}
    assert case.item("assess_age").role == "child_protection"
    case.complete(
        "assess_age",
        {
            "age_assessment_outcome": "adult",
            "age_assessment_method": "multidisciplinary_assessment",
            "age_assessed_on": "2026-03-03",
        },
        "child_protection",
    )
    assert set(case.open_tasks()) == {"obtain_consent"}
    case.complete("obtain_consent", answers.consent_given(), "first_responder")
    assert "appoint_guardian" not in case.open_tasks()
    assert "consent_withdrawn" in case.waiting_messages()
    assert _in_order(
        case.path(),
        "presume_minority",
        "assess_age",
        "apply_age_assessment",
        "obtain_consent",
        "route_adult",
    )


PERSONAL_FIELDS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "contact_phone",
    "preferred_language",
)


def test_e_declined_referral_is_counted_anonymously_and_linked_later_only_with_consent(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    declined = NrmCase.refer(runtime, db, clock)
    declined.complete("screen_indicators", answers.screening(), "first_responder")
    with pytest.raises(FormInvalid):  # identity may not be recorded without consent
        declined.complete(
            "obtain_consent", {**answers.CONSENT_DECLINED, "given_name": "Alex"}, "first_responder"
        )
    declined.complete("obtain_consent", answers.CONSENT_DECLINED, "first_responder")
    declined.complete("anonymous_notification", answers.ANONYMOUS_NOTIFICATION, "first_responder")
    assert declined.status == "completed"
    assert _in_order(
        declined.path(), "anonymous_notification", "route_declined", "counted_anonymously"
    )
    stored = stored_text_of(db, declined.view.id)
    assert not [name for name in PERSONAL_FIELDS if name in stored]

    later = NrmCase.refer(runtime, db, clock)
    later.complete("screen_indicators", answers.screening(), "first_responder")
    linked = answers.consent_given(earlier_notification_reference=declined.view.business_key)
    with pytest.raises(FormInvalid):  # a link needs the person's agreement
        later.complete("obtain_consent", linked, "first_responder")
    later.complete("obtain_consent", {**linked, "link_consent": True}, "first_responder")
    assert later.data()["earlier_notification_reference"] == declined.view.business_key


def test_f_negative_rg_reconsidered_with_new_evidence_counts_recovery_from_new_decision(
    case: NrmCase,
) -> None:
    identify_adult(case)
    case.advance(days=2)
    case.complete("decide_reasonable_grounds", answers.rg("negative"), "competent_authority")
    case.advance(days=5)
    case.complete(
        "consider_reconsideration",
        {
            "request_reconsideration": True,
            "new_evidence": ["medical_evidence", "new_statement"],
            "new_evidence_summary": "Medical report documents injuries consistent with account.",
        },
        "support_provider",
    )
    case.advance(days=3)
    case.complete(
        "reconsider_reasonable_grounds", answers.reconsidered_rg("positive"), "competent_authority"
    )
    decided = case.clock.now()
    assert case.waiting_timers()["recovery_period_ended"] == decided + timedelta(days=30)
    provide_assistance(case)
    assess_risk(case, "low")
    recognise_after_recovery_period(case)
    assert dict(case.timers_fired())["recovery_period_ended"] > decided + timedelta(days=30)
    assert _in_order(
        case.path(),
        "decide_reasonable_grounds",
        "record_rg_decision",
        "consider_reconsideration",
        "reconsider_reasonable_grounds",
        "record_rg_decision",
        "open_recovery_period",
        "decide_conclusive_grounds",
    )


@pytest.mark.parametrize(
    ("country", "referred", "due"),
    [
        # Fri 18 Dec: Mon 21 .. Thu 24, then Christmas and Boxing Day (Mon 28) skipped -> Tue 29
        ("GB", datetime(2026, 12, 18, 10, tzinfo=UTC), datetime(2026, 12, 29, 10, tzinfo=UTC)),
        # Mon 9 Nov: Armistice Day (Wed 11) is a holiday in France, not in Great Britain
        ("FR", datetime(2026, 11, 9, 10, tzinfo=UTC), datetime(2026, 11, 17, 10, tzinfo=UTC)),
        ("GB", datetime(2026, 11, 9, 10, tzinfo=UTC), datetime(2026, 11, 16, 10, tzinfo=UTC)),
    ],
)
def test_g_missed_rg_target_escalates_to_the_coordinator_on_the_right_working_day(
    db: Database, clock: FixedClock, country: str, referred: datetime, due: datetime
) -> None:
    clock.set(referred)
    case = NrmCase.refer(nrm_runtime(db, clock, country=country), db, clock)
    identify_adult(case)
    assert case.waiting_timers()["rg_target_missed"] == due
    assert case.advance_to(due - timedelta(minutes=1)) == []
    assert "escalate_overdue_decision" not in case.open_tasks()
    assert case.advance_to(due + timedelta(minutes=1)) == ["rg_target_missed"]
    assert case.item("escalate_overdue_decision").role == "nrm_coordinator"
    assert case.item("decide_reasonable_grounds").due_at == due  # still open, now overdue
    assert case.timers_fired() == [("rg_target_missed", due + timedelta(minutes=1))]


def test_h_cooperation_gives_a_permit_with_renewal_a_compensation_claim_and_integration(
    case: NrmCase,
) -> None:
    referral_to_recognition(case, willing_to_cooperate="yes")
    case.complete(
        "record_informed_choice",
        answers.proceedings_choice(cooperate=True, compensation=True),
        "legal_aid",
    )
    case.complete(
        "decide_cooperation",
        {"cooperation_accepted": True, "witness_protection_needed": True},
        "prosecutor",
    )
    case.complete(
        "request_witness_protection", {"witness_protection_measures": ["video_testimony"]}, "police"
    )
    case.complete(
        "file_compensation_claim",
        {"claim_route": "criminal_court", "claim_filed_on": "2026-04-10"},
        "legal_aid",
    )
    case.complete("decide_cooperation_permit", answers.PERMIT_GRANTED, "immigration")
    granted = case.clock.now()
    renewal = case.waiting_timers()["permit_renewal_due"]
    assert renewal.date() == (datetime(2026, 10, 4, tzinfo=UTC) - timedelta(days=30)).date()
    assert renewal > granted
    settle_by_integration(case)
    assert case.advance_to(renewal + timedelta(minutes=1)) == ["permit_renewal_due"]
    assert case.item("renew_residence_permit").role == "immigration"
    assert {"follow_proceedings", "provide_integration_support"} <= set(case.open_tasks())
    assert "periodic_review_due" in case.waiting_timers()
    assert case.item("follow_proceedings").due_at is None  # the renewal is a reminder
    assert _in_order(
        case.path(),
        "record_informed_choice",
        "decide_cooperation",
        "request_witness_protection",
        "decide_cooperation_permit",
        "schedule_permit_renewal",
        "agree_durable_solution",
        "decide_residence_status",
        "schedule_reviews",
    )


def test_i_refusal_to_cooperate_changes_no_assistance(case: NrmCase) -> None:
    identify_adult(case, willing_to_cooperate="no")
    case.complete("decide_reasonable_grounds", answers.rg("positive"), "competent_authority")
    provide_assistance(case)  # asserts every assistance task opened in its own agency
    assess_risk(case, "low")
    recognise_after_recovery_period(case)
    case.complete("record_informed_choice", answers.proceedings_choice(), "legal_aid")
    assert not {"decide_cooperation", "decide_cooperation_permit"} & set(case.open_tasks())
    assert set(answers.ASSISTANCE) <= set(case.path())


def test_j_withdrawn_consent_stops_sharing_and_keeps_a_minimal_record(case: NrmCase) -> None:
    identify_adult(case)
    case.complete("decide_reasonable_grounds", answers.rg("positive"), "competent_authority")
    case.complete("assess_needs", answers.NEEDS, "support_provider")
    assert len(case.open_tasks()) >= 6 and case.waiting_timers()
    with pytest.raises(NotAuthorized):
        case.deliver("consent_withdrawn", {"withdrawn_on": "2026-03-10"}, "demo.partners")

    case.deliver("consent_withdrawn", {"withdrawn_on": "2026-03-10"}, "demo.caseworker")
    assert case.open_tasks() == {} and case.waiting_timers() == {}
    assert case.status == "completed"
    record = case.data()
    assert record["closure_reason"] == "consent_withdrawn"
    assert datetime.fromisoformat(record["retention_until"]).year == case.clock.now().year + 1
    assert not [name for name in PERSONAL_FIELDS if record.get(name)]
    assert _in_order(case.path(), "keep_minimal_record", "set_minimal_retention")


def test_j_a_childs_case_cannot_be_ended_by_a_consent_withdrawal(case: NrmCase) -> None:
    case.complete("screen_indicators", CHILD, "first_responder")
    with pytest.raises(MessageNotExpected):
        case.deliver("consent_withdrawn", {"withdrawn_on": "2026-03-10"}, "demo.caseworker")
