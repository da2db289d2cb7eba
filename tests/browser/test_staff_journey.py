"""Agency staff work a referral in Chromium, as people would: by labels, buttons and keys.

Each test runs the real app on a live server with a database of its own
(``nrm_server``) and drives it through a tab that keeps pictures of the pages
it saw for a failure report (``staff_tab``). The app needs no JavaScript, and
these tests use none: only clicks, typing and, in the last one, the keyboard
alone. Where a step is not the point of a test, the app's own runtime takes it,
as a colleague working in another tab would.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import StaffTab
from tests.browser.live_server import LiveServer
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase
from tests.workflows.nrm_steps import (
    cooperate_with_witness_protection,
    identify_adult,
    provide_assistance,
)
from workflows.demo import DEMO_PASSWORD

REFERENCE = re.compile(r"Case (\d{4}-[0-9A-Z]{4}-[0-9A-Z]{4})")
REQUIRED = "This field is required."
RG_REASONS = "Indicators consistent with the first responder's report."
MEASURES_NOTE = "Agreed with the duty officer at the station."
# What the police agree, as the case page would show it: labels and values.
MEASURES_SHOWN = (
    "Protection measures agreed",
    "Note on the measures",
    "Relocation to another area",
    "Police protection",
    MEASURES_NOTE,
    "<h3>Protection measures</h3>",
)
MAX_TABS = 60  # more than any page here has focusable controls


# ----------------------------------------------------------------- a person's steps


def sign_in(tab: StaffTab, username: str) -> None:
    """Signed in, a person lands on their inbox with their name shown."""
    tab.sign_in(username)
    expect(tab.page.get_by_role("heading", level=1, name="Inbox")).to_be_visible()
    expect(tab.page.get_by_text(username, exact=False).first).to_be_visible()
    tab.record()


def sign_out(tab: StaffTab) -> None:
    tab.page.get_by_role("button", name="Sign out").click()
    expect(tab.page.get_by_text("You are signed out.")).to_be_visible()


def open_inbox(tab: StaffTab) -> None:
    tab.page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    expect(tab.page.get_by_role("heading", level=1, name="Inbox")).to_be_visible()
    tab.record()


def inbox_row(page: Page, reference: str) -> Locator:
    """The inbox rows of one case: other cases' tasks may share the page."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=reference))


def open_task(tab: StaffTab, reference: str, title: str) -> None:
    open_inbox(tab)
    inbox_row(tab.page, reference).get_by_role("link", name=title).click()
    expect(tab.page.get_by_role("heading", level=1, name=title)).to_be_visible()
    tab.record()


def open_case(tab: StaffTab, reference: str) -> None:
    open_inbox(tab)
    tab.page.get_by_role("link", name=reference).first.click()
    expect(tab.page.get_by_role("heading", level=1, name=f"Case {reference}")).to_be_visible()
    tab.record()


def complete(tab: StaffTab) -> None:
    tab.page.get_by_role("button", name="Complete").click()
    tab.record()


def expect_completed(tab: StaffTab) -> None:
    expect(tab.page.get_by_role("status")).to_have_text("Task completed")
    expect(tab.page.get_by_role("heading", level=1, name="Inbox")).to_be_visible()


def expect_refused(tab: StaffTab) -> None:
    """The task page again, with the problems listed at the top and nothing saved."""
    summary = tab.page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem: nothing was saved")


def question(page: Page, legend: str) -> Locator:
    """A group of choices (radios or boxes), by the question its legend asks."""
    return page.get_by_role("group", name=re.compile(f"^{re.escape(legend)}"))


def choose(page: Page, legend: str, option: str) -> None:
    question(page, legend).get_by_label(option, exact=True).check()


# ----------------------------------------------------------------- the journeys


