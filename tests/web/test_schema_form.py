"""Form fields from the real NRM schemas, posted back the way a browser would, typed and
validated by the engine; errors, escaping and instructions rendered safely."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from engine.config import load_settings
from engine.errors import FieldError, FormInvalid
from engine.forms import validate_form_data
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NRM_BUNDLE
from web import create_app
from web.markdown import render_markdown
from web.schema_form import error_summary, errors_by_field, parse_submission, render_fields

FORMS = sorted((NRM_BUNDLE / "forms").glob("*.json"))
SCRIPT = "<script>alert(1)</script>"


class FormReader(HTMLParser):
    """Reads rendered fields like a browser: labels, controls and what a submit would send."""

    def __init__(self, html: str):
        super().__init__()
        self.label_targets: set[str] = set()
        self.controls: list[dict[str, Any]] = []
        self._select: dict[str, Any] | None = None
        self._textarea: dict[str, Any] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes: dict[str, Any] = {"tag": tag, **dict(attrs)}
        if tag == "label" and attributes.get("for"):
            self.label_targets.add(attributes["for"])
        elif tag == "input":
            self.controls.append(attributes)
        elif tag == "select":
            self._select = {**attributes, "options": []}
            self.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select["options"].append(attributes)
        elif tag == "textarea":
            self._textarea = {**attributes, "text": ""}
            self.controls.append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = self._textarea["text"]
            self._textarea["text"] = text[1:] if text.startswith("\n") else text
            self._textarea = None

    def named(self, name: str) -> list[dict[str, Any]]:
        return [c for c in self.controls if c.get("name") == name]

    def submission(self) -> MultiDict[str, str]:
        """What submitting the form as it stands sends (HTML's form data set)."""
        sent: list[tuple[str, str]] = []
        for control in self.controls:
            name = control.get("name")
            if not name:
                continue
            if control["tag"] == "select":
                options = control["options"]
                chosen = [o for o in options if "selected" in o] or options[:1]
                sent += [(name, o.get("value", "")) for o in chosen]
            elif control["tag"] == "textarea":
                sent.append((name, control["text"]))
            elif control.get("type") in ("checkbox", "radio"):
                if "checked" in control:
                    sent.append((name, control.get("value") or "on"))
            else:
                sent.append((name, control.get("value") or ""))
        return MultiDict(sent)


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """The real app (templates, translations) without a database: fields need none."""
    settings = load_settings({"NRMFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}"})
    return create_app(settings)


@pytest.fixture
def in_request(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


def schema_of(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def rendered(schema: dict[str, Any], values: dict[str, Any] | None = None, **kw: Any) -> str:
    return str(render_fields(schema, values or {}, kw.pop("errors", {}), **kw))


UNCERTAIN_AGE = answers.screening(
    age_status="uncertain", reasons_to_believe_child=True, unaccompanied=True
)
SCENARIO_ANSWERS: list[tuple[str, dict[str, Any]]] = [
    ("screening", answers.screening()),
    ("screening_uncertain_age", UNCERTAIN_AGE),
    ("consent_given", answers.consent_given()),
    ("consent_declined", answers.CONSENT_DECLINED),
    ("anonymous_notification", answers.ANONYMOUS_NOTIFICATION),
    ("rg_positive", answers.rg("positive")),
    ("rg_negative", answers.rg("negative")),
    ("reconsidered_rg", answers.reconsidered_rg("positive")),
    ("cg_positive", answers.cg("positive")),
    ("needs", answers.NEEDS),
    *((task, answer) for task, (_role, answer) in answers.ASSISTANCE.items()),
    *((f"risk_{level}", answers.risk(level)) for level in ("low", "medium", "high")),
    ("proceedings_choice", answers.proceedings_choice()),
    ("proceedings_cooperate", answers.proceedings_choice(cooperate=True, compensation=True)),
    ("durable_solution", answers.durable_solution("voluntary_return")),
    ("return_request", answers.RETURN_REQUEST),
    ("permit_granted", answers.PERMIT_GRANTED),
    ("proceedings_status", answers.PROCEEDINGS_STATUS),
    ("reintegration_plan", answers.REINTEGRATION_PLAN),
    ("return_travel", answers.RETURN_TRAVEL),
    ("follow_up", answers.FOLLOW_UP),
    ("close_case", answers.CLOSE_CASE),
    ("feedback", answers.FEEDBACK),
]


def forms_accepting(answer: dict[str, Any]) -> list[Path]:
    accepting = []
    for path in FORMS:
        schema = schema_of(path)
        if not set(answer) <= set(schema["properties"]):
            continue
        try:
            validate_form_data(schema, answer)
        except FormInvalid:
            continue
        accepting.append(path)
    return accepting


def test_the_nrm_library_has_45_forms() -> None:
    assert len(FORMS) == 45


@pytest.mark.usefixtures("in_request")
@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.stem)
def test_every_nrm_form_renders_a_labelled_control_for_each_property(path: Path) -> None:
    schema = schema_of(path)
    page = FormReader(rendered(schema))
    for name in schema["properties"]:
        controls = page.named(name)
        assert controls, f"{path.name}: no control for {name}"
        assert all(c.get("id") in page.label_targets for c in controls), f"{path.name}: {name}"
    ids = [c["id"] for c in page.controls]
    assert len(ids) == len(set(ids))


@pytest.mark.usefixtures("in_request")
@pytest.mark.parametrize(
    ("story", "answer"), SCENARIO_ANSWERS, ids=[s for s, _a in SCENARIO_ANSWERS]
)
def test_scenario_answers_survive_a_round_trip_through_the_form(
    story: str, answer: dict[str, Any]
) -> None:
    matching = forms_accepting(answer)
    assert matching, f"no NRM form accepts the {story} answer"
    for path in matching:
        schema = schema_of(path)
        posted = FormReader(rendered(schema, answer)).submission()
        data, parse_errors = parse_submission(schema, posted)
        assert parse_errors == {}
        validate_form_data(schema, data)  # the engine's check: raises if the round trip broke
        assert {k: v for k, v in data.items() if k in answer} == answer, path.name
        assert all(data[k] is False for k in set(data) - set(answer)), path.name


@pytest.mark.usefixtures("in_request")
def test_an_optional_question_left_unanswered_is_not_sent() -> None:
    """Feedback declined: the form must not send feedback_given, which is then forbidden."""
    schema = schema_of(NRM_BUNDLE / "forms" / "invite_survivor_feedback.json")
    posted = FormReader(rendered(schema, {"feedback_offered": False})).submission()
    data, _errors = parse_submission(schema, posted)
    assert "feedback_given" not in data
    validate_form_data(schema, data)


TYPED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Name", "maxLength": 40},
        "note": {"type": "string", "title": "Note", "maxLength": 2000},
        "count": {"type": "integer", "title": "Count", "minimum": 1},
        "ratio": {"type": "number", "title": "Ratio"},
        "met_in_person": {"type": "boolean", "title": "Met in person"},
        "interpreter": {"type": "boolean", "title": "Interpreter used?"},
        "confirmed": {"type": "boolean", "const": True, "title": "I confirm"},
        "met_on": {"type": "string", "format": "date", "title": "Met on"},
        "colour": {"type": "string", "enum": ["red", "green"], "x-enumTitles": ["Red", "Green"]},
        "size": {"type": "string", "enum": ["xs", "s", "m", "l", "xl"]},
        "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "uniqueItems": True},
        "address": {
            "type": "object",
            "title": "Address",
            "description": "Where the person can be reached safely.",
            "properties": {
                "street": {"type": "string", "title": "Street"},
                "floor": {"type": "integer", "title": "Floor"},
            },
            "required": ["street"],
        },
    },
    "required": ["name", "met_in_person", "confirmed"],
    "if": {"properties": {"colour": {"const": "red"}}, "required": ["colour"]},
    "then": {
        "properties": {"why_red": {"type": "string", "title": "Why red?", "maxLength": 80}},
        "required": ["why_red"],
    },
}


