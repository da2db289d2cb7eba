"""Which roles may deliver which BPMN message into a case.

A message moves a case on as surely as a completed task, so it is
authorised like one: staff record a consent withdrawal; only the partner
gateway (consulates, origin-country contact points) delivers their replies,
and only a partner deployment (authorised as the partner gateway) refers a
returning person to this country's reception (``nrm_return_reception``).
"""

from __future__ import annotations

INBOUND_MESSAGES: dict[str, frozenset[str]] = {
    "consent_withdrawn": frozenset({"support_provider", "first_responder", "legal_aid"}),
    "travel_documents_issued": frozenset({"partner_gateway"}),
    "reception_confirmed": frozenset({"partner_gateway"}),
    "arrival_confirmed": frozenset({"partner_gateway"}),
    "reintegration_referral": frozenset({"partner_gateway"}),
}


def may_deliver(message: str, roles: set[str]) -> bool:
    return bool(INBOUND_MESSAGES.get(message, frozenset()) & roles)