def test_a_referral_goes_from_the_police_to_the_competent_authority(
    nrm_server: LiveServer, staff_tab: StaffTab
) -> None:
    page = staff_tab.page

    # The police officer meets a person and starts a referral.
    sign_in(staff_tab, "demo.police")
    page.get_by_role("link", name="Start a referral").click()
    staff_tab.record()
    page.get_by_label("Type of first responder").select_option(label="Police")
    page.get_by_label("Date of first contact with the person").fill("2026-03-02")
    page.get_by_label("How did contact come about?").select_option(label="Inspection or operation")
    page.get_by_role("button", name="Start the referral").click()
    heading = page.get_by_role("heading", level=1, name=REFERENCE)
    expect(heading).to_be_visible()
    staff_tab.record()
    match = REFERENCE.search(heading.inner_text())
    assert match is not None
    reference, case_id = match[1], int(page.url.rsplit("/", 1)[-1])
    expect(page.get_by_role("status")).to_have_text(f"Referral started: case {reference}.")

    # Screening, sent half done first: the problems are shown, nothing typed is lost.
    open_task(staff_tab, reference, "Screen for indicators of trafficking")
    page.get_by_label("Debt bondage").check()
    choose(page, "Sex", "Female")
    complete(staff_tab)
    expect_refused(staff_tab)
    for unanswered in ("Forms of exploitation", "Immediate needs", "Was the person compelled"):
        expect(question(page, unanswered)).to_contain_text(REQUIRED)
    expect(page.get_by_label("Age group")).to_have_attribute("aria-invalid", "true")
    expect(question(page, "Indicators of trafficking")).not_to_contain_text(REQUIRED)
    expect(page.get_by_label("Debt bondage")).to_be_checked()
    expect(question(page, "Sex").get_by_label("Female", exact=True)).to_be_checked()

    page.get_by_label("Identity or travel documents withheld").check()
    page.get_by_label("Labour exploitation").check()
    choose(page, "Age", "An adult (18 or over)")
    page.get_by_label("Age group").select_option(label="25 to 34")
    page.get_by_label("Nationality").select_option(label="Third-country national")
    choose(page, "Was the person compelled", "No")
    choose(page, "Does the person wish to cooperate", "Undecided")
    page.get_by_label("Safe accommodation").check()
    complete(staff_tab)
    expect_completed(staff_tab)

    # The person consents to referral; only now is their (invented) identity recorded.
    open_task(staff_tab, reference, "Record informed consent to referral")
    page.get_by_label("I explained, in a language the person understands").check()
    choose(page, "Does the person consent to referral?", "Yes")
    page.get_by_label("Date consent was given or declined").fill("2026-03-02")
    choose(page, "Was an interpreter used?", "No")
    page.get_by_label("Given name").fill("Alex")
    page.get_by_label("Family name").fill("Example")
    page.get_by_label("Date of birth").fill("1990-01-01")
    page.get_by_label("Preferred language").fill("Romanian")
    complete(staff_tab)
    expect_completed(staff_tab)
    expect(inbox_row(page, reference)).to_have_count(0)  # nothing more for the police
    sign_out(staff_tab)

    # The competent authority finds the decision in their inbox and takes it.
    sign_in(staff_tab, "demo.authority")
    open_task(staff_tab, reference, "Decide on reasonable grounds")
    page.get_by_label("Reasons for the decision").fill(RG_REASONS)
    page.get_by_label("Interview with the person").check()
    complete(staff_tab)
    expect_refused(staff_tab)
    expect(question(page, "Decision")).to_contain_text(REQUIRED)
    expect(page.get_by_label("Reasons for the decision")).to_have_value(RG_REASONS)
    expect(page.get_by_label("Interview with the person")).to_be_checked()

    choose(page, "Decision", "Positive: there are reasonable grounds")
    page.get_by_label("First responder's referral report").check()
    complete(staff_tab)
    expect_completed(staff_tab)
    expect(inbox_row(page, reference)).to_have_count(0)

    case = nrm_server.runtime.case(case_id)
    assert case.business_key == reference
    assert {item.task_name for item in case.work_items} == {"assess_needs", "assess_risk"}