def test_a_post_becomes_typed_data_and_unknown_fields_are_ignored() -> None:
    form = MultiDict(
        [
            ("name", "  Alex  "),
            ("note", "line one\r\nline two"),
            ("count", "3"),
            ("ratio", "0.5"),
            ("met_in_person", "on"),
            ("interpreter", "false"),
            ("confirmed", "on"),
            ("met_on", "2026-03-02"),
            ("colour", "red"),
            ("why_red", "it was"),
            ("size", ""),
            ("tags", "a"),
            ("tags", "c"),
            ("address.street", "Quay Street"),
            ("address.floor", "2"),
            ("is_admin", "true"),
            ("csrf_token", "x"),
        ]
    )
    data, errors = parse_submission(TYPED_SCHEMA, form)
    assert errors == {}
    assert data == {
        "name": "Alex",
        "note": "line one\nline two",
        "count": 3,
        "ratio": 0.5,
        "met_in_person": True,
        "interpreter": False,
        "confirmed": True,
        "met_on": "2026-03-02",
        "colour": "red",
        "why_red": "it was",
        "tags": ["a", "c"],
        "address": {"street": "Quay Street", "floor": 2},
    }
    validate_form_data(TYPED_SCHEMA, data)


def test_empty_fields_are_left_out_and_an_unanswered_question_is_not_a_no() -> None:
    data, errors = parse_submission(TYPED_SCHEMA, MultiDict([("name", "Alex"), ("count", "")]))
    assert errors == {}
    assert data == {"name": "Alex"}  # the engine then reports met_in_person as required
    answered, _ = parse_submission(TYPED_SCHEMA, MultiDict([("met_in_person", "false")]))
    assert answered["met_in_person"] is False


