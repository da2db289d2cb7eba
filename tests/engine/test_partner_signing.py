"""Signed partner messages: only an exact, fresh body signed with a known partner's key passes."""

from __future__ import annotations

import pytest

from engine.partners import Partner, PartnerDirectory
from engine.signing import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureExpired,
    SignatureInvalid,
    SignatureMissing,
    UnknownPartnerKey,
    sign,
    verify,
)

NOW = 1_780_000_000.0
ORIGIN = Partner("origin", "http://127.0.0.1:8001", "dest-to-origin-2026", b"s" * 40)
DIRECTORY = PartnerDirectory({"origin": ORIGIN})
BODY = b'{"id":"x","name":"reintegration_referral"}'


def test_a_body_signed_with_the_shared_secret_verifies_as_its_partner() -> None:
    headers = sign(ORIGIN, BODY, NOW)
    assert headers[KEY_HEADER] == "dest-to-origin-2026"
    assert headers[TIMESTAMP_HEADER] == str(int(NOW))
    assert headers[SIGNATURE_HEADER].startswith("sha256=")
    assert verify(headers, BODY, DIRECTORY, NOW) is ORIGIN


def test_header_names_are_case_insensitive() -> None:
    headers = {name.lower(): value for name, value in sign(ORIGIN, BODY, NOW).items()}
    assert verify(headers, BODY, DIRECTORY, NOW) is ORIGIN


def test_a_changed_body_is_rejected() -> None:
    headers = sign(ORIGIN, BODY, NOW)
    with pytest.raises(SignatureInvalid):
        verify(headers, BODY.replace(b"x", b"y"), DIRECTORY, NOW)


def test_a_changed_timestamp_is_rejected_because_the_signature_covers_it() -> None:
    headers = sign(ORIGIN, BODY, NOW) | {TIMESTAMP_HEADER: str(int(NOW) + 1)}
    with pytest.raises(SignatureInvalid):
        verify(headers, BODY, DIRECTORY, NOW)


def test_a_body_signed_with_another_secret_is_rejected() -> None:
    impostor = Partner("origin", ORIGIN.url, ORIGIN.key_id, b"t" * 40)
    with pytest.raises(SignatureInvalid):
        verify(sign(impostor, BODY, NOW), BODY, DIRECTORY, NOW)


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_a_timestamp_outside_five_minutes_is_rejected(offset: int) -> None:
    headers = sign(ORIGIN, BODY, NOW + offset)
    with pytest.raises(SignatureExpired):
        verify(headers, BODY, DIRECTORY, NOW)


@pytest.mark.parametrize("offset", [-300, 300])
def test_a_timestamp_at_the_edge_of_the_window_passes(offset: int) -> None:
    assert verify(sign(ORIGIN, BODY, NOW + offset), BODY, DIRECTORY, NOW) is ORIGIN


@pytest.mark.parametrize("missing", [KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_each_header_is_required(missing: str) -> None:
    headers = sign(ORIGIN, BODY, NOW)
    del headers[missing]
    with pytest.raises(SignatureMissing):
        verify(headers, BODY, DIRECTORY, NOW)


def test_an_unknown_key_id_is_rejected_before_anything_else() -> None:
    stranger = Partner("stranger", ORIGIN.url, "someone-else", ORIGIN.secret)
    with pytest.raises(UnknownPartnerKey):
        verify(sign(stranger, BODY, NOW), BODY, DIRECTORY, NOW)
    with pytest.raises(UnknownPartnerKey):
        verify(sign(ORIGIN, BODY, NOW), BODY, PartnerDirectory(), NOW)


FULL_WIDTH_DIGITS = "\uff11\uff17\uff18\uff10"  # str.isdigit() says yes


@pytest.mark.parametrize("timestamp", ["1780000000.5", "-1780000000", "soon", FULL_WIDTH_DIGITS])
def test_a_timestamp_must_be_whole_seconds(timestamp: str) -> None:
    headers = sign(ORIGIN, BODY, NOW) | {TIMESTAMP_HEADER: timestamp}
    with pytest.raises(SignatureInvalid, match="whole seconds"):
        verify(headers, BODY, DIRECTORY, NOW)
