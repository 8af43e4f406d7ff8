"""A figure against its target, the one rule for KPIs and for number questions: met, within
the amber tolerance, or missed, in the direction that is better.

Its own module (not `updates.evidence`, where KPIs are read) so that custom questions, which
the update form asks, can judge their figures without importing the update package.
"""

from __future__ import annotations

from enum import StrEnum


class KpiOutcome(StrEnum):
    MET = "met"
    WITHIN = "within"  # short of the target, but within its amber tolerance
    MISSED = "missed"


def kpi_outcome(
    value: float, target: float, higher_is_better: bool, tolerance: float | None = None
) -> KpiOutcome:
    """How a reported figure stands against its target in the KPI's direction: met (reaching
    the target exactly counts), within the amber tolerance (reaching it exactly counts), or
    missed. A tolerance on the wrong side of the target never applies (the parser refuses one)."""
    sign = 1.0 if higher_is_better else -1.0
    if sign * value >= sign * target:
        return KpiOutcome.MET
    if tolerance is not None and sign * value >= sign * tolerance:
        return KpiOutcome.WITHIN
    return KpiOutcome.MISSED