def test_a_non_number_is_an_error_that_does_not_echo_the_value() -> None:
    form = MultiDict([("count", "12abc"), ("ratio", "nan"), ("address.floor", "1.5")])
    data, errors = parse_submission(TYPED_SCHEMA, form)
    assert errors == {
        "count": "must be a whole number",
        "ratio": "must be a number",
        "address.floor": "must be a whole number",
    }
    assert "count" not in data and "ratio" not in data and "address" not in data
    assert all("12abc" not in message for message in errors.values())


def test_engine_errors_are_keyed_by_field_and_an_item_error_belongs_to_its_array() -> None:
    errors = errors_by_field(
        [
            FieldError("sex", "is required"),
            FieldError("immediate_needs/1", "is not one of the allowed values"),
            FieldError("address/street", "is required"),
            FieldError("address/street", "is too short"),
            FieldError("", "form data must be an object"),
        ]
    )
    assert errors == {
        "sex": "is required",
        "immediate_needs": "is not one of the allowed values",
        "address.street": "is required",
        "": "form data must be an object",
    }


@pytest.mark.usefixtures("in_request")
def test_widgets_follow_the_schema() -> None:
    html = rendered(TYPED_SCHEMA)
    page = FormReader(html)
    (name,) = page.named("name")
    assert (name["type"], name["maxlength"], name["aria-required"]) == ("text", "40", "true")
    assert page.named("note")[0]["tag"] == "textarea"
    (count,) = page.named("count")
    assert (count["type"], count["min"], count["step"]) == ("number", "1", "1")
    assert page.named("ratio")[0]["step"] == "any"
    assert page.named("met_on")[0]["type"] == "date"
    assert [c["type"] for c in page.named("met_in_person")] == ["radio", "radio"]
    assert [c["value"] for c in page.named("interpreter")] == ["true", "false"]
    assert [c["type"] for c in page.named("confirmed")] == ["checkbox"]
    assert [c["type"] for c in page.named("colour")] == ["radio", "radio"]
    assert ">Red</label>" in html.replace("> Red</label>", ">Red</label>")
    assert page.named("size")[0]["tag"] == "select"
    assert [c["value"] for c in page.named("tags")] == ["a", "b", "c"]
    assert page.named("why_red"), "a field only a conditional defines is still rendered"
    assert "<legend>Address" in html and 'name="address.street"' in html
    assert 'id="field-address.street"' in html and 'for="field-address.street"' in html


@pytest.mark.usefixtures("in_request")
def test_required_fields_are_marked_for_eyes_and_screen_readers() -> None:
    html = rendered(TYPED_SCHEMA)
    label = html.split('for="field-name"', 1)[1].split("</label>", 1)[0]
    assert '<span class="required-marker" aria-hidden="true">*</span>' in label
    assert '<span class="visually-hidden"> (required)</span>' in label
    optional = html.split('for="field-count"', 1)[1].split("</label>", 1)[0]
    assert "required-marker" not in optional


