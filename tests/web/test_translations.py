"""English and French: every user-facing string has its French, and a person's choice shows.

The catalogue is checked against a fresh extraction of the sources, run exactly as
``make translations`` runs it (the Makefile's own ``pybabel extract`` arguments),
so a new string that nobody translated fails here, not in front of a French user.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from engine.runtime import Runtime
from engine.views import CaseView
from tests.web.conftest import SignIn
from web.i18n import DEFAULT_LANGUAGE, LANGUAGES, role_title, stage_title
from workflows.roles import ROLES
from workflows.stages import STAGE_TITLES

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "web" / "translations"
FRENCH = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
# A printf conversion: %(name)s, %d, %%, ... (Jinja formats every message with %).
CONVERSION = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]")


# --- the catalogue ----------------------------------------------------------


def extract_arguments(output: Path) -> list[str]:
    """``pybabel extract``'s arguments as the Makefile's ``translations`` target gives them."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    line = next(line for line in makefile.splitlines() if "pybabel extract" in line)
    words = shlex.split(line)
    arguments = words[words.index("extract") :]
    arguments[arguments.index("-o") + 1] = str(output)
    return arguments


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    template = tmp_path_factory.mktemp("extraction") / "messages.pot"
    with contextlib.chdir(ROOT):  # babel.cfg's patterns and the input "." are relative
        CommandLineInterface().run(["pybabel", "--quiet", *extract_arguments(template)])
    with template.open("rb") as file:
        return read_po(file)


@pytest.fixture(scope="module")
def french() -> Catalog:
    with FRENCH.open("rb") as file:
        return read_po(file, locale="fr")


