"""HMAC-SHA256 signatures on messages between partner deployments.

The signature covers the timestamp and the exact body bytes, so neither can
be changed in transit, and a captured request stops being accepted once it
is older than the replay window (the receiver's id deduplication covers
replays inside it). Freshness is judged on the wall clock, never on a
deployment's clock: a training deployment may have moved its clock ahead.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from engine.errors import EngineError
from engine.partners import Partner, PartnerDirectory

KEY_HEADER = "X-Nrmflow-Key"
TIMESTAMP_HEADER = "X-Nrmflow-Timestamp"
SIGNATURE_HEADER = "X-Nrmflow-Signature"
SCHEME = "sha256="
REPLAY_WINDOW_SECONDS = 300


class SignatureRejected(EngineError):
    """Base of every reason a partner message is refused before it is read."""


class SignatureMissing(SignatureRejected):
    pass


class UnknownPartnerKey(SignatureRejected):
    pass


class SignatureInvalid(SignatureRejected):
    pass


class SignatureExpired(SignatureRejected):
    """Authentic but outside the replay window: a replay, or the two clocks disagree."""


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return SCHEME + digest.hexdigest()


def sign(partner: Partner, body: bytes, now: float) -> dict[str, str]:
    """The headers that authenticate ``body`` to ``partner`` as of wall-clock time ``now``."""
    timestamp = str(int(now))
    return {
        KEY_HEADER: partner.key_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(partner.secret, timestamp, body),
    }


def verify(
    headers: Mapping[str, str], body: bytes, directory: PartnerDirectory, now: float
) -> Partner:
    """The partner that signed ``body``, or a :class:`SignatureRejected` saying why not."""
    found = {name.lower(): value for name, value in headers.items()}
    key_id = found.get(KEY_HEADER.lower(), "")
    timestamp = found.get(TIMESTAMP_HEADER.lower(), "")
    claimed = found.get(SIGNATURE_HEADER.lower(), "")
    if not (key_id and timestamp and claimed):
        raise SignatureMissing(
            f"send {KEY_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers"
        )
    partner = directory.by_key_id(key_id)
    if partner is None:
        raise UnknownPartnerKey("the key id is not one of this deployment's partners")
    if not timestamp.isascii() or not timestamp.isdigit():
        raise SignatureInvalid(f"{TIMESTAMP_HEADER} must be whole seconds since the epoch")
    if not hmac.compare_digest(
        claimed.encode(), signature(partner.secret, timestamp, body).encode()
    ):
        raise SignatureInvalid("the signature does not match the body and timestamp")
    if abs(now - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        raise SignatureExpired(
            f"the timestamp is more than {REPLAY_WINDOW_SECONDS} seconds from this server's time"
        )
    return partner