def test_the_police_measures_never_reach_the_ngo(
    nrm_server: LiveServer, staff_tab: StaffTab
) -> None:
    page = staff_tab.page
    case = NrmCase.refer(nrm_server.runtime, nrm_server.db, nrm_server.clock, as_user="demo.police")
    identify_adult(case)
    case.complete("decide_reasonable_grounds", answers.rg("positive"), "competent_authority")
    case.complete("assess_risk", answers.risk("high"), "support_provider")
    reference = case.view.business_key

    # The risk is high, so the police agree protection measures with the person.
    sign_in(staff_tab, "demo.police")
    open_task(staff_tab, reference, "Agree protection measures")
    page.get_by_label("Relocation to another area").check()
    page.get_by_label("Police protection").check()
    page.get_by_label("Note on the measures").fill(MEASURES_NOTE)
    complete(staff_tab)
    expect_completed(staff_tab)
    sign_out(staff_tab)

    # Weeks later the case is recognised and the police arrange witness protection,
    # while the NGO caseworker agrees a durable solution: both work on the case.
    provide_assistance(case)
    cooperate_with_witness_protection(case)

    sign_in(staff_tab, "demo.caseworker")
    open_case(staff_tab, reference)
    expect(page.get_by_text("Threats from the exploiters")).to_be_visible()  # the risk is theirs
    expect(page.get_by_text("fields are not shown to your role")).to_be_visible()
    html = page.content()
    for shown_to_police_only in MEASURES_SHOWN:
        assert shown_to_police_only not in html, shown_to_police_only
    sign_out(staff_tab)

    sign_in(staff_tab, "demo.police")
    open_case(staff_tab, reference)
    html = page.content()
    for shown in MEASURES_SHOWN:
        assert shown in html, shown


def test_a_task_can_be_completed_with_the_keyboard_alone(
    nrm_server: LiveServer, staff_tab: StaffTab
) -> None:
    page = staff_tab.page
    case = NrmCase.refer(nrm_server.runtime, nrm_server.db, nrm_server.clock, as_user="demo.police")
    identify_adult(case)
    reference = case.view.business_key
    keys = page.keyboard

    page.goto("/sign-in")  # typed into the address bar
    tab_to(page, page.get_by_label("User name"))
    keys.type("demo.caseworker")
    keys.press("Tab")
    keys.type(DEMO_PASSWORD)
    keys.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Inbox")).to_be_visible()
    staff_tab.record()

    title = "Assess risks and update the safety plan"
    tab_to(page, inbox_row(page, reference).get_by_role("link", name=title))
    keys.press("Enter")
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    staff_tab.record()

    tab_to(page, question(page, "Threats from the exploiters").get_by_role("radio").first)
    keys.press("ArrowDown")
    keys.press("ArrowDown")  # the third: direct threats
    tab_to(page, question(page, "The exploiters know").get_by_role("radio").first)
    keys.press("Space")  # yes
    tab_to(page, question(page, "Vulnerability").get_by_role("radio").first)
    keys.press("ArrowDown")
    keys.press("ArrowDown")  # severe
    tab_to(page, page.get_by_label("I have revised the individual safety plan"))
    keys.press("Space")
    tab_to(page, page.get_by_label("Notes on the risks"))
    keys.type("The exploiters called the person's family this week.")
    tab_to(page, page.get_by_role("button", name="Complete"))
    keys.press("Enter")
    expect_completed(staff_tab)
    staff_tab.record()

    assert case.item("agree_protection_measures").role == "police"  # the risk was high


def tab_to(page: Page, control: Locator) -> None:
    """Press Tab until ``control`` has the focus, as a person would move through a page."""
    control.wait_for()  # fail at once on a control the page lacks, not after every press
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if control.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{MAX_TABS} presses of Tab never reached {control}")
