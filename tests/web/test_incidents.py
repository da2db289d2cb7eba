"""Incidents in the browser: the coordinator's list and page, retry and cancel, and what others see.

The engine's behaviour (rollback, occurrences, the audit, timers and
messages) is tested in ``tests/engine/test_incidents.py``; here: who may,
what each page shows, and what a person sees when their completion fails.

A step fails for real: the reasonable-grounds decision's script is broken in
the stored spec of ``nrm_case`` and a new app (a new process, with its own
spec cache) runs it; the fix puts the script back and starts another app.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.incident_commands import cancel
from engine.incidents import IncidentRaised, get_incident, record
from engine.models import OutboundMessage, ProcessInstance, WorkItem
from engine.runtime import Runtime
from engine.step_failures import StepFailure
from engine.views import CaseView, WorkItemView
from tests.engine.helpers import tamper_spec
from tests.web.conftest import SignIn
from tests.web.test_inbox import item, refer
from tests.web.test_schema_form import FormReader
from tests.workflows import nrm_answers as answers
from web import create_app

COORDINATOR = "demo.coordinator"
AUTHORITY = "demo.authority"  # works the reasonable-grounds decision that fails
CASEWORKER = "demo.caseworker"  # support provider: has other work on the case, so may open it
GOOD_SCRIPT, BAD_SCRIPT = "rg_decided_at = now_iso()", "rg_decided_at = undefined_name()"
FAILED_AT = "A script or condition at 'Record the reasonable-grounds decision' failed."
PLAIN = StepFailure("step_failed", None, None, "The process could not continue.", "-")
# what a browser sends for the decision; the reasons are typed text the person must not lose
RG_POST = {
    "rg_decision": "positive",
    "rg_reasons": "Indicators <consistent> with the report & the interview.",
    "rg_evidence_considered": ["first_responder_report", "interview"],
}


def new_app(db: Database, clock: FixedClock, csrf: bool = False) -> Flask:
    """Another server process on the same database: it reads the stored specs afresh."""
    app = create_app(load_settings({"NRMFLOW_DATABASE_URL": db.url}), clock=clock)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=csrf)
    return app


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["nrmflow.runtime"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Failed:
    """A case whose reasonable-grounds decision failed after the authority completed it."""

    app: Flask
    case: CaseView
    decision: WorkItemView
    incident_id: int


def broken_app(db: Database, clock: FixedClock) -> Flask:
    """The app restarted on a spec whose reasonable-grounds script raises."""
    tamper_spec(db, "nrm_case", GOOD_SCRIPT, BAD_SCRIPT)
    return new_app(db, clock)


@pytest.fixture
def broken(app: Flask, db: Database, clock: FixedClock) -> Flask:
    """``app`` deployed the NRM library and seeded the users; this one runs the broken spec."""
    return broken_app(db, clock)


def fail_decision(app: Flask) -> Failed:
    case = refer(app)
    decision = item(case, "decide_reasonable_grounds")
    with pytest.raises(IncidentRaised) as raised:
        runtime_of(app).complete(decision.id, answers.rg("positive"), AUTHORITY)
    return Failed(app, case, decision, raised.value.incident_id)


@pytest.fixture
def failed(broken: Flask) -> Failed:
    return fail_decision(broken)


def fixed_app(db: Database, clock: FixedClock) -> Flask:
    """The script put right, and the app restarted."""
    tamper_spec(db, "nrm_case", BAD_SCRIPT, GOOD_SCRIPT)
    return new_app(db, clock)


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status
    return response.get_data(as_text=True)


def text(markup: str) -> str:
    """What a person reads: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def row(markup: str, incident_id: int) -> str:
    found = re.search(rf'<tr id="incident-{incident_id}">(.*?)</tr>', markup, re.S)
    assert found, f"no row for incident {incident_id}"
    return found.group(1)


def flashed(response_html: str) -> list[str]:
    return [
        text(m)
        for m in re.findall(r'<p class="flash flash-\w+" role="status">(.*?)</p>', response_html)
    ]


def draft_of(db: Database, work_item_id: int) -> str | None:
    with db.reader() as session:
        found = session.get(WorkItem, work_item_id)
        assert found is not None
        return found.draft


# ----------------------------------------------------------------- who


def test_only_the_coordinator_may_see_or_act_on_incidents(failed: Failed, sign_in: SignIn) -> None:
    for username in (AUTHORITY, CASEWORKER):
        client = sign_in(failed.app.test_client(), username)
        assert client.get("/incidents").status_code == 403
        assert client.get(f"/incidents/{failed.incident_id}").status_code == 403
        assert client.get("/incidents/999999").status_code == 403  # reveals nothing
        assert client.post(f"/incidents/{failed.incident_id}/retry").status_code == 403
        cancelled = client.post(f"/incidents/{failed.incident_id}/cancel", data={"reason": "x"})
        assert cancelled.status_code == 403
        assert "Incidents (" not in page(client, "/inbox")
    assert get_incident(runtime_of(failed.app).db, failed.incident_id).status == "open"
    coordinator = sign_in(failed.app.test_client(), COORDINATOR)
    assert coordinator.get("/incidents").status_code == 200
    assert coordinator.get("/incidents/999999").status_code == 404