def messages(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def forms(strings: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if strings is None:
        return []
    return [strings] if isinstance(strings, str) else list(strings)


def conversions(text: str) -> list[str]:
    return sorted(CONVERSION.findall(text))


def test_there_is_a_catalogue_for_each_language_but_english() -> None:
    catalogues = {path.parents[1].name for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")}
    assert catalogues == set(LANGUAGES) - {DEFAULT_LANGUAGE}


def test_extraction_finds_the_stage_and_role_titles(extracted: Catalog) -> None:
    """workflows/ marks them with N_; web translates them when it shows them."""
    found = {message.id for message in messages(extracted)}
    titles = set(STAGE_TITLES.values()) | {role.name for role in ROLES}
    assert titles - found == set()


def test_every_string_of_the_sources_has_its_french(extracted: Catalog, french: Catalog) -> None:
    untranslated = []
    for message in messages(extracted):
        entry = french.get(message.id, message.context)
        done = (
            entry is not None
            and entry.id == message.id  # a string that became plural needs its plural forms
            and "fuzzy" not in entry.flags
            and len(forms(entry.string)) == (french.num_plurals if entry.pluralizable else 1)
            and all(form.strip() for form in forms(entry.string))
        )
        if not done:
            untranslated.append(message.id)
    assert untranslated == [], (
        "run `make translations`, then translate these in "
        f"web/translations/fr/LC_MESSAGES/messages.po: {untranslated}"
    )


def test_french_keeps_every_placeholder(french: Catalog) -> None:
    wrong = []
    for message in messages(french):
        originals = forms(message.id)
        translations = forms(message.string)
        if message.pluralizable:
            # French uses its singular for 0 and 1, so every form keeps the plural's placeholders.
            expected = [conversions(originals[-1])] * len(translations)
        else:
            expected = [conversions(originals[0])]
        if [conversions(text) for text in translations] != expected:
            wrong.append(message.id)
        if any("%" in CONVERSION.sub("", text) for text in translations):
            wrong.append(message.id)  # a lone % breaks the page: Jinja formats every message
    assert wrong == []


# --- the pages --------------------------------------------------------------


@pytest.fixture(scope="session")
def compiled_catalogues() -> None:
    """The .mo files the Makefile builds, for a pytest run without make: same path, same rule."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as file:
            catalog = read_po(file, locale=po.parents[1].name)
        partial = mo.with_name(f"messages.{os.getpid()}.mo.tmp")
        with partial.open("wb") as file:
            write_mo(file, catalog, use_fuzzy=True)  # as the Makefile's pybabel compile --use-fuzzy
        partial.replace(mo)  # never a half-written catalogue for a parallel run to read


@pytest.fixture
def web(app: Flask, compiled_catalogues: None) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def case(web: Flask) -> CaseView:
    runtime: Runtime = web.extensions["nrmflow.runtime"]
    start = {"first_responder_type": "police", "first_contact_date": "2026-03-02"}
    return runtime.start("nrm_case", start, "demo.police")


def page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_a_person_works_in_french_and_switches_back_to_english(
    web: Flask, sign_in: SignIn, case: CaseView
) -> None:
    (screening,) = [w for w in case.work_items if w.task_name == "screen_indicators"]
    police = sign_in(web.test_client(), "demo.police")
    assert police.post("/language", data={"language": "fr"}).status_code == 302

    inbox = page(police, "/inbox")
    assert '<html lang="fr">' in inbox
    for french in ("Boîte de réception", "Se déconnecter", "Tous mes rôles", "Échéance"):
        assert french in inbox
    assert "1 tâche correspondante" in inbox  # a plural form
    assert role_title_in_french("first_responder") in inbox  # a role, translated where shown
    assert "Sign out" not in inbox and "All my roles" not in inbox

    task = page(police, f"/work-items/{screening.id}")
    assert '<html lang="fr">' in task
    for french in ("Dossier", "Étape", "Les champs marqués d'un * sont obligatoires.", "Terminer"):
        assert french in task
    assert "Enregistrer le brouillon" in task and "Save draft" not in task

    case_page = page(police, f"/cases/{case.id}")
    for french in ("Étape en cours", "Historique", "Dossier ouvert"):  # "Case started"
        assert french in case_page
    assert f"Dossier {case.business_key}" in case_page

    assert police.post("/language", data={"language": "en"}).status_code == 302
    inbox = page(police, "/inbox")
    assert '<html lang="en">' in inbox
    assert "Inbox" in inbox and "Sign out" in inbox and "1 matching task" in inbox
    assert "Boîte de réception" not in inbox
    task = page(police, f"/work-items/{screening.id}")
    assert "Save draft" in task and "Enregistrer le brouillon" not in task


def test_before_sign_in_the_browser_language_decides(web: Flask) -> None:
    client = web.test_client()
    french_browser = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
    response = client.get("/inbox", headers=french_browser, follow_redirects=True)
    sign_in_page = html.unescape(response.get_data(as_text=True))
    assert '<html lang="fr">' in sign_in_page
    assert "Veuillez vous connecter pour voir cette page." in sign_in_page  # Flask-Login's, via N_
    assert "Nom d'utilisateur" in sign_in_page and "Mot de passe" in sign_in_page
    english = html.unescape(client.get("/sign-in").get_data(as_text=True))
    assert '<html lang="en">' in english and "User name" in english


def role_title_in_french(role: str) -> str:
    return {
        "first_responder": "Premier intervenant (police, garde-frontière, inspection du travail, "
        "équipe de proximité d'une ONG, travailleur social)",
        "competent_authority": "Autorité compétente (motifs raisonnables et motifs concluants)",
    }[role]


@pytest.fixture
def in_french(web: Flask) -> Iterator[None]:
    with web.test_request_context(headers={"Accept-Language": "fr"}):
        yield


@pytest.mark.usefixtures("in_french")
def test_stage_and_role_titles_are_translated_when_shown() -> None:
    assert stage_title("nrm_risk_assessment") == "Évaluation des risques"
    assert stage_title("nrm_case") == "Dossier"
    assert role_title("competent_authority") == role_title_in_french("competent_authority")
    assert role_title("guardian") == "Tuteur d'un enfant (art. 10, par. 4)"
    # Unknown or missing keys show as they are, never as the catalogue's header (gettext("")).
    assert stage_title("some_new_process") == "some_new_process"
    assert stage_title(None) == role_title(None) == ""
