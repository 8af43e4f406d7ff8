"""An engagement's record as CSV files in one zip: each form family's answers (status updates
and their KPI figures, feedback without one answer in it, risk reviews: written by the family,
`form_families.FAMILIES`), the custom questions' answers of them all (`answers.csv`,
`question_export`), concerns and deliverables with their history, and the audit log, within a date range; and the figures the views show over that range, read from
`figures` so a number is the same here as in the digest, the health card and the Home tab:
each rolling week's RAG and on-time rate, and the vendor scorecard as of the range's end.
Beside them, the state the range ends in: the assurance register (`assurance.csv`: each
piece of evidence there by the range's end, as it stands now, and whether it counts as valid
on the range's last day) and the contract's dates (`contract.csv`, with the last day to give
notice).

Read with a fixed number of queries; written with the csv module. Dates are the engagement's
own days: `start` and `end` are both included. KPI figures are as the update's latest revision
recorded them, with the target, tolerance and direction in force then (not the KPI's current
target). Weeks are the figures' rolling UTC weeks ending at the range's end (or at the export's
moment, whichever is earlier).

Written for people to read (`export_files`, said in the zip's README.txt): each user id has the
person's name beside it (`…_name`, asked of Slack when the zip is written), each moment its
local time in the engagement's zone beside UTC (`…_local`), computed figures one decimal.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, or_, select

from bot.domain import deliverables, figures, form_families, moments
from bot.domain.assurance.types import name_of as kind_name
from bot.domain.contract_clocks import contract_of
from bot.domain.errors import UserError
from bot.domain.export_files import (
    README_TEXT,
    ExportFile,
    ExportScope,
    at,
    at_columns,
    day,
    number,
    rounded,
    share,
    who,
    who_columns,
    whose,
    write_csv,
    yes_no,
)
from storage.assurance_statuses import AssuranceStatus
from storage.models import (
    AssuranceItem,
    AssuranceType,
    AuditEvent,
    Cadence,
    Concern,
    ConcernEvent,
    Deliverable,
    DeliverableEvent,
    Engagement,
    EngagementMember,
)

MAX_RANGE_DAYS = 366 * 5
MAX_WEEKS = 260  # weekly.csv covers at most the last five years of the range
# What the engagement did in the range: each form family's answers (`form_families`), the
# concern and deliverable registers and the evidence there by its end; an export with none of
# it is empty (the audit log, the weekly figures, the scorecard and the contract's dates are
# context, always there).
RECORD_FILES = (
    *form_families.exported_files(),
    "concerns.csv",
    "concern_history.csv",
    "deliverables.csv",
    "deliverable_history.csv",
    "assurance.csv",
)


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
        end = self.end or self.start
        return f"{moments.day(self.start)} to {moments.day(end)}"

    def people(self) -> set[str]:
        """The Slack ids whose names the files show beside them."""
        return {u for f in self.files for u in f.table.people()}

    def zipped(self, names: Mapping[str, str] | None = None) -> bytes:
        """The files (with `names` beside the ids: Slack's names of `people()`) and a
        README.txt saying how they are written."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(README_FILE, README_TEXT)
            for f in self.files:
                archive.writestr(f.name, f.table.render(names or {}))
        return buffer.getvalue()

    def filename(self) -> str:
        span = f"-{self.start}-{self.end}" if self.start else ""
        return f"cadence-{self.engagement.handle}{span}.zip"


README_FILE = "README.txt"


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


def _weekly(found: figures.Figures, *, end: datetime, weeks: int, tz: str) -> list[list[object]]:
    return [
        [*at(week_start, tz), *at(week_start + figures.WEEK, tz), rag or "", rate.counted,
         rate.met, share(rate.value)]
        for week_start, rag, rate in zip(
            figures.week_starts(end, weeks), found.rag_trend, found.on_time_by_week, strict=True
        )
    ]  # fmt: skip


def _scorecard(card: figures.Scorecard, tz: str) -> list[list[object]]:
    rows: list[list[object]] = []
    for label, parts in (
        (f"last {figures.SCORE_WEEKS} weeks", card.now),
        (f"{figures.SCORE_WEEKS} weeks before", card.before),
    ):
        if parts is None:
            continue
        rows.append(
            [label, *at(parts.period_end - figures.SCORE_WEEKS * figures.WEEK, tz),
             *at(parts.period_end, tz), parts.on_time.met, parts.on_time.counted,
             parts.kpis_met.met, parts.kpis_met.counted, parts.sla.met, parts.sla.counted,
             rounded(parts.feedback), parts.assurance.met, parts.assurance.counted,
             rounded(parts.score)]
        )  # fmt: skip
    return rows


SCORECARD_HEADER = [
    "period", *at_columns("period_start", "period_end"), "on_time_met", "on_time_counted",
    "kpis_met",
    "kpis_reported", "sla_met", "sla_counted", "feedback_mean", "assurance_valid",
    "assurance_required", "score",
]  # fmt: skip


DELIVERABLE_HEADER = [
    "deliverable_id", "title", "milestone", "status", *who_columns("owner", "acceptors"),
    *at_columns("created_at"), "original_due_on", "due_on", *at_columns("due_at"),
    "slip_count", "days_slipped", "rework_count",
    *at_columns("submitted_at", "accepted_at", "cancelled_at"), "on_time", "evidence_link",
    "evidence_note", "description", "acceptance_criteria",
]  # fmt: skip
ON_TIME_WORDS = {True: "yes", False: "no", None: ""}


def _deliverable(d: Deliverable, tz: str, now: datetime) -> list[object]:
    """One deliverable's row; `on_time` as the figures judge it now (`figures.delivered_on_time`:
    against its first agreed date; empty while not judged)."""
    assert d.id is not None
    row = figures.DeliverableRow(
        d.id, d.title, d.status, d.created_at, d.due_at,
        deliverables.due_moment(d.original_due_on, tz), d.slip_count, d.days_slipped,
        d.rework_count, d.submitted_at, d.accepted_at, d.cancelled_at,
    )  # fmt: skip
    return [
        d.id, d.title, d.milestone, d.status, *who(d.owner_user_id), *whose(d.acceptors or ()),
        *at(d.created_at, tz), d.original_due_on.isoformat(), d.due_on.isoformat(),
        *at(d.due_at, tz), d.slip_count, d.days_slipped, d.rework_count, *at(d.submitted_at, tz),
        *at(d.accepted_at, tz), *at(d.cancelled_at, tz),
        ON_TIME_WORDS[figures.delivered_on_time(row, now=now)],
        d.evidence_link, d.evidence_note, d.description, d.acceptance_criteria,
    ]  # fmt: skip


ASSURANCE_HEADER = [
    "item_id", "kind", "kind_name", "title", "status", "required", "valid_on_last_day",
    *who_columns("owner", "reviewers"), "valid_from", "valid_until", "evidence_link",
    "evidence_file_permalink", "evidence_note", "open_findings", "rounds", "reason",
    "concern_id",
    *at_columns("requested_at", "received_at", "reviewed_at", "created_at", "updated_at"),
]  # fmt: skip
CONTRACT_HEADER = ["contract_start", "contract_end", "renewal", "notice_days", "notice_by"]


def _assurance(
    item: AssuranceItem, names: dict[str, str], leads: list[str], last_day: date, tz: str
) -> list[object]:
    """One item's row. `reviewers`: those named, else the engagement's leads (who review it
    then); `valid_on_last_day`: for a required item (not waived), whether it counts as valid
    in the due diligence coverage on the range's last day (`figures.assurance_coverage`'s
    rule), else empty."""
    assert item.id is not None
    row = figures.AssuranceRow(
        item.id, item.type_key, item.title, item.status, item.required, item.valid_until,
        item.created_at, item.reviewed_at,
    )  # fmt: skip
    counted = item.required and item.status != AssuranceStatus.WAIVED
    valid = figures.assurance_coverage([row], day=last_day).met == 1 if counted else None
    return [
        item.id, item.type_key, names.get(item.type_key) or kind_name(item.type_key),
        item.title, item.status, yes_no(item.required), yes_no(valid), *who(item.owner_user_id),
        *whose(item.reviewers or leads), day(item.valid_from), day(item.valid_until),
        item.evidence_link, item.evidence_file_permalink or "", item.evidence_note,
        number(item.open_findings), item.rounds, item.reason, number(item.concern_id),
        *at(item.requested_at, tz), *at(item.received_at, tz), *at(item.reviewed_at, tz),
        *at(item.created_at, tz), *at(item.updated_at, tz),
    ]  # fmt: skip


def _contract(engagement: Engagement) -> list[list[object]]:
    """The contract's dates as one row (none when no date is set)."""
    contract = contract_of(engagement)
    if contract.start is None and contract.end is None and contract.notice_days is None:
        return []
    renewal = "renews by itself" if contract.renews else "ends"
    return [[day(contract.start), day(contract.end), renewal, number(contract.notice_days),
             day(contract.notice_by)]]  # fmt: skip


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

    tz = engagement.timezone
    scope = ExportScope(session, team_id, engagement_id, since, until, now, tz)
    within = scope.within  # each form family's files read the same range (`form_families`)

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
    # Deliverables agreed in the range, each with its whole history (as concerns).
    agreed = session.exec(
        select(Deliverable)
        .where(Deliverable.engagement_id == engagement_id)
        .where(*within(col(Deliverable.created_at)))
        .order_by(col(Deliverable.id))
    ).all()
    deliverable_ids = [d.id for d in agreed] or [-1]
    deliverable_events = session.exec(
        select(DeliverableEvent)
        .where(col(DeliverableEvent.deliverable_id).in_(deliverable_ids))
        .order_by(col(DeliverableEvent.id))
    ).all()
    # The assurance register as the range ends: each item there by then, as it stands now.
    evidence = session.exec(
        select(AssuranceItem)
        .where(AssuranceItem.team_id == team_id)
        .where(AssuranceItem.engagement_id == engagement_id)
        .where(*([col(AssuranceItem.created_at) < until] if until is not None else []))
        .order_by(col(AssuranceItem.id))
    ).all()
    own_kinds = dict(
        session.exec(
            select(AssuranceType.key, AssuranceType.name).where(AssuranceType.team_id == team_id)
        ).all()
    )
    leads = list(
        session.exec(
            select(EngagementMember.user_id)
            .where(EngagementMember.engagement_id == engagement_id)
            .where(EngagementMember.role == "lead")
            .order_by(col(EngagementMember.id))
        ).all()
    )
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
                (col(AuditEvent.entity_type) == "deliverable")
                & col(AuditEvent.entity_id).in_(deliverable_ids),
                (col(AuditEvent.entity_type) == "assurance_item")
                & col(AuditEvent.entity_id).in_([i.id for i in evidence] or [-1]),
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

    scorecard_rows = _scorecard(card, tz)
    last_day = figures.local_day(figures_at, engagement.timezone)
    contract_rows = _contract(engagement)
    files = (
        *[f for facts in form_families.FAMILIES.values() for f in facts.export(scope)],
        *form_families.export_questions(scope),
        ExportFile(
            "concerns.csv",
            len(concerns),
            write_csv(
                ["concern_id", "title", "severity", "category", "status",
                 *who_columns("owner", "raised_by"), "raised_side",
                 *at_columns("raised_at", "acknowledge_due_at", "acknowledged_at",
                             "resolve_due_at", "resolved_at"), "resolution_note", "source"],
                [[c.id, c.title, c.severity, c.category, c.status, *who(c.owner_user_id),
                  *who(c.raised_by), c.raised_side, *at(c.raised_at, tz),
                  *at(c.acknowledge_due_at, tz), *at(c.acknowledged_at, tz),
                  *at(c.resolve_due_at, tz), *at(c.resolved_at, tz), c.resolution_note,
                  c.source] for c in concerns],
            ),
        ),
        ExportFile(
            "concern_history.csv",
            len(events),
            write_csv(
                ["concern_id", *at_columns("at"), *who_columns("actor"), "action", "from_status",
                 "to_status", "note"],
                [[e.concern_id, *at(e.at, tz), *who(e.actor_user_id), e.action,
                  e.from_status or "", e.to_status, e.note] for e in events],
            ),
        ),
        ExportFile(
            "deliverables.csv",
            len(agreed),
            write_csv(
                DELIVERABLE_HEADER,
                [_deliverable(d, tz, now) for d in agreed],
            ),
        ),
        ExportFile(
            "deliverable_history.csv",
            len(deliverable_events),
            write_csv(
                ["deliverable_id", *at_columns("at"), *who_columns("actor"), "action",
                 "from_status", "to_status", "note", "from_due_on", "to_due_on", "days_moved"],
                [[e.deliverable_id, *at(e.at, tz), *who(e.actor_user_id), e.action,
                  e.from_status or "",
                  e.to_status, e.note, (e.data or {}).get("from", ""),
                  (e.data or {}).get("to", ""), (e.data or {}).get("days", "")]
                 for e in deliverable_events],
            ),
        ),
        ExportFile(
            "assurance.csv",
            len(evidence),
            write_csv(
                ASSURANCE_HEADER,
                [_assurance(i, own_kinds, leads, last_day, tz) for i in evidence],
            ),
        ),
        ExportFile("contract.csv", len(contract_rows), write_csv(CONTRACT_HEADER, contract_rows)),
        ExportFile(
            "audit.csv",
            len(audit),
            write_csv(
                [*at_columns("at"), *who_columns("actor"), "entity_type", "entity_id", "action",
                 "before", "after"],
                [[*at(a.at, tz), *who(a.actor_user_id), a.entity_type, a.entity_id, a.action,
                  json.dumps(a.before, ensure_ascii=False) if a.before else "",
                  json.dumps(a.after, ensure_ascii=False) if a.after else ""] for a in audit],
            ),
        ),
        ExportFile(
            "weekly.csv",
            weeks,
            write_csv(
                [*at_columns("week_start", "week_end"), "rag_at_week_end", "asked",
                 "answered_on_time", "on_time_percent"],
                _weekly(weekly, end=figures_at, weeks=weeks, tz=tz),
            ),
        ),
        ExportFile(
            "scorecard.csv",
            len(scorecard_rows),
            write_csv(
                SCORECARD_HEADER,
                [*scorecard_rows,
                 [f"# {figures.SCORE_FORMULA}", *[""] * (len(SCORECARD_HEADER) - 1)]],
            ),
        ),
    )  # fmt: skip
    return Export(engagement, start, end, files)
