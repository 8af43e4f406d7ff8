"""Feedback's part of the CSV export, without one answer in it: `feedback.csv` (per batch:
a survey's answers in its window, or a month's ad hoc and late answers, its number of answers
and, from three answers up, its averages) and `feedback_comments.csv` (named comments with
their author, anonymous ones with none, in the order of their words, without a time)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.domain import feedback_results
from bot.domain.export_files import (
    ExportFile,
    ExportScope,
    at,
    at_columns,
    rounded,
    who,
    who_columns,
    write_csv,
)
from storage.models import CheckIn, Feedback

FEEDBACK_HEADER = [
    "group", *at_columns("group_start"), "answers", "communication", "quality", "timeliness", "overall",
    "scores",
]  # fmt: skip


def _feedback(
    session: Session,
    *,
    engagement_id: int,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
    tz: str = "UTC",
) -> tuple[list[list[object]], list[list[object]]]:
    """The feedback of the range without one answer in it: per batch (a survey's answers in
    its window, or a month's ad hoc and late answers; `feedback_results.Batch`) its number of
    answers and average ratings, these only from MIN_ANSWERS answers up; and the comments,
    named ones with their author, anonymous ones with none and only from batches whose scores
    are shown, in the order of their words (not of their arrival), without a time.

    A batch is in the range when it starts in it, and then whole, and only once it counts
    (its survey closed, its month ended): two exports over different ranges, or a day apart,
    differ by whole batches, never by one person's answer."""
    rows = session.exec(
        select(Feedback, CheckIn.created_at, CheckIn.window_closes_at, CheckIn.occurrence_key)
        .outerjoin(CheckIn, col(CheckIn.id) == col(Feedback.checkin_id))
        .where(Feedback.engagement_id == engagement_id)
    ).all()
    batches: dict[str, tuple[feedback_results.Batch, list[Feedback]]] = {}
    for row, opened, closes, slot in rows:
        batch = feedback_results.batch_of(
            counted=row.submitted_at, checkin_id=row.checkin_id, opened=opened, closes=closes,
            slot=(slot or "").replace("T", " "),
        )  # fmt: skip
        if batch.counts_from > now:
            continue
        if (since is not None and batch.starts < since) or (
            until is not None and batch.starts >= until
        ):
            continue
        batches.setdefault(batch.key, (batch, []))[1].append(row)
    groups: list[list[object]] = []
    comments: list[feedback_results.Comment] = []
    for batch, answers in sorted(batches.values(), key=lambda b: (b[0].starts, b[0].key)):
        results = feedback_results.summarise(
            [feedback_results.Answer(
                ratings={k: getattr(a, k) for k in feedback_results.RATINGS},
                author=None if a.anonymous else a.author_user_id, comment=a.comment,
                anonymous=a.anonymous) for a in answers]
        )  # fmt: skip
        if results.withheld:
            averages: list[object] = [""] * len(feedback_results.RATINGS)
            shown = f"withheld: under {feedback_results.MIN_ANSWERS} answers"
            comments += [
                feedback_results.Comment(a.comment.strip(), a.author_user_id)
                for a in answers
                if not a.anonymous and a.comment.strip()
            ]
        else:
            averages = [rounded(results.averages[k]) for k in feedback_results.RATINGS]
            shown = "shown"
            comments += results.comments
        groups.append([batch.label, *at(batch.starts, tz), results.answers, *averages, shown])
    ordered = feedback_results.ordered_comments(comments)
    return groups, [[c.text, *who(c.author), c.author is None] for c in ordered]


def export_files(scope: ExportScope) -> tuple[ExportFile, ...]:
    feedback_groups, feedback_comments = _feedback(
        scope.session, engagement_id=scope.engagement_id, since=scope.since, until=scope.until,
        now=scope.now, tz=scope.tz,
    )  # fmt: skip
    return (
        ExportFile(
            "feedback.csv",
            sum(int(row[3]) for row in feedback_groups),  # type: ignore[call-overload]
            write_csv(FEEDBACK_HEADER, feedback_groups),
        ),
        ExportFile(
            "feedback_comments.csv",
            len(feedback_comments),
            write_csv(["comment", *who_columns("author"), "anonymous"], feedback_comments),
        ),
    )  # fmt: skip
