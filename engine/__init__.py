"""Generic BPMN runtime for nrmflow on SpiffWorkflow.

Knows nothing of the National Referral Mechanism: domain knowledge arrives
through the hooks in :mod:`engine.hooks`, registered by ``workflows``.
"""
