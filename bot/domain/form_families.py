"""What the CSV export holds of each form family (the forms that answer check-ins): one
entry per family, checked at import to cover every family.

The forms themselves (their callback id, listener, who may submit, how they open from a
prompt) are specs in `handlers/form_specs.py`; whether a kind's check-ins count in the on-time
rate is the kind's (`checkin_kinds.KindSpec.counts_on_time`). This is the rest of a family's
domain half: the files of the export that hold its answers, and the function that writes them
(`tests/test_export.py` checks the export holds exactly those).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.domain import feedback_export, question_export, risk_review_export
from bot.domain.checkin_kinds import FormFamily
from bot.domain.export_files import ExportFile, ExportScope
from bot.domain.updates import export as update_export


@dataclass(frozen=True)
class FamilyFacts:
    family: FormFamily
    exported_as: tuple[str, ...]  # the export's CSV files that hold its answers
    export: Callable[[ExportScope], tuple[ExportFile, ...]]  # writes those files


FAMILIES: dict[FormFamily, FamilyFacts] = {
    FormFamily.UPDATE: FamilyFacts(
        FormFamily.UPDATE, ("updates.csv", "kpi_values.csv"), update_export.export_files
    ),
    FormFamily.FEEDBACK: FamilyFacts(
        FormFamily.FEEDBACK,
        ("feedback.csv", "feedback_comments.csv"),
        feedback_export.export_files,
    ),
    FormFamily.RISK_REVIEW: FamilyFacts(
        FormFamily.RISK_REVIEW, ("risk_reviews.csv",), risk_review_export.export_files
    ),
}
if set(FAMILIES) != set(FormFamily):
    raise RuntimeError(f"form families without facts: {set(FormFamily) - set(FAMILIES)}")


# The custom questions' answers of every family, in one file (`question_export`): a question
# asks the same thing whichever form carries it, so its answers are read side by side.
QUESTION_FILES: tuple[str, ...] = (question_export.ANSWERS_FILE,)


def export_questions(scope: ExportScope) -> tuple[ExportFile, ...]:
    """Writes QUESTION_FILES."""
    return question_export.export_files(scope)


def exported_files() -> tuple[str, ...]:
    """Every file the export holds answers in, family by family, then the custom questions'."""
    return (
        *(name for facts in FAMILIES.values() for name in facts.exported_as),
        *QUESTION_FILES,
    )
