"""An engagement's record as CSV files in one zip: status updates, their KPI figures, feedback
(anonymity kept: no answerer for an anonymous answer), concerns with their history, and the
audit log, within a date range.

Read with a fixed number of queries; written with the csv module. Dates are the engagement's
own days: `start` and `end` are both included.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, or_, select

from bot.domain.errors import UserError
from storage.models import (
    AuditEvent,
    Cadence,
    Concern,
    ConcernEvent,
    Engagement,
    Feedback,
    KpiDefinition,
    KpiValue,
    StatusUpdate,
)

MAX_RANGE_DAYS = 366 * 5


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
        return all(f.rows == 0 for f in self.files if f.name != "audit.csv")

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


def _csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def build(
    *, session: Session, team_id: str, engagement_id: int, start: date | None, end: date | None
) -> Export:
    """The engagement's record between `start` and `end` (its own days, both included)."""
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
    feedback = session.exec(
        select(Feedback)
        .where(Feedback.engagement_id == engagement_id)
        .where(*within(col(Feedback.submitted_at)))
        .order_by(col(Feedback.submitted_at), col(Feedback.id))
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
                ["update_id", "kpi", "unit", "value", "target", "higher_is_better", "met_target"],
                [[v.update_id, k.name, k.unit, v.value, k.target, k.higher_is_better,
                  v.met_target] for v, k in kpi_rows],
            ),
        ),
        ExportFile(
            "feedback.csv",
            len(feedback),
            _csv(
                ["submitted_at", "answerer", "anonymous", "communication", "quality",
                 "timeliness", "overall", "comment"],
                [[_when(f.submitted_at), "" if f.anonymous else f.author_user_id, f.anonymous,
                  f.communication, f.quality, f.timeliness, f.overall, f.comment]
                 for f in feedback],
            ),
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
    )  # fmt: skip
    return Export(engagement, start, end, files)
