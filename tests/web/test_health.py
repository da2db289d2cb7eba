from __future__ import annotations

import pytest

from engine.config import InsecureConfiguration, load_settings
from web import create_app


def test_healthz_answers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings({"NRMFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    response = create_app(settings).test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_production_refuses_the_demo_secret_key() -> None:
    with pytest.raises(InsecureConfiguration):
        create_app(load_settings({"NRMFLOW_ENV": "production"}))
