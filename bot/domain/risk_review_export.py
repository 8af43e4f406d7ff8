"""A risk review's part of the CSV export: `risk_reviews.csv`, each review as it was given,
a row per concern it answered."""

from __future__ import annotations

from sqlmodel import col, select

from bot.domain.export_files import (
    ExportFile,
    ExportScope,
    at_columns,
    who,
    who_columns,
    write_csv,
)
from storage.models import RiskReview

RISK_REVIEW_HEADER = ["review_id", *at_columns("submitted_at"), *who_columns("author"), "late",
                      "concern_id", "status_before", "choice", "note",
                      "raised_concern_id"]  # fmt: skip


def _review_rows(review: RiskReview, scope: ExportScope) -> list[list[object]]:
    """A risk review as given: a row per concern it answered (what the author chose for it and
    why), or one row when it answered none (it may only have raised a new one)."""
    head = [review.id, *scope.at(review.submitted_at), *who(review.author), review.late]
    raised = (review.answers or {}).get("raised") or ""
    answered = (review.answers or {}).get("concerns") or []
    if not answered:
        return [[*head, "", "", "", "", raised]]
    return [
        [*head, a.get("concern_id", ""), a.get("status_before", ""), a.get("choice", ""),
         a.get("note", ""), raised]
        for a in answered
    ]  # fmt: skip


def export_files(scope: ExportScope) -> tuple[ExportFile, ...]:
    reviews = scope.session.exec(
        select(RiskReview)
        .where(RiskReview.engagement_id == scope.engagement_id)
        .where(*scope.within(col(RiskReview.submitted_at)))
        .order_by(col(RiskReview.submitted_at), col(RiskReview.id))
    ).all()
    return (
        ExportFile(
            "risk_reviews.csv",
            len(reviews),
            write_csv(RISK_REVIEW_HEADER, [row for r in reviews for row in _review_rows(r, scope)]),
        ),
    )  # fmt: skip
