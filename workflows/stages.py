"""The NRM's stages as people name them: a work item's stage is the process it belongs to."""

from __future__ import annotations


def N_(text: str) -> str:
    """Marks a title for translation; web translates it when shown."""
    return text


STAGE_TITLES: dict[str, str] = {
    "nrm_case": N_("Case"),
    "nrm_identification": N_("Identification"),
    "nrm_protection": N_("Protection"),
    "nrm_referral_decision": N_("Referral decision"),
    "nrm_assistance": N_("Immediate assistance"),
    "nrm_risk_assessment": N_("Risk assessment"),
    "nrm_child_path": N_("Child protection"),
    "nrm_proceedings": N_("Criminal and civil proceedings"),
    "nrm_return": N_("Return"),
    "nrm_return_reception": N_("Reception after return"),
    "nrm_integration": N_("Integration"),
    "nrm_closure": N_("Closure"),
    "completed": N_("Closed"),
    "waiting": N_("Waiting"),
    "running": N_("Open"),
}


def stage_title(stage: str | None) -> str:
    return STAGE_TITLES.get(stage or "", stage or "")
