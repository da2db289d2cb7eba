"""How long the property tests fuzz: bounded and reproducible in the suite.

The suite runs a fixed, derandomized set of examples, so a red build fails again
on a re-run and on a developer's machine. ``NRMFLOW_FUZZ_SCALE=20`` multiplies the
number of examples and draws fresh random ones: a longer hunt on a workstation,
which prints the failing example's blob for ``@reproduce_failure``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("NRMFLOW_FUZZ_SCALE", "1"))


def fuzz_settings(examples: int, scale: float = SCALE) -> settings:
    """``examples`` at scale 1; deterministic unless a larger scale asks for a hunt."""
    return settings(
        max_examples=max(1, round(examples * scale)),
        deadline=None,  # a deploy takes tens of milliseconds, more on a loaded machine
        derandomize=scale == 1,
        database=None,  # no .hypothesis/ folder in the checkout
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # one database serves every example
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
