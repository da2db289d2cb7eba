"""Receiving a partner deployment's message: verified, deduplicated, then one step.

Nothing in a request is trusted before its signature is checked against the
partner directory. Then, in one transaction, the message id is recorded (a
second delivery of the same id changes nothing, so a sender may retry at
will) and the message either moves on a case that is waiting for it or
starts a case of the process whose start event it is. A partner reaches only
the cases that wrote to it, or that it started: a compromised partner must
not be able to poke any other case. Mixed into :class:`engine.runtime.Runtime`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import messages, signing
from engine.case_suspension import refuse_if_suspended
from engine.errors import FieldError, FormInvalid, MessageNotExpected, NotAuthorized
from engine.forms import validate_form_data
from engine.model_versions import newest_versions
from engine.models import OutboundMessage, ProcessInstance, ProcessModelVersion, ReceivedMessage
from engine.partners import Partner

if TYPE_CHECKING:
    from engine.clock import Clock
    from engine.db import Database
    from engine.hooks import Hooks
    from engine.partners import PartnerDirectory
    from engine.specs import SpecCache
    from engine.views import CaseView

MAX_MESSAGE_BYTES = 256 * 1024
MAX_PAYLOAD_DEPTH = 32
_MESSAGE_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": _MESSAGE_ID},
        "name": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.-]{0,199}$"},
        "correlation": {"type": "string", "minLength": 1, "maxLength": 40},
        "payload": {"type": "object"},
    },
    "required": ["id", "name", "correlation", "payload"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class PartnerEnvelope:
    """What travels between deployments: the outbox row's id, name, correlation and payload."""

    id: str
    name: str
    correlation: str
    payload: dict[str, Any]

    def to_json(self) -> bytes:
        return json.dumps(vars(self), sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class PartnerReceipt:
    """``delivered``, ``started`` or ``duplicate``; the case id stays on this side."""

    status: str
    message_id: str
    partner: str
    instance_id: int | None


class PartnerInbox:
    db: Database
    clock: Clock
    hooks: Hooks
    partners: PartnerDirectory
    specs: SpecCache

    def _transaction(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def _open_case(
        self,
        session: Session,
        version: ProcessModelVersion,
        actor: str,
        begin: Callable[[BpmnWorkflow], object],
        noted: dict[str, Any],
        partner: tuple[str, str] | None = None,
    ) -> CaseView:
        raise NotImplementedError

    def _catch(
        self,
        session: Session,
        instance: ProcessInstance,
        message: str,
        payload: dict[str, Any],
        actor: str,
        noted: dict[str, Any] | None = None,
    ) -> CaseView:
        raise NotImplementedError

    def receive_partner_message(
        self, headers: Mapping[str, str], body: bytes, wall_time: float | None = None
    ) -> PartnerReceipt:
        """Verify, then deliver or start once; ``wall_time`` (default: now) judges freshness."""
        now = time.time() if wall_time is None else wall_time
        partner = signing.verify(headers, body, self.partners, now)
        envelope = parse_envelope(body)
        try:
            return self._receive(partner, envelope)
        except IntegrityError:
            # A concurrent delivery of the same id committed first; anything else is re-raised.
            if not self._was_received(partner, envelope.id):
                raise
            return PartnerReceipt("duplicate", envelope.id, partner.name, None)

    def _receive(self, partner: Partner, envelope: PartnerEnvelope) -> PartnerReceipt:
        actor = f"partner:{partner.name}"
        noted = {"message_id": envelope.id}
        with self._transaction() as session:
            if _received(session, partner, envelope.id):
                return PartnerReceipt("duplicate", envelope.id, partner.name, None)
            if not self.hooks.may_deliver(envelope.name, set(partner.roles)):
                raise NotAuthorized(f"partner '{partner.name}' may not deliver '{envelope.name}'")
            received = ReceivedMessage(
                partner=partner.name,
                message_id=envelope.id,
                message_name=envelope.name,
                received_at=self.clock.now(),
            )
            session.add(received)
            session.flush()  # a concurrent duplicate waits here, then fails on the unique key
            instance = _conversation_case(session, partner, envelope.correlation)
            if instance is not None and messages.is_waiting_for(session, instance, envelope.name):
                refuse_if_suspended(instance)  # 409: the partner's outbox retries after resume
                self._catch(session, instance, envelope.name, envelope.payload, actor, noted)
                received.instance_id = instance.id
                return PartnerReceipt("delivered", envelope.id, partner.name, instance.id)
            version = self._process_started_by(session, envelope.name)
            if version is None:
                raise MessageNotExpected(
                    f"nothing here is waiting for '{envelope.name}' from partner '{partner.name}'"
                )
            event = messages.inbound_event(envelope.name, envelope.payload)

            def begin(workflow: BpmnWorkflow) -> None:
                workflow.do_engine_steps()  # up to the waiting message start event
                workflow.catch(event)

            reference = (partner.name, envelope.correlation)
            started = {"message": envelope.name, "fields": sorted(envelope.payload), **noted}
            case = self._open_case(session, version, actor, begin, started, reference)
            received.instance_id = case.id
            return PartnerReceipt("started", envelope.id, partner.name, case.id)

    def _was_received(self, partner: Partner, message_id: str) -> bool:
        with self.db.reader() as session:
            return _received(session, partner, message_id)

    def _process_started_by(self, session: Session, message: str) -> ProcessModelVersion | None:
        """The newest version of the first process (by key) that a ``message`` starts."""
        for version in session.scalars(newest_versions().order_by(ProcessModelVersion.key)):
            spec, _subprocess_specs = self.specs.get(version.id, lambda v=version: v.spec)
            if any(_starts_on(task_spec, message) for task_spec in spec.task_specs.values()):
                return version
        return None


def parse_envelope(body: bytes) -> PartnerEnvelope:
    """The message as a bounded JSON object; errors name the field, never the value."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise FormInvalid([FieldError("", f"the message exceeds {MAX_MESSAGE_BYTES} bytes")])
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise FormInvalid([FieldError("", "the message is not JSON")]) from None
    validate_form_data(ENVELOPE_SCHEMA, data)
    if _depth(data["payload"]) > MAX_PAYLOAD_DEPTH:
        raise FormInvalid([FieldError("payload", "is nested too deeply")])
    return PartnerEnvelope(data["id"], data["name"], data["correlation"], data["payload"])


def _depth(value: Any) -> int:
    """Nesting depth without recursion, so a hostile payload cannot exhaust the stack."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_PAYLOAD_DEPTH:
            break
        if isinstance(current, dict):
            stack.extend((child, depth + 1) for child in current.values())
        elif isinstance(current, list):
            stack.extend((child, depth + 1) for child in current)
    return deepest


def _received(session: Session, partner: Partner, message_id: str) -> bool:
    query = select(ReceivedMessage.id).where(
        ReceivedMessage.partner == partner.name, ReceivedMessage.message_id == message_id
    )
    return session.scalar(query.limit(1)) is not None


def _conversation_case(
    session: Session, partner: Partner, correlation: str
) -> ProcessInstance | None:
    """Our case that wrote to ``partner`` as ``correlation``, or the one it started under it."""
    wrote_to_partner = exists().where(
        OutboundMessage.instance_id == ProcessInstance.id, OutboundMessage.partner == partner.name
    )
    ours = select(ProcessInstance).where(
        ProcessInstance.business_key == correlation, wrote_to_partner
    )
    theirs = select(ProcessInstance).where(
        ProcessInstance.partner == partner.name, ProcessInstance.partner_reference == correlation
    )
    return (
        session.scalars(ours).one_or_none()
        or session.scalars(theirs.order_by(ProcessInstance.id.desc()).limit(1)).one_or_none()
    )


def _starts_on(task_spec: object, message: str) -> bool:
    definition = getattr(task_spec, "event_definition", None)
    return (
        isinstance(task_spec, StartEvent)
        and isinstance(definition, MessageEventDefinition)
        and definition.name == message
    )
