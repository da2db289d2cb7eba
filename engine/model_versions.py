"""Lookups over deployed model versions: listing, one version's files, the newest, forms."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from engine.bundle import Bundle, unpack_files
from engine.clock import as_utc
from engine.db import Database
from engine.errors import ModelNotFound
from engine.models import ProcessInstance, ProcessModelVersion


def newest_versions() -> Select[tuple[ProcessModelVersion]]:
    """The newest version of every key, as a query the caller orders and narrows."""
    newest = (
        select(ProcessModelVersion.key, func.max(ProcessModelVersion.version).label("version"))
        .group_by(ProcessModelVersion.key)
        .subquery()
    )
    return select(ProcessModelVersion).join(
        newest,
        (ProcessModelVersion.key == newest.c.key)
        & (ProcessModelVersion.version == newest.c.version),
    )


def latest_version(session: Session, key: str) -> ProcessModelVersion | None:
    newest = select(func.max(ProcessModelVersion.version)).where(ProcessModelVersion.key == key)
    return session.scalars(
        select(ProcessModelVersion).where(
            ProcessModelVersion.key == key, ProcessModelVersion.version == newest.scalar_subquery()
        )
    ).one_or_none()


class FormSchemas:
    """Form schemas by (model version, reference); versions are immutable, so cached for good."""

    def __init__(self) -> None:
        self._schemas: dict[tuple[int, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(
        self, session: Session, model_version_id: int, reference: str | None
    ) -> dict[str, Any] | None:
        if reference is None:
            return None
        key = (model_version_id, reference)
        found = self._schemas.get(key)
        if found is None:
            packed = session.scalar(
                select(ProcessModelVersion.source_files).where(
                    ProcessModelVersion.id == model_version_id
                )
            )
            bundle = Bundle(unpack_files(packed or b""))
            path = bundle.find_form(reference)
            if path is None:  # validated at deploy, so only a damaged row gets here
                raise LookupError(
                    f"form '{reference}' missing from model version {model_version_id}"
                )
            found = json.loads(bundle.files[path])
            with self._lock:
                self._schemas[key] = found
        return found


def list_models(db: Database) -> list[dict[str, Any]]:
    counts = (
        select(ProcessInstance.model_version_id, func.count().label("n"))
        .group_by(ProcessInstance.model_version_id)
        .subquery()
    )
    query = (
        select(ProcessModelVersion, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.model_version_id == ProcessModelVersion.id)
        .order_by(ProcessModelVersion.key, ProcessModelVersion.version)
    )
    with db.reader() as session:
        return [
            {
                "key": v.key,
                "version": v.version,
                "name": v.name,
                "content_hash": v.content_hash,
                "deployed_by": v.deployed_by,
                "deployed_at": as_utc(v.deployed_at).isoformat(),
                "instances": n,
            }
            for v, n in session.execute(query)
        ]


@dataclass(frozen=True)
class VersionFiles:
    """One deployed version with its source files, for the pages that show or compare it."""

    id: int
    key: str
    version: int
    name: str
    content_hash: str
    deployed_by: str
    deployed_at: datetime
    files: dict[str, bytes]


def version_files(db: Database, key: str, number: int) -> VersionFiles:
    with db.reader() as session:
        row = session.scalar(select(ProcessModelVersion).filter_by(key=key, version=number))
        if row is None:
            raise ModelNotFound(f"no version {number} of '{key}' is deployed")
        return VersionFiles(
            row.id,
            row.key,
            row.version,
            row.name,
            row.content_hash,
            row.deployed_by,
            as_utc(row.deployed_at),
            unpack_files(row.source_files),
        )
