"""BPMN messages across the deployment's edge: the outbox and inbound delivery.

A message a case throws that nothing inside the case catches is for a
partner (a consulate, an origin-country contact point): it is written to
the outbox in the step's own transaction. An inbound message is delivered
to a case by its reference, the correlation the partner received with the
outbound one.
"""

from __future__ import annotations

import json
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
) -> list[audit.PendingEvent]:
    """Put thrown messages in the outbox; the audit notes the message name, never its content."""
    events = []
    for event in thrown:
        definition = event.event_definition
        if not isinstance(definition, BaseMessageEventDefinition):
            continue  # an uncaught signal or escalation has no partner to go to
        session.add(
            OutboundMessage(
                instance_id=instance.id,
                message_name=definition.name,
                correlation=instance.business_key,
                payload=json.dumps(event.payload or {}, sort_keys=True, default=str),
                created_at=now,
            )
        )
        events.append(
            audit.PendingEvent(
                actor,
                "message_sent",
                instance.id,
                None,
                instance.model_version_id,
                {"message": definition.name},
            )
        )
    return events