def test_the_nav_counts_the_open_incidents_for_the_coordinator(
    broken: Flask, sign_in: SignIn
) -> None:
    coordinator = sign_in(broken.test_client(), COORDINATOR)
    assert 'href="/incidents">Incidents (0)</a>' in page(coordinator, "/inbox")
    fail_decision(broken)
    assert 'href="/incidents">Incidents (1)</a>' in page(coordinator, "/inbox")
    assert "Incidents (1)" in page(coordinator, "/incidents")  # every page's nav


# ----------------------------------------------------------------- the list and the page


def test_the_list_shows_open_incidents_and_filters_by_status(
    failed: Failed, sign_in: SignIn, db: Database
) -> None:
    coordinator = sign_in(failed.app.test_client(), COORDINATOR)
    listed = page(coordinator, "/incidents")
    shown = row(listed, failed.incident_id)
    assert f'href="/incidents/{failed.incident_id}"' in shown
    assert f'href="/cases/{failed.case.id}">{failed.case.business_key}</a>' in shown
    assert text(shown) == (
        f"{failed.incident_id} {failed.case.business_key} Decide on reasonable grounds "
        f"script error {FAILED_AT} 1 2026-03-02 09:00:00 2026-03-02 09:00:00 Open"
    )
    assert "Matching incidents: 1" in listed
    assert "No incident" not in page(coordinator, "/incidents?status=bogus")  # the open ones

    resolved = page(coordinator, "/incidents?status=resolved")
    assert "No incident to show." in resolved and '<tr id="incident-' not in resolved
    cancel(runtime_of(failed.app), failed.incident_id, "withdrawn", COORDINATOR, None)
    assert "No incident is open" in page(coordinator, "/incidents")
    assert "Cancelled" in text(
        row(page(coordinator, "/incidents?status=cancelled"), failed.incident_id)
    )
    assert f'id="incident-{failed.incident_id}"' in page(coordinator, "/incidents?status=all")


def test_the_list_pages_by_fifty(
    failed: Failed, sign_in: SignIn, db: Database, clock: FixedClock
) -> None:
    later = [("task", f"task-{n}", PLAIN) for n in range(50)]  # each on a task of its own
    record_failures(db, failed.case, later, clock.now())
    coordinator = sign_in(failed.app.test_client(), COORDINATOR)

    first = page(coordinator, "/incidents")
    assert first.count('<tr id="incident-') == 50
    assert "Page 1 of 2" in first and 'href="/incidents?page=2" rel="next"' in first
    second = page(coordinator, "/incidents?page=2")
    assert second.count('<tr id="incident-') == 1 and 'rel="prev"' in second
    assert f'id="incident-{failed.incident_id}"' in second  # the oldest failure last
    assert "Page 2 of 2" in page(coordinator, "/incidents?page=99")


def test_the_page_shows_the_incident_in_full_with_both_forms(
    failed: Failed, sign_in: SignIn
) -> None:
    coordinator = sign_in(failed.app.test_client(), COORDINATOR)
    shown = page(coordinator, f"/incidents/{failed.incident_id}")
    words = text(shown)
    assert f"Incident {failed.incident_id}" in words
    assert "Process nrm_case, version 1" in words
    assert "Where Decide on reasonable grounds" in words
    assert "Element that failed record_rg_decision" in words
    assert "Kind script error" in words and f"Submitted by {AUTHORITY}" in words
    assert FAILED_AT in words and "Occurrences 1" in words and "Status Open" in words
    details = re.search(r"<details>.*?<pre>(.*?)</pre>.*?</details>", shown, re.S)
    assert details and "NameError" in details.group(1) and "undefined_name" in details.group(1)
    assert "Traceback" not in shown
    assert f'action="/incidents/{failed.incident_id}/retry"' in shown
    assert f'action="/incidents/{failed.incident_id}/cancel"' in shown
    assert shown.count('name="csrf_token"') >= 3  # language, sign-out, and each of ours
    assert ">Cancel the failed branch</button>" in shown
    (reason,) = FormReader(shown).named("reason")
    assert "required" in reason and reason["tag"] == "textarea"