@pytest.mark.usefixtures("in_request")
def test_help_text_is_linked_to_its_control() -> None:
    schema = schema_of(NRM_BUNDLE / "forms" / "assess_needs.json")
    html = rendered(schema)
    (note,) = FormReader(html).named("needs_note")
    assert note["aria-describedby"] == "field-needs_note-help"
    assert 'id="field-needs_note-help"' in html and "Only what the agencies need" in html


@pytest.mark.usefixtures("in_request")
def test_errors_are_shown_beside_their_field_with_the_input_kept() -> None:
    values = {"name": "Alex", "tags": ["b"], "colour": "green", "address": {"street": "Quay"}}
    errors = {"name": "is too long", "tags": "is required", "address.floor": "must be a number"}
    html = rendered(TYPED_SCHEMA, values, errors=errors)
    page = FormReader(html)
    (name,) = page.named("name")
    assert name["aria-invalid"] == "true" and name["value"] == "Alex"
    assert name["aria-describedby"] == "field-name-error"
    assert '<p class="error" id="field-name-error">' in html and "This answer is too long." in html
    assert all(c["aria-invalid"] == "true" for c in page.named("tags"))
    assert [c["value"] for c in page.named("tags") if "checked" in c] == ["b"]
    assert 'aria-describedby="field-tags-error"' in html
    assert [c["value"] for c in page.named("colour") if "checked" in c] == ["green"]
    assert page.named("address.street")[0]["value"] == "Quay"
    assert page.named("address.floor")[0]["aria-invalid"] == "true"
    assert "aria-invalid" not in page.named("ratio")[0]


@pytest.mark.usefixtures("in_request")
def test_the_error_summary_links_each_problem_to_its_field() -> None:
    errors = {
        "tags": "is required",
        "name": "is required",
        "size": "is not one of the allowed values",
        "address.street": "is required",
        "": "form data must be an object",
    }
    summary = error_summary(TYPED_SCHEMA, errors)
    assert [(e.label, e.anchor) for e in summary] == [
        ("Name", "field-name"),
        ("Size", "field-size"),
        ("Tags", "field-tags-0"),
        ("Street", "field-address.street"),
        ("The form", None),
    ]
    assert summary[0].message == "This field is required."


@pytest.mark.usefixtures("in_request")
def test_a_fresh_form_shows_the_schema_defaults_and_a_resubmitted_one_does_not() -> None:
    schema = schema_of(NRM_BUNDLE / "forms" / "decide_cooperation_permit.json")
    assert FormReader(rendered(schema)).named("permit_valid_months")[0]["value"] == "6"
    again = rendered(schema, {"permit_granted": True}, errors={"permit_valid_months": "x"})
    assert FormReader(again).named("permit_valid_months")[0]["value"] == ""


@pytest.mark.usefixtures("in_request")
def test_schema_text_and_values_are_escaped() -> None:
    schema = {
        "type": "object",
        "properties": {
            "note": {"type": "string", "title": SCRIPT, "description": SCRIPT},
            "pick": {"type": "string", "enum": ["a"], "x-enumTitles": [SCRIPT]},
        },
    }
    html = rendered(schema, {"note": f'"><{SCRIPT}'}, errors={"note": SCRIPT})
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert FormReader(html).named("note")[0]["value"] == f'"><{SCRIPT}'


def test_instructions_markdown_is_rendered_without_raw_html_scripts_or_images() -> None:
    html = str(
        render_markdown(
            "## Screen\n\nDo **not** write a name.\n\n"
            f"{SCRIPT}\n\n<img src=x onerror=alert(1)>\n\n"
            "[click](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=) "
            "[guide](https://example.org/guide) [mail](mailto:help@example.org) "
            "![tracker](https://tracker.example/pixel.png)"
        )
    )
    assert "<h2>Screen</h2>" in html and "<strong>not</strong>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img" in html
    assert 'href="javascript' not in html and "[click](javascript:alert(1))" in html
    assert 'href="data:' not in html
    assert '<a href="https://example.org/guide">guide</a>' in html
    assert '<a href="mailto:help@example.org">mail</a>' in html


def test_empty_instructions_render_nothing() -> None:
    assert str(render_markdown("")) == "" and str(render_markdown(None)) == ""
