"""Walk one referral from first contact to closure over nrmflow's JSON API, one token per role.

This is what a partner system or a training rehearsal sees of nrmflow: HTTP
and JSON only (the standard library; nothing of nrmflow is imported). The
first responder starts the referral; then, for as long as the case is open,
each role finds its open work items in its own inbox, reads the item's form,
claims it and completes it with that task's answers below. When nobody has
work, the partner gateway delivers the partners' replies the case waits for
(the consulate's travel documents, the origin country's reception and the
person's arrival); when nothing is left to deliver either, the case waits
for time to pass (the recovery period, the follow-ups after return), so the
NRM coordinator moves a training deployment's clock (``NRMFLOW_MODE=training``)
a few days on at a time until something opens.

The story is scenario (a) of the NRM library's tests: an adult, exploited for
labour, recognised as a victim, returns home voluntarily; three follow-ups
after arrival, then the case closes. Every answer is invented.

The log names tasks, roles and the case's reference, never case data. Every
request is recorded as (method, path template, status), so a test can check
that the OpenAPI document describes exactly what the walk used.

    python examples/walk_referral.py --base-url http://127.0.0.1:8000 --tokens tokens.json

``tokens.json`` maps each role to a bearer token of a user who holds it, e.g.
``{"first_responder": "nrm_...", "competent_authority": "nrm_...", ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

API = "/api/v1"
PROCESS_KEY = "nrm_case"
FIRST_RESPONDER = "first_responder"
COORDINATOR = "nrm_coordinator"  # sees every case and moves the training clock
PARTNER_GATEWAY = "partner_gateway"  # delivers the partners' replies

START = {
    "first_responder_type": "police",
    "first_contact_date": "2026-03-02",
    "contact_setting": "inspection_or_operation",
}

LOW_RISK = {
    "threat_level": "none",
    "traffickers_can_locate_person": False,
    "vulnerability": "low",
    "safety_plan_updated": True,
}

# What each task's form receives, by the task's id in the diagram (scenario (a); invented).
ANSWERS: dict[str, dict[str, Any]] = {
    "screen_indicators": {
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
    },
    "obtain_consent": {
        "informed_of_rights": True,
        "consent_given": True,
        "consent_date": "2026-03-02",
        "interpreter_used": True,
        "given_name": "Alex",
        "family_name": "Example",
        "date_of_birth": "1990-01-01",
        "preferred_language": "Romanian",
    },
    "decide_reasonable_grounds": {
        "rg_decision": "positive",
        "rg_reasons": "Indicators consistent with the first responder's report.",
        "rg_evidence_considered": ["first_responder_report", "interview"],
    },
    "assess_needs": {"assistance_needs": ["accommodation", "medical_care", "interpretation"]},
    "arrange_safe_accommodation": {"accommodation": "specialised_shelter"},
    "provide_medical_care": {"medical_care": "general_check"},
    "provide_psychological_support": {"psychological_support": "counselling_started"},
    "arrange_interpretation": {"interpretation": "provided"},
    "provide_legal_counselling": {
        "legal_counselling": "provided",
        "legal_topics": ["rights_as_victim"],
    },
    "assess_risk": LOW_RISK,  # after the needs assessment, and again before the return
    "decide_conclusive_grounds": {
        "cg_decision": "positive",
        "cg_reasons": "Consistent account over the period.",
    },
    "record_informed_choice": {
        "informed_of_options": True,
        "cooperate_with_prosecution": False,
        "claim_compensation": False,
    },
    "agree_durable_solution": {"durable_solution": "voluntary_return", "person_informed": True},
    "record_return_request": {
        "return_requested_voluntarily": True,
        "informed_of_risks_and_options": True,
        "destination_region": "rural",
    },
    "check_proceedings_status": {
        "presence_required": False,
        "return_compatible_with_proceedings": True,
    },
    "agree_reintegration_plan": {
        "reintegration_support": ["housing", "income_generation"],
        "plan_agreed_with_person": True,
    },
    "organise_return_travel": {"departure_date": "2026-05-20", "escorted": True},
    "record_follow_up": {
        "follow_up_contact": "through_partner",
        "reintegration_progress": "on_track",
    },
    "close_case": {"closure_reason": "durable_solution_returned"},
    "invite_survivor_feedback": {
        "feedback_offered": True,
        "feedback_given": True,
        "felt_safe": "yes",
    },
}

# The partners' replies, by the task whose completion sends them the request they answer.
PARTNER_REPLIES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "check_proceedings_status": [
        ("travel_documents_issued", {"issued_on": "2026-05-01"}),  # the consulate
        ("reception_confirmed", {"organisation": "receiving"}),  # the origin country
    ],
    "organise_return_travel": [("arrival_confirmed", {"arrived_on": "2026-05-20"})],
}

STEP_DAYS = 7  # how far the clock moves while the case waits for time to pass
MAX_DAYS = 800  # scenario (a) needs about 400 days; beyond this the walk is stuck


def api_request(
    base_url: str,
    token: str,
    method: str,
    path: str,
    body: Any = None,
    query: Mapping[str, str] | None = None,
) -> urllib.request.Request:
    """One call of the REST API with a bearer token, its body as JSON."""
    url = base_url + API + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    return urllib.request.Request(url, data=data, headers=headers, method=method)


class WalkFailed(Exception):
    """The walk cannot go on; the message says why (a status, a problem's title, a task id)."""


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # the template, e.g. /api/v1/work-items/{work_item_id}/claim
    status: int
    role: str


@dataclass
class Walk:
    """What happened: the calls made, the tasks done by each role, the messages delivered."""

    case_id: int | None = None
    reference: str | None = None
    status: str | None = None
    calls: list[Call] = field(default_factory=list)
    completed: list[tuple[str, str]] = field(default_factory=list)  # (role, task)
    delivered: list[str] = field(default_factory=list)
    days_advanced: float = 0


class Api:
    """A thin JSON client: bearer token per call, problems turned into :class:`WalkFailed`."""

    def __init__(self, base_url: str, tokens: Mapping[str, str], walk: Walk, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.walk = walk
        self.timeout = timeout

    def call(
        self,
        method: str,
        template: str,
        role: str,
        *,
        body: Any = None,
        query: Mapping[str, str] | None = None,
        allow: tuple[int, ...] = (),
        **path: int,
    ) -> tuple[int, Any]:
        """``method`` ``API + template`` as ``role``; a status in ``allow`` returns, not raises."""
        if role not in self.tokens:
            raise WalkFailed(f"no token for role '{role}': add one to the tokens file")
        request = api_request(
            self.base_url, self.tokens[role], method, template.format(**path), body, query
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        self.walk.calls.append(Call(method, API + template, status, role))
        try:
            document = json.loads(payload) if payload else None
        except ValueError:  # not JSON: a proxy's error page, say
            document = None
        if status < 300 or status in allow:
            return status, document
        problem = document if isinstance(document, dict) else {}
        title = problem.get("title", "no problem details")
        detail = f": {problem['detail']}" if problem.get("detail") else ""
        raise WalkFailed(f"{method} {API}{template} as {role} answered {status} {title}{detail}")


def walk_referral(
    base_url: str,
    tokens: Mapping[str, str],
    log: Callable[[str], None] = print,
    step_days: float = STEP_DAYS,
    max_days: float = MAX_DAYS,
) -> Walk:
    """Start a referral as the first responder and work it to closure; return what happened."""
    walk = Walk()
    api = Api(base_url, tokens, walk)
    _, case = api.call(
        "POST", "/cases", FIRST_RESPONDER, body={"process_key": PROCESS_KEY, "data": START}
    )
    walk.case_id, walk.reference = case["id"], case["reference"]
    log(f"{walk.reference}: referral started by the {FIRST_RESPONDER}")
    pending: list[tuple[str, dict[str, Any]]] = []
    while True:
        _, case = api.call("GET", "/cases/{case_id}", COORDINATOR, case_id=walk.case_id)
        walk.status = case["status"]
        if case["status"] == "completed":
            log(f"{walk.reference}: completed")
            return walk
        if case["status"] not in ("running", "waiting"):
            raise WalkFailed(f"case {walk.reference} is {case['status']}")
        roles = sorted({item["role"] for item in case["work_items"] if item["role"]})
        if roles:
            task = _work_one_item(api, walk, roles[0], log)
            pending.extend(PARTNER_REPLIES.get(task, []))
        elif pending and _deliver_one_reply(api, walk, pending, log):
            continue
        else:
            _let_time_pass(api, walk, step_days, max_days, log)


def _work_one_item(api: Api, walk: Walk, role: str, log: Callable[[str], None]) -> str:
    """Find the case's next item in ``role``'s inbox, read its form, claim and complete it."""
    item = _find_in_inbox(api, walk, role)
    _, detail = api.call("GET", "/work-items/{work_item_id}", role, work_item_id=item["id"])
    task = detail["task"]
    if task not in ANSWERS:
        raise WalkFailed(f"no answers for task '{task}' ({role}): add them to ANSWERS")
    answers = ANSWERS[task]
    _check_against_form(task, answers, detail.get("form"))
    api.call("POST", "/work-items/{work_item_id}/claim", role, work_item_id=item["id"])
    api.call(
        "POST",
        "/work-items/{work_item_id}/complete",
        role,
        body={"data": answers},
        work_item_id=item["id"],
    )
    walk.completed.append((role, task))
    log(f"{walk.reference}: {role} completed {task}")
    return task


def _find_in_inbox(api: Api, walk: Walk, role: str) -> dict[str, Any]:
    page, pages = 1, 1
    while page <= pages:
        _, listing = api.call("GET", "/work-items", role, query={"role": role, "page": str(page)})
        for item in listing["items"]:
            if item["case_id"] == walk.case_id:
                return item  # type: ignore[no-any-return]
        page, pages = page + 1, listing["pages"]
    raise WalkFailed(f"the case shows work for {role}, but {role}'s inbox does not")


def _check_against_form(task: str, answers: Mapping[str, Any], form: Any) -> None:
    """Name the fields the form requires that the answers lack, or has no place for.

    The server validates fully; this only makes a stale answer table fail with
    a clear message before anything is claimed.
    """
    if not isinstance(form, dict):
        return
    missing = sorted(set(form.get("required", [])) - set(answers))
    unknown = sorted(set(answers) - set(form.get("properties", {})))
    if form.get("additionalProperties") is not False:
        unknown = []
    if missing or unknown:
        raise WalkFailed(
            f"answers for '{task}' do not fit its form: missing {missing}, unknown {unknown}"
        )


def _deliver_one_reply(
    api: Api, walk: Walk, pending: list[tuple[str, dict[str, Any]]], log: Callable[[str], None]
) -> bool:
    """Deliver the first reply the case waits for; False when it waits for none of them yet."""
    for index, (name, payload) in enumerate(pending):
        status, _ = api.call(
            "POST",
            "/messages",
            PARTNER_GATEWAY,
            body={"name": name, "correlation": walk.reference, "payload": payload},
            allow=(409,),  # message-not-expected: not waiting for this one yet
        )
        if status == 200:
            del pending[index]
            walk.delivered.append(name)
            log(f"{walk.reference}: {PARTNER_GATEWAY} delivered {name}")
            return True
    return False


def _let_time_pass(
    api: Api, walk: Walk, step_days: float, max_days: float, log: Callable[[str], None]
) -> None:
    if walk.days_advanced >= max_days:
        raise WalkFailed(f"nothing opened in {walk.days_advanced:g} days: the case is stuck")
    status, moved = api.call(
        "POST", "/clock/advance", COORDINATOR, body={"days": step_days}, allow=(404,)
    )
    if status == 404:
        raise WalkFailed(
            "the case waits for time to pass, but the server has no training clock: "
            "serve it with NRMFLOW_MODE=training"
        )
    walk.days_advanced += step_days
    fired = f", {moved['timers_fired']} timer(s) fired" if moved["timers_fired"] else ""
    log(f"{walk.reference}: waiting; clock moved {step_days:g} days to {moved['now'][:10]}{fired}")


def load_tokens(path: str) -> dict[str, str]:
    with open(path, encoding="utf-8") as file:
        tokens = json.load(file)
    if not isinstance(tokens, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tokens.items()
    ):
        raise WalkFailed(f"{path} must hold a JSON object of role → token")
    return tokens


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base-url", default=os.environ.get("NRMFLOW_URL", "http://127.0.0.1:8000")
    )
    parser.add_argument(
        "--tokens",
        default=os.environ.get("NRMFLOW_API_TOKENS"),
        help="JSON file mapping each role to a bearer token (or $NRMFLOW_API_TOKENS)",
    )
    parser.add_argument("--step-days", type=float, default=STEP_DAYS)
    args = parser.parse_args(argv)
    if not args.tokens:
        parser.error("give --tokens FILE (or set NRMFLOW_API_TOKENS)")
    try:
        walk = walk_referral(args.base_url, load_tokens(args.tokens), step_days=args.step_days)
    except (WalkFailed, OSError) as error:
        print(f"walk failed: {error}", file=sys.stderr)
        return 1
    print(
        f"{walk.reference}: {len(walk.completed)} tasks, {len(walk.delivered)} messages, "
        f"{walk.days_advanced:g} days, {len(walk.calls)} requests"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
