"""What each form family (the forms that answer check-ins) means to the figures and the
export: one entry per family, checked at import to cover every family.

The forms themselves (their callback id, listener, who may submit, how they open from a
prompt) are specs in `handlers/form_specs.py`; this is their domain half, which the figures
and the export read without knowing the forms: whether a family's check-ins count in the
on-time rate, and which of the export's files hold its answers (`tests/test_export.py`
checks each is in the export).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.checkin_kinds import CHECKIN_KINDS, CheckInKind, FormFamily


@dataclass(frozen=True)
class FamilyFacts:
    family: FormFamily
    # Its check-ins count in the on-time rate (answers by the window's close, of those asked).
    # Status updates do; a survey or a risk review answered late is no missed commitment.
    counts_on_time: bool
    exported_as: tuple[str, ...]  # the export's CSV files that hold its answers


FAMILIES: dict[FormFamily, FamilyFacts] = {
    FormFamily.UPDATE: FamilyFacts(
        FormFamily.UPDATE, counts_on_time=True, exported_as=("updates.csv", "kpi_values.csv")
    ),
    FormFamily.FEEDBACK: FamilyFacts(
        FormFamily.FEEDBACK,
        counts_on_time=False,
        exported_as=("feedback.csv", "feedback_comments.csv"),
    ),
    FormFamily.RISK_REVIEW: FamilyFacts(
        FormFamily.RISK_REVIEW, counts_on_time=False, exported_as=("risk_reviews.csv",)
    ),
}
if set(FAMILIES) != set(FormFamily):
    raise RuntimeError(f"form families without facts: {set(FormFamily) - set(FAMILIES)}")


def kinds_counted_on_time() -> tuple[CheckInKind, ...]:
    """The check-in kinds whose answers count in the on-time rate."""
    return tuple(
        kind for kind, spec in CHECKIN_KINDS.items() if FAMILIES[spec.answered_with].counts_on_time
    )


def exported_files() -> tuple[str, ...]:
    """Every file the export holds answers in, family by family."""
    return tuple(name for facts in FAMILIES.values() for name in facts.exported_as)
