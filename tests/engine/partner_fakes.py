"""A partner deployment for engine tests: its directory entry, and a sender that fails on cue."""

from __future__ import annotations

from collections.abc import Mapping

from engine.outbox import DeliveryFailed
from engine.partners import Partner, PartnerDirectory

ORIGIN = Partner(
    "origin", "http://127.0.0.1:9", "origin-key", b"o" * 32, frozenset({"partner_request"})
)
DIRECTORY = PartnerDirectory({"origin": ORIGIN})
WALL_TIME = 1_780_000_000.0


class FakePartner:
    """Records what was sent; fails with the queued reasons first, then takes messages."""

    def __init__(self, *failures: str):
        self.failures = list(failures)
        self.sent: list[tuple[str, bytes, Mapping[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> None:
        self.sent.append((url, body, headers))
        if self.failures:
            raise DeliveryFailed(self.failures.pop(0))
