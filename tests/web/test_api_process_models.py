"""Process models over the API: list versions; deploy a bundle (coordinator only), 422 problems."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask

from engine.bundle import BUNDLE_SUFFIXES
from tests.engine.helpers import BUNDLES
from tests.web.api_tokens import ApiAs, api_as
from tests.workflows.nrm_driver import NRM_BUNDLE


@pytest.fixture
def api(app: Flask) -> ApiAs:
    return api_as(app)


def _upload(api: ApiAs, user: str, files: dict[str, bytes]):  # type: ignore[no-untyped-def]
    client = api(user)
    data = {"files": [(io.BytesIO(content), name) for name, content in files.items()]}
    return client.client.post(
        "/api/v1/process-models",
        data=data,
        headers=client.headers,
        content_type="multipart/form-data",
    )


def _bundle(directory: Path) -> dict[str, bytes]:
    """The bundle's files as a coordinator uploads them (CONVENTIONS.md and such left out)."""
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in directory.rglob("*")
        if p.suffix in BUNDLE_SUFFIXES
    }


def test_every_deployed_version_is_listed(api: ApiAs) -> None:
    response = api("demo.caseworker").get("/process-models")
    assert response.status_code == 200
    keys = {model["key"] for model in response.json}
    assert {"nrm_case", "nrm_identification", "nrm_return"} <= keys
    assert all(model["version"] == 1 and model["instances"] == 0 for model in response.json)


def test_the_coordinator_deploys_a_change_and_a_resend_changes_nothing(api: ApiAs) -> None:
    files = _bundle(NRM_BUNDLE)
    unchanged = _upload(api, "demo.coordinator", files)
    assert unchanged.status_code == 200, unchanged.json
    assert not any(m["created"] for m in unchanged.json["models"])
    closure = files["nrm_closure.bpmn"]
    files["nrm_closure.bpmn"] = closure.replace(b'name="Close the case"', b'name="Close it"')
    changed = _upload(api, "demo.coordinator", files)
    assert changed.status_code == 201, changed.json
    created = {m["key"]: m["version"] for m in changed.json["models"] if m["created"]}
    assert created["nrm_closure"] == 2
    listed = api("demo.coordinator").get("/process-models").json
    assert {(m["key"], m["version"]) for m in listed} >= {("nrm_closure", 1), ("nrm_closure", 2)}


def test_only_the_coordinator_deploys(api: ApiAs) -> None:
    response = _upload(api, "demo.caseworker", _bundle(NRM_BUNDLE))
    assert (response.status_code, response.json["type"]) == (
        403,
        "urn:nrmflow:problem:not-authorized",
    )


def test_an_invalid_bundle_is_422_with_file_line_element_and_message(api: ApiAs) -> None:
    response = _upload(api, "demo.coordinator", _bundle(BUNDLES / "invalid" / "unsafe_script"))
    assert response.status_code == 422
    assert response.json["type"] == "urn:nrmflow:problem:model-invalid"
    [problem] = response.json["problems"]
    assert problem["file"] == "unsafe.bpmn" and problem["element_id"]
    assert isinstance(problem["line"], int) and problem["message"]


@pytest.mark.parametrize(
    "name", ["../escape.bpmn", "/etc/passwd.bpmn", "a/../../b.bpmn", "c:\\x.bpmn", "run.sh"]
)
def test_file_names_that_could_escape_the_bundle_are_refused(api: ApiAs, name: str) -> None:
    files = {**_bundle(BUNDLES / "invalid" / "unsafe_script"), name: b"<x/>"}
    response = _upload(api, "demo.coordinator", files)
    assert response.status_code == 422
    assert response.json["type"] == "urn:nrmflow:problem:model-invalid"


def test_an_upload_over_the_limit_is_413(api: ApiAs, app: Flask) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = _upload(api, "demo.coordinator", {"big.bpmn": b"x" * (limit + 1)})
    assert (response.status_code, response.mimetype) == (413, "application/problem+json")


def test_an_upload_without_files_is_422(api: ApiAs) -> None:
    response = _upload(api, "demo.coordinator", {})
    assert response.status_code == 422