def test_the_forms_need_their_csrf_token(
    failed: Failed, sign_in: SignIn, db: Database, clock: FixedClock
) -> None:
    guarded = sign_in(new_app(db, clock, csrf=True).test_client(), COORDINATOR)
    assert guarded.post(f"/incidents/{failed.incident_id}/retry").status_code == 400
    posted = guarded.post(f"/incidents/{failed.incident_id}/cancel", data={"reason": "x"})
    assert posted.status_code == 400
    assert get_incident(db, failed.incident_id).status == "open"


# ----------------------------------------------------------------- retry and cancel


def test_a_retry_after_the_fix_goes_through(
    failed: Failed, sign_in: SignIn, db: Database, clock: FixedClock
) -> None:
    fixed = fixed_app(db, clock)
    coordinator = sign_in(fixed.test_client(), COORDINATOR)

    response = coordinator.post(f"/incidents/{failed.incident_id}/retry")

    assert response.status_code == 303
    assert response.headers["Location"] == f"/incidents/{failed.incident_id}"
    shown = page(coordinator, response.headers["Location"])
    assert flashed(shown) == ["Retried: the step went through."]
    assert "Status Resolved · closed by demo.coordinator" in text(shown)
    assert 'action="/incidents/' not in shown  # nothing left to do
    open_tasks = [w.task_name for w in runtime_of(fixed).case(failed.case.id).work_items]
    assert "decide_reasonable_grounds" not in open_tasks
    assert "Incidents (0)" in shown


def test_a_retry_that_fails_again_counts_one_more_occurrence(
    failed: Failed, sign_in: SignIn, db: Database
) -> None:
    coordinator = sign_in(failed.app.test_client(), COORDINATOR)

    response = coordinator.post(f"/incidents/{failed.incident_id}/retry", follow_redirects=True)

    assert flashed(response.get_data(as_text=True)) == ["Retried: it failed again (2 times)."]
    assert get_incident(db, failed.incident_id).occurrences == 2
    assert "Occurrences 2" in text(response.get_data(as_text=True))
    case = runtime_of(failed.app).case(failed.case.id)
    assert case.revision == failed.case.revision  # rolled back again


def test_cancel_needs_a_reason_then_drops_the_branch(
    failed: Failed, sign_in: SignIn, db: Database
) -> None:
    coordinator = sign_in(failed.app.test_client(), COORDINATOR)
    path = f"/incidents/{failed.incident_id}/cancel"

    refused = coordinator.post(path, data={"reason": "   "})

    assert refused.status_code == 422
    shown = refused.get_data(as_text=True)
    (reason,) = FormReader(shown).named("reason")
    assert reason["aria-invalid"] == "true" and "cancel-reason-error" in reason["aria-describedby"]
    assert '<p class="error" id="cancel-reason-error">Give a reason' in shown
    assert get_incident(db, failed.incident_id).status == "open"

    done = coordinator.post(path, data={"reason": "Referral withdrawn"}, follow_redirects=True)

    assert flashed(done.get_data(as_text=True)) == [
        "The failed branch was cancelled; the case goes on without it."
    ]
    closed = get_incident(db, failed.incident_id)
    assert (closed.status, closed.closed_by) == ("cancelled", COORDINATOR)
    open_tasks = [w.task_name for w in runtime_of(failed.app).case(failed.case.id).work_items]
    assert "decide_reasonable_grounds" not in open_tasks and open_tasks  # the case goes on


def test_a_closed_incident_answers_409_and_nothing_is_done(
    failed: Failed, sign_in: SignIn, db: Database
) -> None:
    cancel(runtime_of(failed.app), failed.incident_id, "withdrawn", "cli", None)
    coordinator = sign_in(failed.app.test_client(), COORDINATOR)

    for response in (
        coordinator.post(f"/incidents/{failed.incident_id}/retry"),
        coordinator.post(f"/incidents/{failed.incident_id}/cancel", data={"reason": "again"}),
    ):
        assert response.status_code == 409
        assert f"Incident {failed.incident_id} is already closed (Cancelled)" in text(
            response.get_data(as_text=True)
        )
    assert get_incident(db, failed.incident_id).closed_by == "cli"


# ----------------------------------------------------------------- the case and the task


def test_the_case_page_says_it_needs_attention_and_links_only_for_the_coordinator(
    failed: Failed, sign_in: SignIn, db: Database, clock: FixedClock
) -> None:
    caseworker = sign_in(failed.app.test_client(), CASEWORKER)
    shown = page(caseworker, f"/cases/{failed.case.id}")
    notice = re.search(
        r'<section class="flash flash-error" role="alert"(.*?)</section>', shown, re.S
    )
    assert notice and "Needs attention" in notice.group(1)
    assert FAILED_AT in text(notice.group(1))
    assert "/incidents/" not in shown

    coordinator = sign_in(failed.app.test_client(), COORDINATOR)
    assert f'href="/incidents/{failed.incident_id}"' in page(
        coordinator, f"/cases/{failed.case.id}"
    )

    fixed = fixed_app(db, clock)
    coordinator = sign_in(fixed.test_client(), COORDINATOR)
    coordinator.post(f"/incidents/{failed.incident_id}/retry")
    assert "Needs attention" not in page(coordinator, f"/cases/{failed.case.id}")


