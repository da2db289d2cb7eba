"""Every page of a training deployment says so, with the time its clock stands at; a production
deployment's pages never do."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from flask import Flask

from engine.clock import FixedClock
from engine.db import Database
from engine.training_clock import TrainingClock
from tests.web.conftest import SignIn
from tests.web.test_training_clock_api import training_app

BANNER = "Training deployment: the clock stands at"
NOT_REAL = r"Nothing here is a real case\."


@pytest.fixture
def training(db: Database, clock: FixedClock) -> Flask:
    return training_app(db, clock)


def _page(app: Flask, path: str, **headers: str) -> str:
    return html.unescape(app.test_client().get(path, headers=headers).get_data(as_text=True))


def test_every_training_page_shows_the_banner_with_the_clock(
    training: Flask, sign_in: SignIn
) -> None:
    signed_in = sign_in(training.test_client(), "demo.caseworker")
    for path in ("/inbox", "/no-such-page"):
        page = html.unescape(signed_in.get(path).get_data(as_text=True))
        assert re.search(rf"{BANNER} Mar 2, 2026 9:00\sAM UTC\. {NOT_REAL}", page), path
    assert BANNER in _page(training, "/sign-in")


def test_the_banner_follows_an_advance_made_elsewhere(
    training: Flask, db: Database, clock: FixedClock
) -> None:
    TrainingClock(db, clock).advance(timedelta(days=3, hours=2), "cli")
    assert re.search(rf"{BANNER} Mar 5, 2026 11:00\sAM UTC\.", _page(training, "/sign-in"))


def test_the_banner_in_french(training: Flask) -> None:
    page = _page(training, "/sign-in", **{"Accept-Language": "fr"})
    assert (
        "Déploiement de formation : l'horloge indique 2 mars 2026 09:00 UTC. "
        "Aucun dossier ici n'est réel." in page
    )


def test_production_pages_show_no_banner(app: Flask, sign_in: SignIn) -> None:
    signed_in = sign_in(app.test_client(), "demo.caseworker")
    assert "Training deployment" not in signed_in.get("/inbox").get_data(as_text=True)
    assert "Training deployment" not in _page(app, "/sign-in")


def test_moving_the_clock_signs_nobody_out(
    training: Flask, db: Database, clock: FixedClock, sign_in: SignIn
) -> None:
    """Inactivity is measured in real time: a rehearsal that skips a week keeps staff signed in."""
    signed_in = sign_in(training.test_client(), "demo.caseworker")
    assert signed_in.get("/inbox").status_code == 200
    TrainingClock(db, clock).advance(timedelta(days=7), "cli")
    assert signed_in.get("/inbox").status_code == 200
