"""Simulated caseworkers working NRM cases over the REST API, for the crash harness and the soak.

Each caseworker is a thread with a user and a bearer token of its own, in one
role: it picks an offered work item of its role, claims it and completes it
with that task's answers (the walk-through script's, invented). Beside them a
first responder keeps referrals coming, so work never runs out, and the NRM
coordinator moves the training clock on, so timers fall due.

What the checks afterwards need is recorded as the server answered it: every
completion the server acknowledged (2xx) with the case revision it reported,
every completion whose answer never came (the connection died with the
server), and every response by request and status, with its latency. A
request that got no answer may or may not have happened; a caseworker that
sent one looks at the items it holds before taking new ones, as a person
would after their screen froze.
"""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any

from engine.api_tokens import create_token
from engine.clock import Clock
from engine.db import Database
from engine.users import add_user
from examples.walk_referral import ANSWERS as WALK_ANSWERS
from examples.walk_referral import PROCESS_KEY, START, api_request

ENLISTED_BY = "load"
# a coordinator's answer to the escalation a missed reasonable-grounds target raises
ANSWERS: dict[str, dict[str, Any]] = {
    **WALK_ANSWERS,
    "escalate_overdue_decision": {"escalation_action": "reminded_authority"},
}
# Who is on duty, in order: caseworker n works the n-th role of this cycle. The support
# provider has the most tasks of a case; the roles after the return have work only once
# partners reply, so they come last.
STAFFING = (
    "support_provider",
    "first_responder",
    "competent_authority",
    "support_provider",
    "legal_aid",
    "social_services",
    "health_services",
    "interpreter",
    "nrm_coordinator",
    "prosecutor",
    "return_organisation",
    "support_provider",
)
NO_ANSWER = "no answer"  # the status recorded when the connection died before a response


@dataclass(frozen=True)
class Account:
    role: str
    username: str
    token: str


@dataclass(frozen=True)
class Completion:
    """A completion the server acknowledged, as it reported it."""

    work_item_id: int
    case_id: int
    task: str
    username: str
    revision: int  # the case's revision right after this completion


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer came
    document: Any

    @property
    def problem(self) -> str:
        """The problem type's last segment (``stale-revision``), or '' for a success."""
        if self.status is None or self.status < 300 or not isinstance(self.document, dict):
            return ""
        return str(self.document.get("type", "")).rsplit(":", 1)[-1]


def enlist(db: Database, clock: Clock, roles: Sequence[str], prefix: str) -> list[Account]:
    """A user and a token for each role in ``roles`` (one per entry, repeats allowed)."""
    accounts = []
    for number, role in enumerate(roles, start=1):
        username = f"{prefix}.{role}.{number}"
        add_user(db, username, [role], "Load Test Agency", ENLISTED_BY, clock)
        accounts.append(
            Account(role, username, create_token(db, username, "load", ENLISTED_BY, clock))
        )
    return accounts


def staffing(count: int) -> list[str]:
    """The roles of ``count`` caseworkers, cycling through :data:`STAFFING`."""
    return [STAFFING[n % len(STAFFING)] for n in range(count)]