def test_a_failed_completion_shows_the_message_and_keeps_the_typed_answers(
    broken: Flask, sign_in: SignIn, db: Database
) -> None:
    case = refer(broken)
    decision = item(case, "decide_reasonable_grounds")
    authority = sign_in(broken.test_client(), AUTHORITY)

    response = authority.post(f"/work-items/{decision.id}/complete", data=RG_POST)

    assert response.status_code == 409
    shown = response.get_data(as_text=True)
    (banner,) = re.findall(r'<p class="flash flash-error" role="status">(.*?)</p>', shown, re.S)
    assert text(banner).startswith(FAILED_AT) and "kept as a draft" in text(banner)
    assert "Traceback" not in shown and "undefined_name" not in shown
    form = FormReader(shown)
    assert form.named("rg_reasons")[0]["text"] == RG_POST["rg_reasons"]
    assert [c["value"] for c in form.named("rg_decision") if "checked" in c] == ["positive"]
    ticked = [c["value"] for c in form.named("rg_evidence_considered") if "checked" in c]
    assert ticked == RG_POST["rg_evidence_considered"]
    assert draft_of(db, decision.id) is not None  # the engine kept them too
    again = FormReader(page(authority, f"/work-items/{decision.id}"))
    assert again.named("rg_reasons")[0]["text"] == RG_POST["rg_reasons"]
    assert "kept as a draft" not in page(authority, "/inbox")  # shown once, not carried over


# ----------------------------------------------------------------- other sources, and escaping


def record_failures(
    db: Database,
    case: CaseView,
    failures: list[tuple[str, str | None, StepFailure]],
    since: datetime,
    partner: str | None = None,
) -> list[int]:
    """Incidents written by the engine's own ``record``, as a timer or the outbox would, a
    minute apart after ``since``; a delivery's held message is written first."""
    ids = []
    with db.transaction() as session:
        instance = session.get(ProcessInstance, case.id)
        assert instance is not None
        for minutes, (source, task_id, failure) in enumerate(failures, start=1):
            message_id = None
            if source == "delivery":
                message = OutboundMessage(
                    instance_id=case.id,
                    message_name="partner_request",
                    correlation=case.business_key,
                    payload="{}",
                    created_at=since,
                    partner=partner,
                    on_hold=True,
                )
                session.add(message)
                session.flush()
                message_id = message.id
            incident = record(
                session,
                instance,
                source,
                failure,
                since + timedelta(minutes=minutes),
                task_id=task_id,
                task_title=task_id,
                outbound_message_id=message_id,
            )
            ids.append(incident.id)
    return ids


def test_timers_and_messages_are_named_where_they_failed_and_every_text_is_escaped(
    app: Flask, sign_in: SignIn, db: Database, clock: FixedClock
) -> None:
    case = refer(app)
    hostile = StepFailure(
        "script_error",
        "<b>element</b>",
        "<b>element</b>",
        "<script>alert('message')</script>",
        "<img src=x onerror=alert('detail')>",
    )
    undelivered = StepFailure("delivery_failed", None, "partner_request", "Not taken.", "-")
    timer, delivery, task = record_failures(
        db,
        case,
        [
            ("timer", "rg_target_missed", hostile),
            ("delivery", None, undelivered),
            ("task", "<i>t</i>", hostile),
        ],
        clock.now(),
        partner="<em>origin</em>",
    )
    coordinator = sign_in(app.test_client(), COORDINATOR)

    listed = page(coordinator, "/incidents")
    assert text(row(listed, timer)).split(f"{case.business_key} ")[1].startswith("Target missed")
    assert "message to <em>origin</em>" in text(row(listed, delivery))
    assert "delivery failed" in text(row(listed, delivery))
    shown = [
        listed,
        page(coordinator, f"/incidents/{task}"),
        page(coordinator, f"/cases/{case.id}"),
    ]
    for markup in shown:
        assert "<script>" not in markup and "<img src=x" not in markup
        assert (
            "<em>origin" not in markup and "<i>t</i>" not in markup and "<b>element" not in markup
        )
    assert "&lt;script&gt;alert(&#39;message&#39;)&lt;/script&gt;" in shown[2]  # the case page
    assert "&lt;img src=x onerror=alert(&#39;detail&#39;)&gt;" in shown[1]
    given_up = page(coordinator, f"/incidents/{delivery}")
    assert ">Give up this message</button>" in given_up
    assert "Cancel the failed branch" not in given_up
