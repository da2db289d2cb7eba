"""A deployed version's own words: field titles and choices from its forms, names from its BPMN."""

from __future__ import annotations

import pytest

from engine.bundle import read_bundle
from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.errors import ModelNotFound
from engine.model_labels import labels_of_bundle, model_labels
from tests.workflows.nrm_driver import NRM_BUNDLE
from workflows.hooks import build_hooks


def test_labels_come_from_the_forms_and_diagrams_of_a_bundle() -> None:
    labels = labels_of_bundle(read_bundle(NRM_BUNDLE, 5_000_000))
    measures = labels.fields["protection_measures"]
    assert measures.title == "Protection measures agreed"
    assert measures.form_title == "Protection measures"
    assert measures.kind == "array"
    assert measures.choices["relocation"] == "Relocation to another area"  # an array's items
    assert labels.fields["first_responder_type"].choices["police"] == "Police"
    assert labels.fields["interpreter_used"].choices == {}
    # a field in two forms keeps the first form's title (by path)
    assert labels.fields["rg_decision"].form_title == "Reasonable-grounds decision"
    assert labels.elements["screen_indicators"] == "Screen for indicators of trafficking"


def test_labels_of_a_deployed_version(db: Database, clock: FixedClock) -> None:
    hooks = build_hooks(load_settings({}))
    deploy_bundle(db, read_bundle(NRM_BUNDLE, 5_000_000), "tester", hooks, clock)
    labels = model_labels(db, "nrm_case", 1)
    assert labels.fields["given_name"].title == "Given name"
    assert model_labels(db, "nrm_case", 1) is labels  # versions never change: cached
    with pytest.raises(ModelNotFound):
        model_labels(db, "nrm_case", 2)
