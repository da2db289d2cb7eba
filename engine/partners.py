"""The partner directory: which other deployments this one exchanges messages with.

A partner is another nrmflow deployment (the origin country's contact point,
the destination country's NRM) reached at a base URL and sharing one secret
with this deployment, named by a key id both sides know. The directory is a
JSON file named by ``NRMFLOW_PARTNERS_FILE``; it is checked strictly when it
is read, because a typo there would otherwise surface as a message silently
going nowhere, or to the wrong country. No file means no partners.

The secret never appears in an error, a repr or a listing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from engine.errors import EngineError

MIN_SECRET_LENGTH = 32
DEFAULT_ROLES = ("partner_gateway",)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_PARTNER_KEYS = {"url", "key_id", "secret", "secret_env", "messages", "roles"}


class PartnerDirectoryInvalid(EngineError):
    """The partners file is unreadable or breaks a rule; every problem is listed."""

    def __init__(self, path: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


@dataclass(frozen=True)
class Partner:
    name: str
    url: str
    key_id: str
    secret: bytes = field(repr=False)
    # messages this deployment sends to the partner when a case of its own throws them
    messages: frozenset[str] = frozenset()
    # what a message from the partner is authorised as (Hooks.may_deliver)
    roles: frozenset[str] = frozenset(DEFAULT_ROLES)

    @property
    def inbox_url(self) -> str:
        return f"{self.url}/api/v1/partner-messages"


@dataclass(frozen=True)
class PartnerDirectory:
    partners: Mapping[str, Partner] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Partner]:
        return iter(self.partners[name] for name in sorted(self.partners))

    def __len__(self) -> int:
        return len(self.partners)

    def named(self, name: str) -> Partner | None:
        return self.partners.get(name)

    def by_key_id(self, key_id: str) -> Partner | None:
        return next((p for p in self.partners.values() if p.key_id == key_id), None)

    def for_message(self, message: str) -> Partner | None:
        """The partner a case of this deployment sends ``message`` to, if one is configured."""
        return next((p for p in self.partners.values() if message in p.messages), None)


NO_PARTNERS = PartnerDirectory()


def load_partner_directory(
    path: str | None, environ: Mapping[str, str] | None = None
) -> PartnerDirectory:
    """Read and check the partners file; ``environ`` supplies ``secret_env`` secrets."""
    if path is None:
        return NO_PARTNERS
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise PartnerDirectoryInvalid(path, [f"cannot be read ({error.strerror})"]) from None
    except ValueError as error:
        raise PartnerDirectoryInvalid(path, [f"is not JSON ({error})"]) from None
    return parse_partner_directory(document, path, os.environ if environ is None else environ)


def parse_partner_directory(
    document: Any, path: str, environ: Mapping[str, str]
) -> PartnerDirectory:
    problems: list[str] = []
    if not isinstance(document, dict) or not isinstance(document.get("partners"), dict):
        raise PartnerDirectoryInvalid(path, ['must be an object {"partners": {...}}'])
    problems += [f"unknown key '{key}'" for key in sorted(set(document) - {"partners"})]
    partners: dict[str, Partner] = {}
    for name, entry in document["partners"].items():
        partner = _partner(name, entry, environ, problems)
        if partner is not None:
            partners[name] = partner
    problems += _clashes(partners)
    if problems:
        raise PartnerDirectoryInvalid(path, problems)
    return PartnerDirectory(partners)


def _partner(
    name: str, entry: Any, environ: Mapping[str, str], problems: list[str]
) -> Partner | None:
    where = f"partner '{name}'"
    if not _NAME.match(name):
        problems.append(f"{where}: a name is lower-case letters, digits, '.', '_' or '-'")
        return None
    if not isinstance(entry, dict):
        problems.append(f"{where}: must be an object")
        return None
    found = len(problems)
    problems += [f"{where}: unknown key '{key}'" for key in sorted(set(entry) - _PARTNER_KEYS)]
    url = _url(entry.get("url"), where, problems)
    key_id = entry.get("key_id")
    if not isinstance(key_id, str) or not _KEY_ID.match(key_id):
        problems.append(f"{where}: key_id must be 1-100 letters, digits, '.', '_' or '-'")
    secret = _secret(entry, environ, where, problems)
    messages = _names(entry.get("messages", []), f"{where}: messages", problems)
    roles = _names(entry.get("roles", list(DEFAULT_ROLES)), f"{where}: roles", problems)
    if "roles" in entry and not roles:
        problems.append(f"{where}: roles must name at least one role")
    if len(problems) > found:
        return None
    return Partner(name, url, key_id, secret, frozenset(messages), frozenset(roles))


def _url(value: Any, where: str, problems: list[str]) -> str:
    """A base URL: scheme and host (and port), nothing a message path could be confused with."""
    if not isinstance(value, str):
        problems.append(f"{where}: url is required")
        return ""
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
        or parts.path not in ("", "/")
    ):
        problems.append(f"{where}: url must be http(s)://host[:port] with no path or credentials")
    return value.rstrip("/")


def _secret(
    entry: dict[str, Any], environ: Mapping[str, str], where: str, problems: list[str]
) -> bytes:
    if ("secret" in entry) == ("secret_env" in entry):
        problems.append(f"{where}: give exactly one of secret and secret_env")
        return b""
    if "secret_env" in entry:
        variable = entry["secret_env"]
        if not isinstance(variable, str) or not environ.get(variable):
            problems.append(f"{where}: secret_env names an unset environment variable")
            return b""
        secret = environ[variable]
    else:
        secret = entry["secret"]
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        problems.append(f"{where}: the secret must be at least {MIN_SECRET_LENGTH} characters")
        return b""
    return secret.encode("utf-8")


def _names(value: Any, where: str, problems: list[str]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{where} must be a list of names")
        return []
    if len(set(value)) != len(value):
        problems.append(f"{where} lists a name twice")
    return list(value)


def _clashes(partners: dict[str, Partner]) -> list[str]:
    """A key id must name one partner and a message go to one partner, or routing guesses."""
    problems = []
    owners: dict[str, str] = {}
    for partner in partners.values():
        if partner.key_id in owners:
            problems.append(
                f"key_id '{partner.key_id}' is used by '{owners[partner.key_id]}' "
                f"and '{partner.name}'"
            )
        owners.setdefault(partner.key_id, partner.name)
    routes: dict[str, str] = {}
    for partner in partners.values():
        for message in sorted(partner.messages):
            if message in routes:
                problems.append(
                    f"message '{message}' is sent to both '{routes[message]}' and '{partner.name}'"
                )
            routes.setdefault(message, partner.name)
    return problems