@dataclass
class Tally:
    """Everything the simulated people saw, shared by their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    responses: Counter[tuple[str, str]] = field(default_factory=Counter)  # (request, status)
    latencies_ms: list[float] = field(default_factory=list)
    latencies_ms_by_request: dict[str, list[float]] = field(default_factory=dict)
    completions: list[Completion] = field(default_factory=list)
    unanswered_completions: list[int] = field(default_factory=list)  # work item ids
    cases_started: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # a simulated person's thread that raised

    def record(self, request: str, answer: Answer, latency_ms: float) -> None:
        status = NO_ANSWER if answer.status is None else str(answer.status)
        with self.lock:
            self.responses[request, f"{status} {answer.problem}".strip()] += 1
            if answer.status is not None:
                self.latencies_ms.append(latency_ms)
                self.latencies_ms_by_request.setdefault(request, []).append(latency_ms)

    @property
    def answered(self) -> int:
        """Requests that got a response, of any status."""
        return len(self.latencies_ms)

    @property
    def requests(self) -> int:
        return sum(self.responses.values())

    def by_status(self) -> Counter[str]:
        statuses: Counter[str] = Counter()
        for (_request, status), count in self.responses.items():
            statuses[status] += count
        return statuses

    def server_errors(self) -> int:
        return sum(n for status, n in self.by_status().items() if status.startswith("5"))

    def percentile_ms(self, percent: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else 0.0
        return statistics.quantiles(self.latencies_ms, n=100)[percent - 1]


class Api:
    """One JSON call at a time as one account; a dead connection is an answer of its own."""

    def __init__(self, base_url: str, account: Account, tally: Tally, timeout: float):
        self.base_url = base_url.rstrip("/")
        self.account = account
        self.tally = tally
        self.timeout = timeout

    def call(
        self,
        method: str,
        template: str,
        body: Any = None,
        query: Mapping[str, str] | None = None,
        **path: int,
    ) -> Answer:
        request = api_request(
            self.base_url, self.account.token, method, template.format(**path), body, query
        )
        started = time.perf_counter()
        answer = _send(request, self.timeout)
        self.tally.record(f"{method} {template}", answer, (time.perf_counter() - started) * 1000)
        return answer


def _send(request: urllib.request.Request, timeout: float) -> Answer:
    try:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:  # an answer, with a status of 400 or more
            with error:
                status, payload = error.code, error.read()
    except (OSError, HTTPException):  # reset, refused, timed out, cut off mid-answer
        return Answer(None, None)
    try:
        return Answer(status, json.loads(payload) if payload else None)
    except ValueError:  # not JSON: a proxy's error page, say
        return Answer(status, None)


class Person(threading.Thread):
    """One simulated person, acting round after round until told to stop.

    A round that raises ends the person and is recorded in the tally: a load
    that quietly lost its people would pass every check.
    """

    def __init__(self, name: str, api: Api, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.api = api
        self.stop = stop

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.act()
        except Exception as error:
            with self.api.tally.lock:
                self.api.tally.failures.append(f"{self.name}: {error!r}")
            raise

    def act(self) -> None:
        raise NotImplementedError


class Caseworker(Person):
    """Claims and completes the offered items of one role, pausing after each as a person would."""

    def __init__(
        self,
        api: Api,
        stop: threading.Event,
        idle_seconds: float,
        seed: int,
        think_seconds: tuple[float, float] = (0.0, 0.0),
    ):
        super().__init__(f"caseworker-{api.account.username}", api, stop)
        self.idle_seconds = idle_seconds
        self.think_seconds = think_seconds
        self.chance = random.Random(seed)
        self.given_up: set[int] = set()  # items refused for good (invalid, incident, gone)
        self.may_hold_items = False  # a claim or completion went unanswered, or was refused

    def act(self) -> None:
        if not self.work_one_item():
            self.stop.wait(self.idle_seconds)
        elif self.think_seconds[1] > 0:
            self.stop.wait(self.chance.uniform(*self.think_seconds))

    def work_one_item(self) -> bool:
        """Finish an item this caseworker holds, else claim and complete an offered one."""
        item = self._held_item() or self._offered_item()
        if item is None:
            return False
        if item["assignee"] is None:
            claimed = self.api.call("POST", "/work-items/{id}/claim", id=item["id"])
            if claimed.status is None:
                self.may_hold_items = True
            if claimed.status != 200:
                return True  # a colleague was quicker, or the server went away
        self._complete(item)
        return True

    def _held_item(self) -> dict[str, Any] | None:
        if not self.may_hold_items:
            return None
        held = self._inbox({"assignee": "me"})
        if held is None:
            return None
        self.may_hold_items = bool(held)
        return held[0] if held else None

    def _offered_item(self) -> dict[str, Any] | None:
        offered = self._inbox({})
        free = [item for item in offered or [] if item["assignee"] is None]
        return self.chance.choice(free) if free else None

    def _inbox(self, query: dict[str, str]) -> list[dict[str, Any]] | None:
        listing = self.api.call(
            "GET", "/work-items", query={"role": self.api.account.role, **query}
        )
        if listing.status != 200:
            return None
        return [
            item
            for item in listing.document["items"]
            if item["task"] in ANSWERS and item["id"] not in self.given_up
        ]

    def _complete(self, item: dict[str, Any]) -> None:
        done = self.api.call(
            "POST",
            "/work-items/{id}/complete",
            body={"data": ANSWERS[item["task"]]},
            id=item["id"],
        )
        tally = self.api.tally
        if done.status == 200:
            revision = done.document["revision"]
            completion = Completion(
                item["id"], item["case_id"], item["task"], self.api.account.username, revision
            )
            with tally.lock:
                tally.completions.append(completion)
        elif done.status is None:
            with tally.lock:
                tally.unanswered_completions.append(item["id"])
            self.may_hold_items = True
        elif done.problem == "stale-revision":
            self.may_hold_items = True  # still ours: try again on the next round
        else:
            self.given_up.add(item["id"])


class ReferralStarter(Person):
    """A first responder who refers a new person whenever the screening queue runs short."""

    def __init__(self, api: Api, stop: threading.Event, backlog: int, idle_seconds: float):
        super().__init__("referral-starter", api, stop)
        self.backlog = backlog
        self.idle_seconds = idle_seconds

    def act(self) -> None:
        queue = self.api.call("GET", "/work-items", query={"role": "first_responder"})
        if queue.status == 200 and queue.document["total"] < self.backlog:
            self._refer()
        else:
            self.stop.wait(self.idle_seconds)

    def _refer(self) -> None:
        started = self.api.call("POST", "/cases", body={"process_key": PROCESS_KEY, "data": START})
        if started.status == 201:
            with self.api.tally.lock:
                self.api.tally.cases_started.append(started.document["id"])


class ClockMover(Person):
    """The NRM coordinator moving a training deployment's clock on at a steady pace."""

    def __init__(self, api: Api, stop: threading.Event, hours: float, every_seconds: float):
        super().__init__("clock-mover", api, stop)
        self.hours = hours
        self.every_seconds = every_seconds

    def act(self) -> None:
        if not self.stop.wait(self.every_seconds):
            self.api.call("POST", "/clock/advance", body={"hours": self.hours})


