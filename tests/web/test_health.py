from __future__ import annotations

import pytest

from engine.config import InsecureConfiguration, load_settings
from engine.db import Database
from web import create_app


def test_healthz_answers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings({"NRMFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    response = create_app(settings).test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_production_refuses_the_demo_secret_key() -> None:
    with pytest.raises(InsecureConfiguration):
        create_app(load_settings({"NRMFLOW_ENV": "production"}))


def test_production_refuses_a_short_secret_key() -> None:
    short = {"NRMFLOW_ENV": "production", "NRMFLOW_SECRET_KEY": "x" * 31}
    with pytest.raises(InsecureConfiguration, match="at least 32"):
        create_app(load_settings(short))


def test_readyz_is_503_until_the_schema_is_current(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'x.db'}"
    client = create_app(load_settings({"NRMFLOW_DATABASE_URL": url})).test_client()
    before = client.get("/readyz")
    assert before.status_code == 503 and "nrmflow db upgrade" in before.get_json()["detail"]
    Database(url).upgrade()
    assert client.get("/readyz").get_json() == {"status": "ready"}


def test_readyz_is_503_when_the_database_does_not_answer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1"
    response = create_app(load_settings({"NRMFLOW_DATABASE_URL": url})).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["detail"] == "the database does not answer"
