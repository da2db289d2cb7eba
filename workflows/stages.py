"""The NRM's stages as people name them: a work item's stage is the process it belongs to."""

from __future__ import annotations

STAGE_TITLES: dict[str, str] = {
    "nrm_case": "Case",
    "nrm_identification": "Identification",
    "nrm_protection": "Protection",
    "nrm_referral_decision": "Referral decision",
    "nrm_assistance": "Immediate assistance",
    "nrm_risk_assessment": "Risk assessment",
    "nrm_child_path": "Child protection",
    "nrm_proceedings": "Criminal and civil proceedings",
    "nrm_return": "Return",
    "nrm_integration": "Integration",
    "nrm_closure": "Closure",
    "completed": "Closed",
    "waiting": "Waiting",
    "running": "Open",
}


def stage_title(stage: str | None) -> str:
    return STAGE_TITLES.get(stage or "", stage or "")