@dataclass(frozen=True)
class LoadPlan:
    """How hard to push: who works, how many referrals wait, how fast time passes."""

    caseworkers: list[Account]
    first_responder: Account  # starts the referrals
    coordinator: Account  # moves the clock
    backlog: int = 20  # screenings waiting before another referral is started
    clock_hours: float = 24.0  # each advance of the training clock
    clock_every_seconds: float = 2.0
    idle_seconds: float = 0.3  # a caseworker with nothing to do looks again after this
    # a pause drawn from this range after each item worked (reading the next case); none: flat out
    think_seconds: tuple[float, float] = (0.0, 0.0)
    timeout_seconds: float = 30.0
    seed: int = 0


def plan_accounts(db: Database, clock: Clock, caseworkers: int, prefix: str) -> LoadPlan:
    """Users and tokens for ``caseworkers`` people plus the referring and coordinating ones."""
    accounts = enlist(
        db, clock, [*staffing(caseworkers), "first_responder", "nrm_coordinator"], prefix
    )
    return LoadPlan(accounts[:-2], accounts[-2], accounts[-1])


@contextmanager
def running_load(base_url: str, plan: LoadPlan) -> Iterator[Tally]:
    """Everyone at work until the block ends; then each finishes the request in hand."""
    tally, stop = Tally(), threading.Event()

    def api(account: Account) -> Api:
        return Api(base_url, account, tally, plan.timeout_seconds)

    people: list[Person] = [
        Caseworker(api(account), stop, plan.idle_seconds, plan.seed + n, plan.think_seconds)
        for n, account in enumerate(plan.caseworkers)
    ]
    people.append(ReferralStarter(api(plan.first_responder), stop, plan.backlog, plan.idle_seconds))
    people.append(
        ClockMover(api(plan.coordinator), stop, plan.clock_hours, plan.clock_every_seconds)
    )
    for person in people:
        person.start()
    try:
        yield tally
    finally:
        stop.set()
        for person in people:
            person.join(timeout=plan.timeout_seconds + 5)
