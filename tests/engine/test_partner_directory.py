"""The partners file is checked strictly when read, and its secrets never show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.partners import (
    NO_PARTNERS,
    PartnerDirectoryInvalid,
    load_partner_directory,
    parse_partner_directory,
)

SECRET = "a-shared-secret-of-at-least-32-characters"


def _origin(**changes: Any) -> dict[str, Any]:
    entry = {
        "url": "http://127.0.0.1:8001/",
        "key_id": "dest-to-origin-2026",
        "secret": SECRET,
        "messages": ["reintegration_referral"],
    }
    return {**entry, **changes}


def _problems(document: Any, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(PartnerDirectoryInvalid) as invalid:
        parse_partner_directory(document, "partners.json", environ or {})
    assert SECRET not in str(invalid.value)
    return invalid.value.problems


def test_no_file_means_no_partners() -> None:
    assert load_partner_directory(None) is NO_PARTNERS
    assert len(NO_PARTNERS) == 0 and NO_PARTNERS.for_message("reintegration_referral") is None


def test_a_valid_file_names_each_partner_its_messages_and_roles(tmp_path: Path) -> None:
    path = tmp_path / "partners.json"
    consulate = _origin(
        key_id="to-consulate",
        secret_env="CONSULATE_SECRET",
        messages=["travel_document_request"],
        roles=["partner_gateway", "consulate"],
    )
    del consulate["secret"]
    path.write_text(json.dumps({"partners": {"origin": _origin(), "consulate": consulate}}))
    directory = load_partner_directory(str(path), {"CONSULATE_SECRET": "c" * 32})
    origin = directory.named("origin")
    assert origin is not None
    assert origin.url == "http://127.0.0.1:8001"  # the trailing slash is dropped
    assert origin.inbox_url == "http://127.0.0.1:8001/api/v1/partner-messages"
    assert origin.roles == {"partner_gateway"}  # the default
    assert directory.by_key_id("dest-to-origin-2026") is origin
    assert directory.for_message("reintegration_referral") is origin
    consulate_partner = directory.for_message("travel_document_request")
    assert consulate_partner is not None and consulate_partner.secret == b"c" * 32
    assert consulate_partner.roles == {"partner_gateway", "consulate"}
    assert [p.name for p in directory] == ["consulate", "origin"]
    assert SECRET not in repr(origin) and SECRET not in repr(directory)


def test_unknown_keys_are_refused_at_both_levels() -> None:
    problems = _problems({"partners": {"origin": _origin(secrett="x")}, "version": 2})
    assert problems == ["unknown key 'version'", "partner 'origin': unknown key 'secrett'"]


def test_a_short_secret_is_refused_without_showing_it() -> None:
    assert _problems({"partners": {"origin": _origin(secret="short")}}) == [
        "partner 'origin': the secret must be at least 32 characters"
    ]


def test_a_secret_comes_from_exactly_one_place() -> None:
    both = _origin(secret_env="ORIGIN_SECRET")
    neither = _origin()
    del neither["secret"]
    unset = _origin(secret_env="ORIGIN_SECRET")
    del unset["secret"]
    assert _problems({"partners": {"a": both, "b": neither, "c": unset}}) == [
        "partner 'a': give exactly one of secret and secret_env",
        "partner 'b': give exactly one of secret and secret_env",
        "partner 'c': secret_env names an unset environment variable",
    ]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1:8001",
        "127.0.0.1:8001",
        "http://127.0.0.1:8001/api/v1",
        "https://user:pw@origin.example",
        "https://origin.example?x=1",
        "http://",
    ],
)
def test_a_url_is_a_bare_http_base(url: str) -> None:
    assert _problems({"partners": {"origin": _origin(url=url)}}) == [
        "partner 'origin': url must be http(s)://host[:port] with no path or credentials"
    ]


def test_a_key_id_names_one_partner_and_a_message_goes_to_one_partner() -> None:
    document = {
        "partners": {
            "origin": _origin(),
            "consulate": _origin(url="https://consulate.example"),
        }
    }
    assert _problems(document) == [
        "key_id 'dest-to-origin-2026' is used by 'origin' and 'consulate'",
        "message 'reintegration_referral' is sent to both 'origin' and 'consulate'",
    ]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"key_id": "has space"}, "key_id must be"),
        ({"messages": "reintegration_referral"}, "messages must be a list of names"),
        ({"messages": ["a", "a"]}, "messages lists a name twice"),
        ({"roles": []}, "roles must name at least one role"),
    ],
)
def test_each_field_has_its_rule(changes: dict[str, Any], problem: str) -> None:
    (found,) = _problems({"partners": {"origin": _origin(**changes)}})
    assert found.startswith("partner 'origin': ") and problem in found


def test_a_partner_name_and_the_document_shape_are_checked() -> None:
    assert _problems({"partners": {"Origin Country": _origin()}}) == [
        "partner 'Origin Country': a name is lower-case letters, digits, '.', '_' or '-'"
    ]
    assert _problems([]) == ['must be an object {"partners": {...}}']


def test_an_unreadable_or_malformed_file_says_which_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    with pytest.raises(PartnerDirectoryInvalid, match=r"absent\.json: cannot be read"):
        load_partner_directory(str(missing))
    broken = tmp_path / "broken.json"
    broken.write_text("{partners: }")
    with pytest.raises(PartnerDirectoryInvalid, match=r"broken\.json: is not JSON"):
        load_partner_directory(str(broken))
