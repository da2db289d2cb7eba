"""BPMN messages across the deployment's edge: the outbox and inbound delivery.

A message a case throws that nothing inside the case catches is for a
partner (a consulate, an origin-country contact point): it is written to
the outbox in the step's own transaction. An inbound message is delivered
to a case by its reference, the correlation the partner received with the
outbound one.

Which partner an outbound message goes to is decided when it is recorded:
a case a partner started answers that partner, quoting the partner's own
reference; any other case sends a message to the partner the directory
routes its name to. A message no partner takes waits in the outbox for
someone to handle it by hand; it is never sent anywhere automatically.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import (
    MessageEventDefinition as BaseMessageEventDefinition,
)
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.models import MessageSubscription, OutboundMessage, ProcessInstance
from engine.partners import NO_PARTNERS, PartnerDirectory


def inbound_event(message: str, payload: dict[str, Any]) -> BpmnEvent:
    """The event a waiting Spiff message catch recognises (same class and name)."""
    return BpmnEvent(MessageEventDefinition(message), payload)


def is_waiting_for(session: Session, instance: ProcessInstance, message: str) -> bool:
    query = select(MessageSubscription.id).where(
        MessageSubscription.instance_id == instance.id,
        MessageSubscription.message_name == message,
    )
    return session.scalar(query.limit(1)) is not None


def record_outbound(
    session: Session,
    instance: ProcessInstance,
    thrown: Iterable[BpmnEvent],
    actor: str,
    now: datetime,
    partners: PartnerDirectory = NO_PARTNERS,
) -> list[audit.PendingEvent]:
    """Put thrown messages in the outbox; the audit notes the message name, never its content."""
    events = []
    for event in thrown:
        definition = event.event_definition
        if not isinstance(definition, BaseMessageEventDefinition):
            continue  # an uncaught signal or escalation has no partner to go to
        partner, correlation = route(instance, definition.name, partners)
        session.add(
            OutboundMessage(
                instance_id=instance.id,
                message_name=definition.name,
                correlation=correlation,
                payload=json.dumps(event.payload or {}, sort_keys=True, default=str),
                created_at=now,
                message_id=str(uuid.uuid4()),
                partner=partner,
                attempts=0,
            )
        )
        noted = {"message": definition.name} | ({"partner": partner} if partner else {})
        events.append(
            audit.PendingEvent(
                actor, "message_sent", instance.id, None, instance.model_version_id, noted
            )
        )
    return events


def route(
    instance: ProcessInstance, message: str, partners: PartnerDirectory
) -> tuple[str | None, str]:
    """(partner, correlation) of a message ``instance`` throws; no partner: handled by hand."""
    if instance.partner is not None and instance.partner_reference is not None:
        return instance.partner, instance.partner_reference
    configured = partners.for_message(message)
    return (configured.name if configured else None), instance.business_key
