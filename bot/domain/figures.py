"""The figures every view shows (digest, health card, Home tab, export), computed once.

Why one module: the same number must be the same everywhere it appears, so each figure is one
pure function over plain rows, and one loader reads those rows for all engagements of a
workspace together, in a fixed number of SELECTs (never a few per engagement), so a digest of
1,000 engagements issues as many statements as a digest of one.

Deliverables: on-time delivery is judged against the date as first agreed (`on_time_delivery`
says why), first-time acceptance over what was accepted in the period, and what slipped since
the last digest from the re-plans' events.

Custom questions: per cadence and question key, the numeric and rating questions' trend (the
mean per check-in, the last `QUESTION_POINTS`), and since the last digest each aggregated
question's mean and how often each option was chosen; and the rules that fired. A survey's
answers (`feedback` source) count like its ratings: in whole batches (`feedback_results.Batch`)
of `MIN_ANSWERS` answers or more to that question, once the batch has closed.

Assurance and the contract: per engagement the due diligence coverage (required evidence
accepted and valid today, of the required evidence not waived: the rule of
`assurance.diligence.coverage` and `assurance.queries.due_diligence`, on the engagement's own
day), the evidence expiring within `EXPIRING_DAYS` and the evidence expired; since the last
digest what expires in the week ahead or expired since; and the contract's next date within
`contract_clocks.SHOWN_WITHIN` days. The scorecard's assurance part is the coverage at each
period's end, read from the items as they stand now (an item accepted since counts only from
its acceptance).

Periods and weeks: a period is the `weeks` × 7 days ending at `now`. Weekly buckets are rolling
7-day windows in UTC ending at `now`, each (end - 7 days, end] (bucket 0 is the oldest; the
last ends at `now`; the period is (now - weeks × 7 days, now]), not
calendar weeks in an engagement's zone: a digest compares like with like whatever the
engagements' zones, and "the last four weeks" means the last 28 days to the minute.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Result, Select, bindparam, func, or_
from sqlmodel import Session, col, select

from bot.domain.checkin_kinds import kinds_counted_on_time
from bot.domain.checkins import RecipientStatus
from bot.domain.concerns import OPEN_STATUSES, WAITING_FOR_ACK
from bot.domain.contract_clocks import Contract, upcoming_of
from bot.domain.deliverables import due_moment
from bot.domain.engagements import SEVERITIES
from bot.domain.feedback_results import MIN_ANSWERS, batch_of
from bot.domain.questions.definition import (
    CHOICE_TYPES,
    QuestionType,
    answer_text,
    chosen_words,
)
from bot.domain.updates.evidence import KpiOutcome, outcome_of_content
from bot.platform import collector
from storage.assurance_statuses import AssuranceStatus
from storage.deliverable_statuses import DeliverableStatus
from storage.models import (
    AssuranceItem,
    Cadence,
    CheckIn,
    CheckInRecipient,
    Concern,
    Deliverable,
    DeliverableEvent,
    Engagement,
    Feedback,
    KpiDefinition,
    Question,
    QuestionAnswer,
    QuestionRuleFired,
    StatusUpdate,
    UpdateRevision,
)

WEEK = timedelta(days=7)
# How long before its batch counts an answer may be stored: a survey's longest window
# (cadences.MAX_WINDOW_HOURS) and its people's spread of local times, or a calendar month.
FEEDBACK_LOOKBACK = timedelta(days=64)
FEEDBACK_SCORES = ("communication", "quality", "timeliness", "overall")
WORST_CONCERNS = 3  # open concerns named in a digest entry or a health card
TREND_WEEKS = 8  # what the digest, the health card and the Home tab load and show as trends
SCORE_WEEKS = 4  # the scorecard's period; the trend compares it with the 4 weeks before
# The assurance part (weight 20) came in with the assurance register; the five parts before it
# kept their proportions (each × 0.8: 25 → 20, 20 → 16, 10 → 8), so the weights still sum to
# 100 and an engagement with no required evidence scores exactly as before.
SCORE_WEIGHTS = {
    "on_time": 20, "kpis": 20, "delivery": 16, "sla": 16, "feedback": 8, "assurance": 20,
}  # fmt: skip
SCORE_FORMULA = (
    "Score (0–100) over the last 4 weeks: on-time updates × 20, KPIs on target × 20, "
    "deliverables × 16 (on time by their first agreed date, and accepted the first time), "
    "concern SLAs met × 16, feedback × 8 and assurance × 20 (required evidence accepted and "
    "valid at the period's end, of the required evidence not waived), each as a share from 0 "
    "to 1 (feedback: (mean overall score − 1) ÷ 4), divided by the weights of the parts that "
    "had something to count. The trend compares it with the 4 weeks before."
)
DUE_AHEAD = timedelta(days=7)  # "due this week": not submitted, due in the 7 days after now
MAX_SLIPS = 5  # the deliverables named as slipped in a digest entry or a health card
QUESTION_POINTS = 6  # the check-ins a question's trend covers (the latest ones in the period)
# The question types the figures aggregate: a trend (a figure per answer) or a count per option.
TREND_TYPES = (QuestionType.NUMBER, QuestionType.RATING)
COUNTED_TYPES = (*CHOICE_TYPES, QuestionType.YES_NO)
TEXT_TYPES = (QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT)  # a survey's results quote them
FEEDBACK_SOURCE = "feedback"  # a survey's answers: whole batches of MIN_ANSWERS or more only
EXPIRING_DAYS = 30  # accepted evidence whose last valid day is this close is "expiring"
EXPIRES_AHEAD = 7  # the digest's "expires this week": the last valid day in the 7 days ahead


# --- inputs: rows as read ----------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """One person asked by one status-update check-in, and what became of it."""

    checkin_id: int
    user_id: str
    status: str  # RecipientStatus: pending, answered, away
    scheduled_for: datetime
    window_closes_at: datetime
    answered_at: datetime | None = None


@dataclass(frozen=True)
class KpiReport:
    """A KPI figure as an update's latest revision recorded it (with the target then)."""

    kpi_id: int
    value: float
    outcome: KpiOutcome
    target: float | None = None
    tolerance: float | None = None
    higher_is_better: bool = True


@dataclass(frozen=True)
class Update:
    """A status update as it stands now (its latest revision's KPI figures)."""

    update_id: int
    rag: str
    submitted_at: datetime
    kpis: tuple[KpiReport, ...] = ()


@dataclass(frozen=True)
class Kpi:
    """A KPI the engagement reports against now (retired ones are not loaded)."""

    kpi_id: int
    name: str
    unit: str
    target: float
    tolerance: float | None
    higher_is_better: bool
    position: int = 0


@dataclass(frozen=True)
class ConcernRow:
    concern_id: int
    severity: str
    status: str  # ConcernStatus
    raised_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    acknowledge_due_at: datetime | None = None
    resolve_due_at: datetime | None = None
    title: str = ""
    category: str = ""

    def breached(self, now: datetime) -> bool:
        """Open and past a deadline it has not met (acknowledge while waiting, or resolve)."""
        if self.status not in OPEN_STATUSES:
            return False
        return (
            self.status in WAITING_FOR_ACK
            and self.acknowledge_due_at is not None
            and self.acknowledge_due_at < now
        ) or (self.resolve_due_at is not None and self.resolve_due_at < now)


@dataclass(frozen=True)
class Rating:
    """One feedback answer's scores (1–5), as part of its batch (`feedback_results.Batch`):
    it counts from when its batch does, and only with a batch of `MIN_ANSWERS` or more."""

    counts_from: datetime
    communication: int
    quality: int
    timeliness: int
    overall: int
    batch: str = ""


@dataclass(frozen=True)
class DeliverableRow:
    """A deliverable as it stands now. `original_due_at`: the end of the date first agreed
    (the engagement's zone), which a re-plan never moves; `due_at`: the date in force."""

    deliverable_id: int
    title: str
    status: str  # DeliverableStatus
    created_at: datetime
    due_at: datetime
    original_due_at: datetime
    slip_count: int = 0
    days_slipped: int = 0
    rework_count: int = 0
    submitted_at: datetime | None = None  # the submission waiting, or the one accepted
    accepted_at: datetime | None = None
    cancelled_at: datetime | None = None


@dataclass(frozen=True)
class Replan:
    """A re-plan of a deliverable (its event): from which date to which, when, by how many
    days (positive: later, a slip)."""

    deliverable_id: int
    title: str
    at: datetime
    from_on: date
    to_on: date
    days: int


@dataclass(frozen=True)
class AnswerRow:
    """One answer to a custom question as the figures read it, with the question as asked.

    `point`: what it is averaged with in a trend (its check-in, or a survey answer's batch);
    `at`: when that point happened (the check-in's slot, or a late batch's close);
    `counts_from`: from when it may be shown (at once, or a survey batch's close); `batch`:
    a survey answer's batch key, "" for a named form's answer."""

    cadence_id: int | None
    key: str
    question_id: int
    text: str
    kind: str
    unit: str
    position: int
    value: Any
    number: float | None
    point: str
    at: datetime
    counts_from: datetime
    batch: str = ""
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleFired:
    """A question's rule that fired: on which question (as asked), the answer in words, what
    it did (`RuleAction`: a concern, an alert) and the check-in kind whose form carried it."""

    at: datetime
    key: str
    question: str  # "" when its answer was replaced by an edit since
    answer: str
    action: str
    concern_id: int | None = None
    checkin_kind: str = ""


@dataclass(frozen=True)
class AssuranceRow:
    """An evidence item as it stands now (waived ones are not loaded: not required any more).
    `valid_until`: its last valid day (None: it does not expire); `reviewed_at`: when it was
    last accepted or rejected."""

    item_id: int
    type_key: str
    title: str
    status: str  # AssuranceStatus
    required: bool
    valid_until: date | None
    created_at: datetime
    reviewed_at: datetime | None = None


@dataclass(frozen=True)
class Inputs:
    """Everything the figures of one engagement need, as the loader read it."""

    engagement_id: int
    name: str = ""
    handle: str = ""
    asked: tuple[Asked, ...] = ()
    updates: tuple[Update, ...] = ()  # oldest first; the last one before the period included
    kpis: tuple[Kpi, ...] = ()
    concerns: tuple[ConcernRow, ...] = ()
    ratings: tuple[Rating, ...] = ()
    deliverables: tuple[DeliverableRow, ...] = ()
    replans: tuple[Replan, ...] = ()  # in the period, oldest first
    answers: tuple[AnswerRow, ...] = ()  # custom questions' answers counting in the period
    fired: tuple[RuleFired, ...] = ()  # rules fired in the period, newest first
    timezone: str = "UTC"  # the engagement's: its days (evidence validity, contract dates)
    assurance: tuple[AssuranceRow, ...] = ()  # its evidence now, waived aside
    contract: Contract | None = None


# --- outputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """`met` out of `counted`; `value` is None when nothing counted (not 0 %, not 100 %)."""

    met: int
    counted: int

    @property
    def value(self) -> float | None:
        return self.met / self.counted if self.counted else None


@dataclass(frozen=True)
class KpiFigure:
    kpi_id: int
    name: str
    unit: str
    target: float
    tolerance: float | None
    higher_is_better: bool
    value: float | None  # the latest reported figure (None: never reported)
    outcome: KpiOutcome | None  # as recorded with that figure
    previous: float | None  # the figure reported before it
    direction: str | None  # "better", "worse", "same" (in the KPI's direction), None: no pair


@dataclass(frozen=True)
class ConcernFigures:
    open_by_severity: Mapping[str, int]  # every severity, critical first, zeros included
    open_total: int
    oldest_open_age: timedelta | None
    breaches: int  # open concerns past a deadline they have not met
    worst: tuple[ConcernRow, ...] = ()  # the WORST_CONCERNS to name first (see worst_open)


@dataclass(frozen=True)
class SlaCompliance:
    acknowledged: Rate  # acknowledged by the acknowledge deadline
    resolved: Rate  # resolved by the resolve deadline


@dataclass(frozen=True)
class FeedbackFigures:
    answers: int  # the answers the means are over (whole batches of MIN_ANSWERS or more)
    means: Mapping[str, float | None]  # per score in FEEDBACK_SCORES, over the period
    overall_by_week: tuple[float | None, ...]
    withheld: int = 0  # answers in the period whose batch is too small to show


@dataclass(frozen=True)
class Changes:
    since: datetime
    rag_before: str | None
    rag_now: str | None
    updates: int
    concerns_raised: int
    concerns_resolved: int

    @property
    def rag_changed(self) -> bool:
        return self.rag_before != self.rag_now


@dataclass(frozen=True)
class DeliverableFigures:
    """The deliverables of an engagement as every view shows them (see `deliverable_figures`)."""

    on_time: Rate  # of those first due in the period: accepted on a submission made by then
    first_time: Rate  # of those accepted in the period: accepted with no rejection before
    average_slip_days: float | None  # mean days moved later, over those in view; None: none
    slipped: int  # of those in view, how many were moved later at least once
    overdue: tuple[DeliverableRow, ...]  # not submitted and past the date in force, oldest first
    due_soon: tuple[DeliverableRow, ...]  # not submitted, due in the DUE_AHEAD after now
    replans_since: tuple[Replan, ...]  # moved later since the last digest, newest first
    overdue_since: tuple[DeliverableRow, ...]  # fell overdue since the last digest
    in_view: int = 0  # open now, or accepted in the period (cancelled ones never)


@dataclass(frozen=True)
class TrendPoint:
    """A number or rating question's mean at one check-in (or one survey batch)."""

    at: datetime
    mean: float
    answers: int


@dataclass(frozen=True)
class QuestionFigure:
    """One custom question of one cadence (by its key, across its versions), aggregated.

    `trend`: number and rating questions, the mean per check-in, oldest first (the last
    QUESTION_POINTS in the period); `answers`, `mean` and `chosen`: over the answers counted
    since the last digest (`mean` for number and rating, `chosen` for choice and yes/no: each
    option with how often it was chosen, most first); `withheld`: survey answers of the period
    not shown, their batch having under MIN_ANSWERS answers to it."""

    cadence_id: int | None
    key: str
    text: str  # as last asked
    kind: str
    unit: str
    trend: tuple[TrendPoint, ...] = ()
    answers: int = 0
    mean: float | None = None
    chosen: tuple[tuple[str, int], ...] = ()
    withheld: int = 0
    texts: tuple[str, ...] = ()  # text answers in the order of their words (survey results)


@dataclass(frozen=True)
class AssuranceFigures:
    """The evidence on an engagement's own day: coverage (required items accepted and valid, of
    the required ones not waived: "due diligence 4 of 6"), what is expiring or expired, and
    since the last digest what expires in the week ahead or expired since."""

    coverage: Rate = Rate(0, 0)
    expiring: tuple[AssuranceRow, ...] = ()  # accepted, last valid day within EXPIRING_DAYS
    expired: tuple[AssuranceRow, ...] = ()  # past its last valid day; required first
    expiring_week: tuple[AssuranceRow, ...] = ()  # last valid day within EXPIRES_AHEAD days
    expired_since: tuple[AssuranceRow, ...] = ()  # last valid day since the last digest's day
    items: int = 0  # in the register, waived aside

    def worst_first(self) -> tuple[AssuranceRow, ...]:
        """The digest's order: expired since the last digest, then expiring this week."""
        return (*self.expired_since, *self.expiring_week)


@dataclass(frozen=True)
class ContractDate:
    """The contract's next date within `contract_clocks.SHOWN_WITHIN` days: the last day to
    give notice while it is ahead, else the end."""

    what: str  # "notice" or "end"
    day: date
    days_left: int
    renews: bool


@dataclass(frozen=True)
class ScoreParts:
    """The vendor scorecard's parts over one period, and the overall score (see SCORE_FORMULA)."""

    period_end: datetime
    on_time: Rate  # answers by the window's close, of people asked (away not counted)
    kpis_met: Rate  # KPIs whose latest figure by the period's end met its target, of reported
    sla: Rate  # concern deadlines met (acknowledge and resolve), of deadlines met or passed
    feedback: float | None  # mean overall feedback score, 1–5
    score: int | None  # 0–100; None when no part has anything to count
    # deliverables on time and accepted the first time, together (their two rates' sums)
    delivery: Rate = Rate(0, 0)
    assurance: Rate = Rate(0, 0)  # required evidence valid at the period's end, of required

    def parts(self) -> dict[str, float | None]:
        """Each part as 0–100 (None: nothing to count), in SCORE_WEIGHTS order."""
        feedback = None if self.feedback is None else (self.feedback - 1) / 4
        values = (
            self.on_time.value,
            self.kpis_met.value,
            self.delivery.value,
            self.sla.value,
            feedback,
            self.assurance.value,
        )
        return {
            name: None if v is None else 100 * v
            for name, v in zip(SCORE_WEIGHTS, values, strict=True)
        }


@dataclass(frozen=True)
class Scorecard:
    """The vendor scorecard: the last SCORE_WEEKS weeks, and the SCORE_WEEKS before (the trend)."""

    now: ScoreParts
    before: ScoreParts | None

    def change(self) -> int | None:
        """The overall score's change in points from the period before (None: not comparable)."""
        if self.before is None or self.now.score is None or self.before.score is None:
            return None
        return self.now.score - self.before.score

    def part_changes(self) -> dict[str, float | None]:
        """Each part's change in points from the period before."""
        now = self.now.parts()
        before = self.before.parts() if self.before else dict.fromkeys(now)
        return {
            k: None if now[k] is None or before[k] is None else now[k] - before[k]  # type: ignore[operator]
            for k in now
        }


@dataclass(frozen=True)
class Figures:
    engagement_id: int
    name: str
    handle: str
    on_time: Rate
    on_time_by_week: tuple[Rate, ...]
    rag_now: str | None
    rag_as_of: datetime | None
    rag_trend: tuple[str | None, ...]
    kpis: tuple[KpiFigure, ...]
    concerns: ConcernFigures
    sla: SlaCompliance
    feedback: FeedbackFigures
    changes: Changes
    scorecard: Scorecard
    deliverables: DeliverableFigures
    questions: tuple[QuestionFigure, ...] = ()
    rules_fired: tuple[RuleFired, ...] = ()  # in the period, newest first
    assurance: AssuranceFigures = AssuranceFigures()
    contract: ContractDate | None = None
    # People asked each week whose window closed with no answer by now (`missed_by_week`), and
    # the first week with anything to show (a RAG in force or someone asked; None: nothing):
    # a missed update is the worst news, never drawn like "not due yet" (`bot/blocks/trend.py`).
    missed_by_week: tuple[int, ...] = ()
    first_week: int | None = None

    @property
    def missed(self) -> int:
        """Updates missed in the period: asked, window closed, never answered."""
        return sum(self.missed_by_week)


# --- pure figures ------------------------------------------------------------------------------


def week_starts(now: datetime, weeks: int) -> list[datetime]:
    """The starts of the `weeks` rolling 7-day buckets ending at `now`, oldest first."""
    return [now - (weeks - i) * WEEK for i in range(weeks)]


def _bucket(at: datetime, now: datetime, weeks: int) -> int | None:
    """Which bucket a moment falls in: bucket i is (end - 7 days, end], the last ending at
    `now`; None outside the period."""
    if at > now:
        return None
    index = weeks - 1 - int((now - at) // WEEK)
    return index if 0 <= index < weeks else None


def on_time_rate(asked: Iterable[Asked], *, now: datetime, start: datetime) -> Rate:
    """Answers given by the window's close, out of the people asked by check-ins scheduled in
    (start, now]. Someone away is not counted at all (they were never really asked). A person
    still inside an open window counts only once they answered (on time, necessarily): a
    window that has not closed is not yet a miss."""
    met = counted = 0
    for row in asked:
        if not start < row.scheduled_for <= now or row.status == RecipientStatus.AWAY:
            continue
        answered_at = row.answered_at if row.answered_at and row.answered_at <= now else None
        if answered_at is None and row.window_closes_at > now:
            continue
        counted += 1
        if answered_at is not None and answered_at <= row.window_closes_at:
            met += 1
    return Rate(met, counted)


def on_time_by_week(asked: Sequence[Asked], *, now: datetime, weeks: int) -> tuple[Rate, ...]:
    """The on-time rate of each week's check-ins (by when they were scheduled), oldest first."""
    buckets: list[list[Asked]] = [[] for _ in range(weeks)]
    for row in asked:
        i = _bucket(row.scheduled_for, now, weeks)
        if i is not None:
            buckets[i].append(row)
    return tuple(on_time_rate(b, now=now, start=now - weeks * WEEK) for b in buckets)


def is_missed(row: Asked, *, now: datetime) -> bool:
    """A status update missed: its window closed by `now` with no answer by then (an answer
    after the close is late, not missed; someone away was never asked)."""
    if row.status == RecipientStatus.AWAY or row.window_closes_at > now:
        return False
    return row.answered_at is None or row.answered_at > now


def missed_by_week(asked: Sequence[Asked], *, now: datetime, weeks: int) -> tuple[int, ...]:
    """How many updates each week's check-ins (by when they were scheduled) missed, oldest
    first."""
    counts = [0] * weeks
    for row in asked:
        i = _bucket(row.scheduled_for, now, weeks)
        if i is not None and is_missed(row, now=now):
            counts[i] += 1
    return tuple(counts)


def first_week(
    asked: Sequence[Asked], trend: Sequence[str | None], *, now: datetime, weeks: int
) -> int | None:
    """The first week with something to show: a RAG in force at its end, or someone (not away)
    asked by a check-in scheduled in it; None when no week has either. A chart or trend starts
    there rather than with weeks before the engagement was asked anything."""
    found = [i for i, rag in enumerate(trend) if rag is not None]
    for row in asked:
        i = _bucket(row.scheduled_for, now, weeks)
        if i is not None and row.status != RecipientStatus.AWAY:
            found.append(i)
    return min(found, default=None)


def rag_at(updates: Iterable[Update], at: datetime) -> Update | None:
    """The update in force at `at`: the latest submitted at or before it."""
    latest: Update | None = None
    for u in updates:
        if u.submitted_at <= at and (latest is None or u.submitted_at >= latest.submitted_at):
            latest = u
    return latest


def rag_trend(updates: Sequence[Update], *, now: datetime, weeks: int) -> tuple[str | None, ...]:
    """The RAG as it stood at the end of each week, oldest first: the latest update by then,
    carried over weeks without one; None before the first update."""
    ends = [start + WEEK for start in week_starts(now, weeks)]
    return tuple((u.rag if (u := rag_at(updates, end)) else None) for end in ends)


def _direction(previous: float, value: float, higher_is_better: bool) -> str:
    if value == previous:
        return "same"
    return "better" if (value > previous) == higher_is_better else "worse"


def kpi_figures(
    kpis: Sequence[Kpi], updates: Sequence[Update], *, now: datetime
) -> tuple[KpiFigure, ...]:
    """Each current KPI's latest reported figure, its outcome as recorded then (against the
    target and tolerance in force when it was reported), the figure before it and the
    direction of change between the two in the KPI's own direction."""
    ordered = sorted((u for u in updates if u.submitted_at <= now), key=lambda u: u.submitted_at)
    by_kpi: dict[int, list[KpiReport]] = {}  # one pass over the reports, not one per KPI
    for u in ordered:
        for r in u.kpis:
            by_kpi.setdefault(r.kpi_id, []).append(r)
    out: list[KpiFigure] = []
    for kpi in sorted(kpis, key=lambda k: (k.position, k.kpi_id)):
        reports = by_kpi.get(kpi.kpi_id, [])
        last = reports[-1] if reports else None
        prev = reports[-2] if len(reports) > 1 else None
        out.append(
            KpiFigure(
                kpi_id=kpi.kpi_id,
                name=kpi.name,
                unit=kpi.unit,
                target=kpi.target,
                tolerance=kpi.tolerance,
                higher_is_better=kpi.higher_is_better,
                value=last.value if last else None,
                outcome=last.outcome if last else None,
                previous=prev.value if prev else None,
                direction=(
                    _direction(prev.value, last.value, kpi.higher_is_better)
                    if last and prev
                    else None
                ),
            )
        )
    return tuple(out)


def _is_open(c: ConcernRow) -> bool:
    return c.status in OPEN_STATUSES


def open_concerns(concerns: Iterable[ConcernRow], *, now: datetime) -> ConcernFigures:
    """Open concerns (open, acknowledged, reopened) by severity; the age of the oldest (from
    when it was raised); breaches: open concerns waiting for acknowledgement past their
    acknowledge deadline, or not resolved past their resolve deadline (each counted once)."""
    rows = [c for c in concerns if _is_open(c) and c.raised_at <= now]
    by_severity = {s: 0 for s in SEVERITIES}
    for c in rows:
        by_severity[c.severity] = by_severity.get(c.severity, 0) + 1
    breaches = sum(1 for c in rows if c.breached(now))
    oldest = min((c.raised_at for c in rows), default=None)
    return ConcernFigures(
        open_by_severity=by_severity,
        open_total=len(rows),
        oldest_open_age=now - oldest if oldest else None,
        breaches=breaches,
        worst=tuple(worst_open(rows, now=now, limit=WORST_CONCERNS)),
    )


def worst_open(concerns: Iterable[ConcernRow], *, now: datetime, limit: int) -> list[ConcernRow]:
    """The open concerns to name first: past a deadline, then most severe, then oldest."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rows = [c for c in concerns if _is_open(c) and c.raised_at <= now]
    rows.sort(
        key=lambda c: (not c.breached(now), rank.get(c.severity, 99), c.raised_at, c.concern_id)
    )
    return rows[:limit]


def _stage(done: datetime | None, due: datetime | None, now: datetime) -> tuple[int, int]:
    """(met, counted) for one deadline: counted once it was met or its deadline passed."""
    if due is None:
        return 0, 0
    if done is not None and done <= now:
        return (1 if done <= due else 0), 1
    return (0, 1) if due <= now else (0, 0)


def sla_compliance(
    concerns: Iterable[ConcernRow], *, now: datetime, start: datetime
) -> SlaCompliance:
    """Of the concerns raised in (start, now]: acknowledged by their acknowledge deadline, and
    resolved by their resolve deadline. A deadline counts once it has passed or was met, so a
    concern still inside both clocks and untouched counts in neither; one met late counts as
    counted but not met. A reopened concern is judged on its current clocks."""
    ack = [0, 0]
    res = [0, 0]
    for c in concerns:
        if not start < c.raised_at <= now:
            continue
        for total, (met, counted) in (
            (ack, _stage(c.acknowledged_at, c.acknowledge_due_at, now)),
            (res, _stage(c.resolved_at, c.resolve_due_at, now)),
        ):
            total[0] += met
            total[1] += counted
    return SlaCompliance(Rate(*ack), Rate(*res))


def _mean(values: Sequence[int]) -> float | None:
    return sum(values) / len(values) if values else None


def feedback_figures(ratings: Sequence[Rating], *, now: datetime, weeks: int) -> FeedbackFigures:
    """Mean of each score over the period, and the mean overall score of each week (None: no
    answer that week), over the batches that count from within the period and hold
    `MIN_ANSWERS` answers or more: anything smaller would show one person's ratings, directly
    or as the difference of two figures. The others are only counted (`withheld`)."""
    start = now - weeks * WEEK
    period = [r for r in ratings if start < r.counts_from <= now]
    sizes = Counter(r.batch for r in period)
    rows = [r for r in period if sizes[r.batch] >= MIN_ANSWERS]
    weekly: list[list[int]] = [[] for _ in range(weeks)]
    for r in rows:
        i = _bucket(r.counts_from, now, weeks)
        if i is not None:
            weekly[i].append(r.overall)
    return FeedbackFigures(
        answers=len(rows),
        means={s: _mean([getattr(r, s) for r in rows]) for s in FEEDBACK_SCORES},
        overall_by_week=tuple(_mean(w) for w in weekly),
        withheld=len(period) - len(rows),
    )


def changes_since(
    updates: Sequence[Update], concerns: Sequence[ConcernRow], *, since: datetime, now: datetime
) -> Changes:
    """What changed in (since, now]: the RAG then and now, updates submitted, concerns raised
    and concerns resolved (a concern resolved, reopened and not resolved again is not)."""
    before = rag_at(updates, since)
    current = rag_at(updates, now)
    return Changes(
        since=since,
        rag_before=before.rag if before else None,
        rag_now=current.rag if current else None,
        updates=sum(1 for u in updates if since < u.submitted_at <= now),
        concerns_raised=sum(1 for c in concerns if since < c.raised_at <= now),
        concerns_resolved=sum(
            1 for c in concerns if c.resolved_at is not None and since < c.resolved_at <= now
        ),
    )


_OPEN_DELIVERABLE = (
    DeliverableStatus.PLANNED,
    DeliverableStatus.IN_PROGRESS,
    DeliverableStatus.SUBMITTED,
)
_WAITING = (DeliverableStatus.PLANNED, DeliverableStatus.IN_PROGRESS)  # not submitted yet


def on_time_delivery(rows: Iterable[DeliverableRow], *, now: datetime, start: datetime) -> Rate:
    """On-time delivery: of the deliverables whose date *as first agreed* ended in
    (start, now], not cancelled, those accepted on a submission made by the end of that date.
    A re-plan does not move the date judged (a slip is counted as one, and shows in the
    average slip): moving the date the day before never makes a late delivery on time. A
    submission made in time that waits for its acceptor is not counted yet (neither a miss
    nor met: the acceptor's delay is not the vendor's); one rejected is judged by the
    submission accepted in the end."""
    judged = [
        verdict
        for d in rows
        if start < d.original_due_at <= now
        and (verdict := delivered_on_time(d, now=now)) is not None
    ]
    return Rate(sum(judged), len(judged))


def delivered_on_time(d: DeliverableRow, *, now: datetime) -> bool | None:
    """One deliverable judged as `on_time_delivery` judges it at `now`: True (accepted on a
    submission by its first agreed date), False (its first agreed date passed without one),
    None (not judged: cancelled, not due yet, or a submission in time waiting for its acceptor)."""
    if d.status == DeliverableStatus.CANCELLED or d.original_due_at > now:
        return None
    accepted = d.accepted_at is not None and d.accepted_at <= now
    in_time = d.submitted_at is not None and d.submitted_at <= d.original_due_at
    if not accepted and in_time and d.status == DeliverableStatus.SUBMITTED:
        return None
    return accepted and in_time


def first_time_acceptance(
    rows: Iterable[DeliverableRow], *, now: datetime, start: datetime
) -> Rate:
    """Of the deliverables accepted in (start, now], those accepted without a rejection."""
    accepted = [d for d in rows if d.accepted_at is not None and start < d.accepted_at <= now]
    return Rate(sum(1 for d in accepted if d.rework_count == 0), len(accepted))


def _overdue(d: DeliverableRow, at: datetime) -> bool:
    return d.status in _WAITING and d.due_at <= at and d.created_at <= at


def deliverable_figures(
    rows: Sequence[DeliverableRow],
    replans: Sequence[Replan],
    *,
    now: datetime,
    start: datetime,
    since: datetime,
) -> DeliverableFigures:
    """On-time delivery and first-time acceptance over (start, now]; the average slip (days
    the date moved later, whole days, re-plans earlier not subtracted) over the deliverables
    in view: open now, or accepted in the period; what is overdue now (not submitted, past the
    date in force), due in the DUE_AHEAD after now, and what slipped since the last digest:
    each re-plan to a later date in (since, now], and each deliverable whose date in force
    ended in (since, now] without a submission."""
    in_view = [
        d
        for d in rows
        if d.created_at <= now
        and (
            d.status not in (DeliverableStatus.ACCEPTED, DeliverableStatus.CANCELLED)
            or (d.accepted_at is not None and start < d.accepted_at <= now)
        )
    ]
    overdue = sorted(
        (d for d in rows if _overdue(d, now)), key=lambda d: (d.due_at, d.deliverable_id)
    )
    due_soon = sorted(
        (d for d in rows if d.status in _WAITING and now < d.due_at <= now + DUE_AHEAD),
        key=lambda d: (d.due_at, d.deliverable_id),
    )
    return DeliverableFigures(
        on_time=on_time_delivery(rows, now=now, start=start),
        first_time=first_time_acceptance(rows, now=now, start=start),
        average_slip_days=_mean([d.days_slipped for d in in_view]),
        slipped=sum(1 for d in in_view if d.days_slipped > 0),
        overdue=tuple(overdue),
        due_soon=tuple(due_soon),
        replans_since=tuple(
            sorted(
                (r for r in replans if r.days > 0 and since < r.at <= now),
                key=lambda r: (r.at, r.deliverable_id),
                reverse=True,
            )
        ),
        overdue_since=tuple(d for d in overdue if since < d.due_at),
        in_view=len(in_view),
    )


def shown_answers(rows: Iterable[AnswerRow], *, now: datetime) -> tuple[list[AnswerRow], int]:
    """The answers that may be shown at `now`, and how many survey answers are held back: a
    named form's answers at once; a survey's only once its batch has closed, and only where
    the batch holds MIN_ANSWERS answers or more to that question (a smaller one would show
    one person's answer, directly or as the difference of two figures)."""
    counted = [r for r in rows if r.counts_from <= now]
    sizes = Counter((r.cadence_id, r.key, r.batch) for r in counted if r.batch)
    shown = [
        r for r in counted if not r.batch or sizes[(r.cadence_id, r.key, r.batch)] >= MIN_ANSWERS
    ]
    return shown, len(counted) - len(shown)


def _kind(kind: str) -> QuestionType | None:
    try:
        return QuestionType(kind)
    except ValueError:
        return None


def question_trend(
    rows: Sequence[AnswerRow], *, points: int = QUESTION_POINTS
) -> tuple[TrendPoint, ...]:
    """The mean figure of each check-in (or survey batch), oldest first, the last `points`."""
    by_point: dict[str, list[AnswerRow]] = {}
    for r in rows:
        if r.number is not None:
            by_point.setdefault(r.point, []).append(r)
    trend = sorted(
        (
            TrendPoint(
                at=min(r.at for r in group),
                mean=sum(r.number or 0.0 for r in group) / len(group),
                answers=len(group),
            )
            for group in by_point.values()
        ),
        key=lambda p: p.at,
    )
    return tuple(trend[-points:]) if points > 0 else ()


def choice_counts(rows: Sequence[AnswerRow]) -> tuple[tuple[str, int], ...]:
    """How often each option (or Yes / No) was chosen, most first; ties in the order the
    latest version lists its options, then by the words."""
    counts: Counter[str] = Counter()
    for r in rows:
        kind = _kind(r.kind)
        if kind is not None:
            counts.update(chosen_words(kind, r.value))
    latest = max(rows, key=lambda r: (r.at, r.question_id), default=None)
    order = {o: i for i, o in enumerate(latest.options if latest else ())}
    order.setdefault("Yes", -2)
    order.setdefault("No", -1)
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0], 99), kv[0])))


def _ordered_words(rows: Sequence[AnswerRow]) -> tuple[str, ...]:
    """Text answers in the order of their words, never of their arrival (as comments)."""
    words = [str(r.value).strip() for r in rows if r.value is not None and str(r.value).strip()]
    return tuple(sorted(words, key=lambda w: (w.casefold(), w)))


def question_figures(
    rows: Sequence[AnswerRow],
    *,
    now: datetime,
    start: datetime,
    since: datetime,
    texts: bool = False,
) -> tuple[QuestionFigure, ...]:
    """Each aggregated question (number, rating, choice, yes/no) answered in (start, now]: its
    trend over the period and its figures since `since` (see QuestionFigure), from the answers
    `shown_answers` lets through; in the order of their cadence and the form's. `texts`: the
    text questions too, their answers in the order of their words (a survey's results)."""
    period = [r for r in rows if start < r.counts_from <= now and _kind(r.kind) is not None]
    shown, _ = shown_answers(period, now=now)
    groups: dict[tuple[int | None, str], list[AnswerRow]] = {}
    for r in period:
        groups.setdefault((r.cadence_id, r.key), [])
    for r in shown:
        groups[(r.cadence_id, r.key)].append(r)
    out: list[tuple[tuple, QuestionFigure]] = []
    for (cadence_id, key), group in groups.items():
        every = [r for r in period if (r.cadence_id, r.key) == (cadence_id, key)]
        latest = max(every, key=lambda r: (r.at, r.question_id))
        kind = _kind(latest.kind)
        written = texts and kind in TEXT_TYPES
        if kind not in TREND_TYPES and kind not in COUNTED_TYPES and not written:
            continue
        recent = [r for r in group if since < r.counts_from]
        numbers = [r.number for r in recent if r.number is not None]
        figure = QuestionFigure(
            cadence_id=cadence_id,
            key=key,
            text=latest.text,
            kind=latest.kind,
            unit=latest.unit,
            trend=question_trend(group) if kind in TREND_TYPES else (),
            answers=len(recent),
            mean=(sum(numbers) / len(numbers)) if numbers and kind in TREND_TYPES else None,
            chosen=choice_counts(recent) if kind in COUNTED_TYPES else (),
            withheld=len(every) - len(group),
            texts=_ordered_words(recent) if written else (),
        )
        out.append(((cadence_id or 0, latest.position, key), figure))
    return tuple(f for _, f in sorted(out, key=lambda o: o[0]))


def local_day(moment: datetime, timezone: str) -> date:
    """The engagement's day at `moment` (evidence is valid, and contracts run, by its days)."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def _lapsed(row: AssuranceRow, today: date) -> bool:
    """Past its last valid day: turned expired by its clock, or accepted and not turned yet."""
    if row.status == AssuranceStatus.EXPIRED:
        return True
    return (
        row.status == AssuranceStatus.ACCEPTED
        and row.valid_until is not None
        and row.valid_until < today
    )


def assurance_coverage(
    rows: Iterable[AssuranceRow], *, day: date, at: datetime | None = None
) -> Rate:
    """Of the required items, those accepted and valid on `day` (an item that does not expire
    stays valid): `diligence.coverage`'s rule. With `at`, the end of an earlier period, as the
    items stand now say it stood then: one created later is not counted, and one counts as
    valid if accepted by then (an expired one was) and valid on `day`."""
    required = [r for r in rows if r.required and (at is None or r.created_at <= at)]
    if at is None:
        accepted = [r for r in required if r.status == AssuranceStatus.ACCEPTED]
    else:
        accepted = [
            r
            for r in required
            if r.status in (AssuranceStatus.ACCEPTED, AssuranceStatus.EXPIRED)
            and r.reviewed_at is not None
            and r.reviewed_at <= at
        ]
    valid = [r for r in accepted if r.valid_until is None or r.valid_until >= day]
    return Rate(len(valid), len(required))


def assurance_figures(
    rows: Sequence[AssuranceRow], *, today: date, since_day: date
) -> AssuranceFigures:
    """The evidence's figures on the engagement's `today`; `since_day`: the last digest's."""
    accepted = [r for r in rows if r.status == AssuranceStatus.ACCEPTED]
    expiring = sorted(
        (
            r
            for r in accepted
            if r.valid_until is not None and 0 <= (r.valid_until - today).days <= EXPIRING_DAYS
        ),
        key=lambda r: (r.valid_until, not r.required, r.item_id),
    )
    expired = sorted(
        (r for r in rows if _lapsed(r, today)),
        key=lambda r: (not r.required, r.valid_until or today, r.item_id),
    )
    return AssuranceFigures(
        coverage=assurance_coverage(rows, day=today),
        expiring=tuple(expiring),
        expired=tuple(expired),
        expiring_week=tuple(
            r for r in expiring if r.valid_until and (r.valid_until - today).days < EXPIRES_AHEAD
        ),
        expired_since=tuple(
            r for r in expired if r.valid_until is not None and r.valid_until >= since_day
        ),
        items=len(rows),
    )


def contract_date(contract: Contract | None, today: date) -> ContractDate | None:
    """The contract's next date within reach (`contract_clocks.upcoming_of`), or None."""
    if contract is None:
        return None
    found = upcoming_of(contract, today)
    if found is None:
        return None
    what, day, days_left = found
    return ContractDate(what, day, days_left, contract.renews)


def kpis_met(kpis: Sequence[Kpi], updates: Sequence[Update], *, at: datetime) -> Rate:
    """Of the current KPIs with a figure reported by `at`, those whose latest figure met its
    target (within the amber tolerance is not met)."""
    return _met(kpi_figures(kpis, updates, now=at))


def _met(found: Iterable[KpiFigure]) -> Rate:
    """`kpis_met` of KPI figures already worked out."""
    figures = [k for k in found if k.outcome is not None]
    return Rate(sum(1 for k in figures if k.outcome == KpiOutcome.MET), len(figures))


def overall_score(parts: Mapping[str, float | None]) -> int | None:
    """The weighted mean of the parts that have a value (0–100), rounded; see SCORE_FORMULA."""
    present = {k: v for k, v in parts.items() if v is not None}
    if not present:
        return None
    weight = sum(SCORE_WEIGHTS[k] for k in present)
    return round(sum(SCORE_WEIGHTS[k] * v for k, v in present.items()) / weight)


def score_parts(
    inputs: Inputs, *, end: datetime, kpis: Sequence[KpiFigure] | None = None
) -> ScoreParts:
    """The scorecard over (end − SCORE_WEEKS weeks, end], from the same pure figures (`kpis`:
    the KPI figures at `end` when the caller has them already)."""
    start = end - SCORE_WEEKS * WEEK
    sla = sla_compliance(inputs.concerns, now=end, start=start)
    provisional = ScoreParts(
        period_end=end,
        on_time=on_time_rate(inputs.asked, now=end, start=start),
        kpis_met=(kpis_met(inputs.kpis, inputs.updates, at=end) if kpis is None else _met(kpis)),
        sla=Rate(
            sla.acknowledged.met + sla.resolved.met,
            sla.acknowledged.counted + sla.resolved.counted,
        ),
        feedback=feedback_figures(inputs.ratings, now=end, weeks=SCORE_WEEKS).means["overall"],
        score=None,
        delivery=_delivery(inputs.deliverables, now=end, start=start),
        assurance=assurance_coverage(inputs.assurance, day=local_day(end, inputs.timezone), at=end),
    )
    return replace(provisional, score=overall_score(provisional.parts()))


def _delivery(rows: Sequence[DeliverableRow], *, now: datetime, start: datetime) -> Rate:
    """The scorecard's deliverables part: on-time delivery and first-time acceptance together
    (as the SLA part puts acknowledge and resolve deadlines together)."""
    on_time = on_time_delivery(rows, now=now, start=start)
    first = first_time_acceptance(rows, now=now, start=start)
    return Rate(on_time.met + first.met, on_time.counted + first.counted)


def scorecard(
    inputs: Inputs, *, now: datetime, weeks: int, kpis: Sequence[KpiFigure] | None = None
) -> Scorecard:
    """The last SCORE_WEEKS weeks, and the ones before when the inputs reach back that far
    (`kpis`: the KPI figures at `now`, when worked out already)."""
    before = None
    if weeks >= 2 * SCORE_WEEKS:
        before = score_parts(inputs, end=now - SCORE_WEEKS * WEEK)
    return Scorecard(now=score_parts(inputs, end=now, kpis=kpis), before=before)


def compute_one(
    inputs: Inputs, *, now: datetime, weeks: int, since: datetime | None = None
) -> Figures:
    start = now - weeks * WEEK
    since = since if since is not None else now - WEEK
    if since < start:
        raise ValueError("`since` must lie within the period the inputs were loaded for")
    current = rag_at(inputs.updates, now)
    today = local_day(now, inputs.timezone)
    trend = rag_trend(inputs.updates, now=now, weeks=weeks)
    kpis = kpi_figures(inputs.kpis, inputs.updates, now=now)  # the scorecard's now reads them too
    return Figures(
        engagement_id=inputs.engagement_id,
        name=inputs.name,
        handle=inputs.handle,
        on_time=on_time_rate(inputs.asked, now=now, start=start),
        on_time_by_week=on_time_by_week(inputs.asked, now=now, weeks=weeks),
        rag_now=current.rag if current else None,
        rag_as_of=current.submitted_at if current else None,
        rag_trend=trend,
        kpis=kpis,
        concerns=open_concerns(inputs.concerns, now=now),
        sla=sla_compliance(inputs.concerns, now=now, start=start),
        feedback=feedback_figures(inputs.ratings, now=now, weeks=weeks),
        changes=changes_since(inputs.updates, inputs.concerns, since=since, now=now),
        scorecard=scorecard(inputs, now=now, weeks=weeks, kpis=kpis),
        deliverables=deliverable_figures(
            inputs.deliverables, inputs.replans, now=now, start=start, since=since
        ),
        questions=question_figures(inputs.answers, now=now, start=start, since=since),
        rules_fired=tuple(r for r in inputs.fired if start < r.at <= now),
        assurance=assurance_figures(
            inputs.assurance, today=today, since_day=local_day(since, inputs.timezone)
        ),
        contract=contract_date(inputs.contract, today),
        missed_by_week=missed_by_week(inputs.asked, now=now, weeks=weeks),
        first_week=first_week(inputs.asked, trend, now=now, weeks=weeks),
    )


def compute(
    inputs: Mapping[int, Inputs], *, now: datetime, weeks: int, since: datetime | None = None
) -> dict[int, Figures]:
    """The figures of each engagement (`since`: the last digest; default a week before now),
    with the cyclic collector paused (`collector.paused` says why)."""
    with collector.paused():
        return {
            eid: compute_one(one, now=now, weeks=weeks, since=since) for eid, one in inputs.items()
        }


# --- loading (set-based) -----------------------------------------------------------------------


def _rows(session: Session, query: Any, params: Mapping[str, Any] | None = None) -> Result[Any]:
    """A big read's rows as plain tuples, through Core in the session's transaction: no ORM
    instances, no identity map. At 1,000 engagements the loader reads some 40,000 rows; as ORM
    objects they cost more than the reading, and the collector's passes over them more again."""
    if session.autoflush:  # what an ORM query would flush first, so the read sees it
        session.flush()
    return session.connection().execute(query, params)


def _reports(content: Mapping[str, Any]) -> tuple[KpiReport, ...]:
    return _reports_of(content.get("kpis"))


def _reports_of(kpis: Any) -> tuple[KpiReport, ...]:
    """The KPI figures of a revision's content's "kpis" (None: it has none)."""
    out = []
    for k in kpis or ():
        if k.get("kpi_id") is None or k.get("value") is None:
            continue
        out.append(
            KpiReport(
                kpi_id=int(k["kpi_id"]),
                value=float(k["value"]),
                outcome=outcome_of_content(k),
                target=k.get("target"),
                tolerance=k.get("tolerance"),
                higher_is_better=bool(k.get("higher_is_better", True)),
            )
        )
    return tuple(out)


@dataclass
class _Acc:
    asked: list[Asked] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    kpis: list[Kpi] = field(default_factory=list)
    concerns: list[ConcernRow] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    deliverables: list[DeliverableRow] = field(default_factory=list)
    replans: list[Replan] = field(default_factory=list)
    answers: list[AnswerRow] = field(default_factory=list)
    fired: list[RuleFired] = field(default_factory=list)
    assurance: list[AssuranceRow] = field(default_factory=list)


class _P:
    """The loader's parameters, bound at execution: its statements are built once per process
    (`_statement`), not at every load. Building them (SQLAlchemy's expression objects, a few
    hundred per load) cost more CPU than running them: a Home tab loads its figures after every
    change that shows there."""

    team_id = bindparam("team_id")
    ids = bindparam("ids", expanding=True)
    start = bindparam("start")
    now = bindparam("now")
    lookback = bindparam("lookback")  # start - FEEDBACK_LOOKBACK
    first_day = bindparam("first_day")  # the day two days before start


_STATEMENTS: dict[str, Any] = {}


def _statement(key: str, build: Callable[[], Any]) -> Any:
    """The statement named `key`, built by `build` the first time (its parameters `_P`'s)."""
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = build()
    return found


def _engagements(every: bool) -> Select:
    """Statement 1: the engagements (every unarchived one, or those of `ids`), with their
    contract's dates."""
    query = select(
        Engagement.id,
        Engagement.name,
        Engagement.handle,
        Engagement.timezone,
        Engagement.contract_start,
        Engagement.contract_end,
        Engagement.contract_renews,
        Engagement.notice_days,
    ).where(Engagement.team_id == _P.team_id)
    if every:
        query = query.where(col(Engagement.archived_at).is_(None))
    else:
        query = query.where(col(Engagement.id).in_(_P.ids))
    return query.order_by(col(Engagement.id))


def load(
    session: Session,
    *,
    team_id: str,
    engagement_ids: Sequence[int] | None = None,
    now: datetime,
    weeks: int,
) -> dict[int, Inputs]:
    """The inputs of every (unarchived) engagement of a workspace, or of those named, for the
    `weeks` ending at `now`: eleven SELECTs whatever the number of engagements, read with the
    cyclic collector paused (`collector.paused` says why)."""
    with collector.paused():
        return _load(session, team_id=team_id, engagement_ids=engagement_ids, now=now, weeks=weeks)


def _load(
    session: Session,
    *,
    team_id: str,
    engagement_ids: Sequence[int] | None,
    now: datetime,
    weeks: int,
) -> dict[int, Inputs]:
    start = now - weeks * WEEK

    # 1. The engagements, with their contract's dates.
    params: dict[str, Any] = {"team_id": team_id, "start": start, "now": now}
    if engagement_ids is not None:
        params["ids"] = list(engagement_ids)
    every = engagement_ids is None
    engagements = {
        row[0]: row
        for row in _rows(
            session, _statement(f"engagements:{every}", lambda: _engagements(every)), params
        )
    }
    ids = list(engagements)
    acc: dict[int, _Acc] = {eid: _Acc() for eid in ids}
    if not ids:
        return {}
    params["ids"] = ids
    params["lookback"] = start - FEEDBACK_LOOKBACK
    params["first_day"] = (start - timedelta(days=2)).date()

    # 2. Who the check-ins that count on time (status updates) asked in the period.
    rows = _rows(
        session,
        _statement(
            "load:1",
            lambda: (
                select(
                    CheckIn.engagement_id,
                    CheckInRecipient.checkin_id,
                    CheckInRecipient.user_id,
                    CheckInRecipient.status,
                    CheckIn.scheduled_for,
                    CheckIn.window_closes_at,
                    CheckInRecipient.answered_at,
                )
                .join(CheckIn, col(CheckIn.id) == col(CheckInRecipient.checkin_id))
                .join(Cadence, col(Cadence.id) == col(CheckIn.cadence_id))
                .where(CheckIn.team_id == _P.team_id)
                .where(col(CheckIn.engagement_id).in_(_P.ids))
                .where(col(Cadence.kind).in_(list(kinds_counted_on_time())))
                .where(CheckIn.scheduled_for > _P.start)
                .where(CheckIn.scheduled_for <= _P.now)
                .order_by(col(CheckIn.scheduled_for), col(CheckInRecipient.id))
            ),
        ),
        params,
    )
    for eid, checkin_id, user_id, status, scheduled, closes, answered in rows:
        acc[eid].asked.append(Asked(checkin_id, user_id, status, scheduled, closes, answered))

    # 3. Updates in the period, plus the last one before it (the RAG in force at its start),
    #    each with its latest revision's KPI figures (only the content's "kpis", read in SQL:
    #    the rest of a revision is prose the figures never show).
    rows = _rows(
        session,
        _statement(
            "load:2",
            lambda: (
                select(
                    StatusUpdate.engagement_id,
                    StatusUpdate.id,
                    StatusUpdate.rag,
                    StatusUpdate.submitted_at,
                    _latest_kpis(),
                )
                .where(StatusUpdate.team_id == _P.team_id)
                .where(col(StatusUpdate.engagement_id).in_(_P.ids))
                .where(StatusUpdate.submitted_at <= _P.now)
                .where(
                    or_(
                        StatusUpdate.submitted_at > _P.start,
                        col(StatusUpdate.id).in_(
                            latest_update_ids(_P.team_id, _P.ids, by=_P.start)
                        ),
                    )
                )
                .order_by(col(StatusUpdate.submitted_at), col(StatusUpdate.id))
            ),
        ),
        params,
    )
    for eid, update_id, rag, submitted, kpis in rows:
        acc[eid].updates.append(Update(update_id, rag, submitted, _reports_of(kpis)))

    # 4. The KPIs the engagements report against now.
    for eid, *kpi in _rows(
        session,
        _statement(
            "load:3",
            lambda: (
                select(
                    KpiDefinition.engagement_id,
                    KpiDefinition.id,
                    KpiDefinition.name,
                    KpiDefinition.unit,
                    KpiDefinition.target,
                    KpiDefinition.tolerance,
                    KpiDefinition.higher_is_better,
                    KpiDefinition.position,
                )
                .where(KpiDefinition.team_id == _P.team_id)
                .where(col(KpiDefinition.engagement_id).in_(_P.ids))
                .where(
                    or_(
                        col(KpiDefinition.retired_at).is_(None),
                        col(KpiDefinition.retired_at) > _P.now,
                    )
                )
            ),
        ),
        params,
    ):
        acc[eid].kpis.append(Kpi(*kpi))

    # 5. Concerns open now, or raised or resolved in the period.
    for eid, *concern in _rows(
        session,
        _statement(
            "load:4",
            lambda: (
                select(
                    Concern.engagement_id,
                    Concern.id,
                    Concern.severity,
                    Concern.status,
                    Concern.raised_at,
                    Concern.acknowledged_at,
                    Concern.resolved_at,
                    Concern.acknowledge_due_at,
                    Concern.resolve_due_at,
                    Concern.title,
                    Concern.category,
                )
                .where(Concern.team_id == _P.team_id)
                .where(col(Concern.engagement_id).in_(_P.ids))
                .where(Concern.raised_at <= _P.now)
                .where(
                    or_(
                        col(Concern.status).in_([str(s) for s in OPEN_STATUSES]),
                        Concern.raised_at > _P.start,
                        Concern.resolved_at > _P.start,
                    )
                )
                .order_by(col(Concern.id))
            ),
        ),
        params,
    ):
        acc[eid].concerns.append(ConcernRow(*concern))

    # 6. Feedback whose batch counts from within the period (a batch counts from its survey's
    #    close or its month's end, so its answers are stored up to FEEDBACK_LOOKBACK before).
    for eid, counted, checkin_id, opened, closes, *scores in _rows(
        session,
        _statement(
            "load:5",
            lambda: (
                select(
                    Feedback.engagement_id,
                    Feedback.submitted_at,
                    Feedback.checkin_id,
                    CheckIn.created_at,
                    CheckIn.window_closes_at,
                    Feedback.communication,
                    Feedback.quality,
                    Feedback.timeliness,
                    Feedback.overall,
                )
                .outerjoin(CheckIn, col(CheckIn.id) == col(Feedback.checkin_id))
                .where(Feedback.team_id == _P.team_id)
                .where(col(Feedback.engagement_id).in_(_P.ids))
                .where(Feedback.submitted_at > _P.lookback)
                .where(Feedback.submitted_at <= _P.now)
            ),
        ),
        params,
    ):
        batch = batch_of(counted=counted, checkin_id=checkin_id, opened=opened, closes=closes)
        if start < batch.counts_from <= now:
            acc[eid].ratings.append(Rating(batch.counts_from, *scores, batch=batch.key))

    # 7. Deliverables open now, or first due, due, accepted or cancelled in the period (a
    #    day's margin on the first agreed date: its end is in the engagement's zone).
    for eid, deliverable_id, title, status, created, due, first_due_on, *counts in _rows(
        session,
        _statement(
            "load:6",
            lambda: (
                select(
                    Deliverable.engagement_id,
                    Deliverable.id,
                    Deliverable.title,
                    Deliverable.status,
                    Deliverable.created_at,
                    Deliverable.due_at,
                    Deliverable.original_due_on,
                    Deliverable.slip_count,
                    Deliverable.days_slipped,
                    Deliverable.rework_count,
                    Deliverable.submitted_at,
                    Deliverable.accepted_at,
                    Deliverable.cancelled_at,
                )
                .where(Deliverable.team_id == _P.team_id)
                .where(col(Deliverable.engagement_id).in_(_P.ids))
                .where(Deliverable.created_at <= _P.now)
                .where(
                    or_(
                        col(Deliverable.status).in_([str(s) for s in _OPEN_DELIVERABLE]),
                        Deliverable.accepted_at > _P.start,
                        Deliverable.due_at > _P.start,
                        Deliverable.original_due_on >= _P.first_day,
                    )
                )
                .order_by(col(Deliverable.id))
            ),
        ),
        params,
    ):
        first_due = due_moment(first_due_on, engagements[eid][3])
        acc[eid].deliverables.append(
            DeliverableRow(deliverable_id, title, status, created, due, first_due, *counts)
        )

    # 8. Their re-plans in the period (what slipped since the last digest).
    for eid, deliverable_id, title, at, data in _rows(
        session,
        _statement(
            "load:7",
            lambda: (
                select(
                    Deliverable.engagement_id,
                    DeliverableEvent.deliverable_id,
                    Deliverable.title,
                    DeliverableEvent.at,
                    DeliverableEvent.data,
                )
                .join(Deliverable, col(Deliverable.id) == col(DeliverableEvent.deliverable_id))
                .where(DeliverableEvent.team_id == _P.team_id)
                .where(col(Deliverable.engagement_id).in_(_P.ids))
                .where(DeliverableEvent.action == "replanned")
                .where(DeliverableEvent.at > _P.start)
                .where(DeliverableEvent.at <= _P.now)
                .order_by(col(DeliverableEvent.at), col(DeliverableEvent.id))
            ),
        ),
        params,
    ):
        try:
            replan = Replan(
                deliverable_id,
                title,
                at,
                date.fromisoformat(data["from"]),
                date.fromisoformat(data["to"]),
                int(data["days"]),
            )
        except (KeyError, TypeError, ValueError):
            continue  # an event without its dates says nothing about a slip
        acc[eid].replans.append(replan)

    # 9. Custom questions' answers that count in the period, with the question as asked.
    _load_answers(session, params, start=start, now=now, acc=acc)

    # 10. The rules that fired in the period, newest first.
    _load_fired(session, params, start=start, now=now, acc=acc)

    # 11. The evidence items as they stand now (waived ones are required no more).
    for eid, *item in _rows(
        session,
        _statement(
            "load:8",
            lambda: (
                select(
                    AssuranceItem.engagement_id,
                    AssuranceItem.id,
                    AssuranceItem.type_key,
                    AssuranceItem.title,
                    AssuranceItem.status,
                    AssuranceItem.required,
                    AssuranceItem.valid_until,
                    AssuranceItem.created_at,
                    AssuranceItem.reviewed_at,
                )
                .where(AssuranceItem.team_id == _P.team_id)
                .where(col(AssuranceItem.engagement_id).in_(_P.ids))
                .where(AssuranceItem.status != AssuranceStatus.WAIVED)
                .where(AssuranceItem.created_at <= _P.now)
                .order_by(col(AssuranceItem.id))
            ),
        ),
        params,
    ):
        acc[eid].assurance.append(AssuranceRow(*item))

    grouped: dict[int, Inputs] = {}
    for eid, row in engagements.items():
        a = acc[eid]
        grouped[eid] = Inputs(
            engagement_id=eid,
            name=row[1],
            handle=row[2],
            asked=tuple(a.asked),
            updates=tuple(a.updates),
            kpis=tuple(a.kpis),
            concerns=tuple(a.concerns),
            ratings=tuple(a.ratings),
            deliverables=tuple(a.deliverables),
            replans=tuple(a.replans),
            answers=tuple(a.answers),
            fired=tuple(a.fired),
            timezone=row[3],
            assurance=tuple(a.assurance),
            contract=Contract(row[4], row[5], row[6], row[7]),
        )
    return grouped


def answer_row(
    answer: QuestionAnswer,
    question: Question,
    *,
    scheduled: datetime | None,
    opened: datetime | None,
    closes: datetime | None,
) -> AnswerRow:
    """An answer as the figures read it: a survey's answer in its batch (`batch_of`, as its
    ratings), any other at its check-in."""
    assert question.id is not None
    if answer.source == FEEDBACK_SOURCE:
        batch = batch_of(
            counted=answer.answered_at, checkin_id=answer.checkin_id, opened=opened, closes=closes
        )
        # In its survey's window: at the survey's slot; late: with its month, at the month's end.
        in_window = batch.key == f"survey:{answer.checkin_id}"
        point = key = batch.key
        at = (scheduled or batch.starts) if in_window else batch.counts_from
        counts_from = batch.counts_from
    else:
        point = (
            f"checkin:{answer.checkin_id}"
            if answer.checkin_id is not None
            else f"{answer.source}:{answer.source_id}"
        )
        key = ""
        at = scheduled or answer.answered_at
        counts_from = answer.answered_at
    return AnswerRow(
        cadence_id=question.cadence_id,
        key=answer.question_key,
        question_id=question.id,
        text=question.text,
        kind=question.kind,
        unit=question.unit,
        position=question.position,
        value=answer.value,
        number=answer.number,
        point=point,
        at=at,
        counts_from=counts_from,
        batch=key,
        options=tuple(question.options or ()),
    )


def _load_answers(
    session: Session,
    params: Mapping[str, Any],
    *,
    start: datetime,
    now: datetime,
    acc: Mapping[int, _Acc],
) -> None:
    """One SELECT: the answers stored since FEEDBACK_LOOKBACK before the period (a survey's
    batch counts from its close), kept when they count within it."""
    for answer, question, scheduled, opened, closes in session.exec(
        _statement(
            "load:answers",
            lambda: (
                select(
                    QuestionAnswer,
                    Question,
                    CheckIn.scheduled_for,
                    CheckIn.created_at,
                    CheckIn.window_closes_at,
                )
                .join(Question, col(Question.id) == col(QuestionAnswer.question_id))
                .outerjoin(CheckIn, col(CheckIn.id) == col(QuestionAnswer.checkin_id))
                .where(QuestionAnswer.team_id == _P.team_id)
                .where(col(QuestionAnswer.engagement_id).in_(_P.ids))
                .where(QuestionAnswer.answered_at > _P.lookback)
                .where(QuestionAnswer.answered_at <= _P.now)
                .order_by(col(QuestionAnswer.answered_at), col(QuestionAnswer.id))
            ),
        ),
        params=params,
    ).all():
        row = answer_row(answer, question, scheduled=scheduled, opened=opened, closes=closes)
        if start < row.counts_from <= now:
            acc[answer.engagement_id].answers.append(row)


def survey_questions(session: Session, checkin: CheckIn) -> tuple[QuestionFigure, ...]:
    """A survey's custom questions aggregated for its results at its close: its answers given
    within its window (its batch, as its ratings), each question shown only from MIN_ANSWERS
    answers up (`shown_answers`), text answers in the order of their words; one SELECT."""
    rows = [
        answer_row(
            answer,
            question,
            scheduled=checkin.scheduled_for,
            opened=checkin.created_at,
            closes=checkin.window_closes_at,
        )
        for answer, question in session.exec(
            select(QuestionAnswer, Question)
            .join(Question, col(Question.id) == col(QuestionAnswer.question_id))
            .where(QuestionAnswer.team_id == checkin.team_id)
            .where(QuestionAnswer.checkin_id == checkin.id)
            .where(QuestionAnswer.source == FEEDBACK_SOURCE)
            .order_by(col(QuestionAnswer.id))
        ).all()
    ]
    closes = checkin.window_closes_at
    in_window = [r for r in rows if r.batch == f"survey:{checkin.id}"]
    start = closes - FEEDBACK_LOOKBACK
    return question_figures(in_window, now=closes, start=start, since=start, texts=True)


def _load_fired(
    session: Session,
    params: Mapping[str, Any],
    *,
    start: datetime,
    now: datetime,
    acc: Mapping[int, _Acc],
) -> None:
    """One SELECT: each rule fired in the period, with the answer and question it fired on.
    A survey's answer fires when its survey closes (`questions.rules` acts then), and only
    then shows: before, it would tell the leads of one anonymous answer."""
    for fired, value, source, closes, text, kind, unit, checkin_kind in session.exec(
        _statement(
            "load:fired",
            lambda: (
                select(
                    QuestionRuleFired,
                    QuestionAnswer.value,
                    QuestionAnswer.source,
                    CheckIn.window_closes_at,
                    Question.text,
                    Question.kind,
                    Question.unit,
                    Cadence.kind,
                )
                .outerjoin(
                    QuestionAnswer, col(QuestionAnswer.id) == col(QuestionRuleFired.answer_id)
                )
                .outerjoin(CheckIn, col(CheckIn.id) == col(QuestionAnswer.checkin_id))
                .outerjoin(Question, col(Question.id) == col(QuestionAnswer.question_id))
                .outerjoin(Cadence, col(Cadence.id) == col(Question.cadence_id))
                .where(QuestionRuleFired.team_id == _P.team_id)
                .where(col(QuestionRuleFired.engagement_id).in_(_P.ids))
                .where(QuestionRuleFired.fired_at > _P.lookback)
                .where(QuestionRuleFired.fired_at <= _P.now)
                .order_by(col(QuestionRuleFired.fired_at).desc(), col(QuestionRuleFired.id).desc())
            ),
        ),
        params=params,
    ).all():
        at = fired.fired_at
        if source == FEEDBACK_SOURCE or (source is None and fired.scope.startswith("feedback")):
            at = max(at, closes) if closes is not None else at
        if not start < at <= now:
            continue
        question_kind = _kind(kind or "")
        words = answer_text(question_kind, value, unit or "") if question_kind else ""
        acc[fired.engagement_id].fired.append(
            RuleFired(
                at=at,
                key=fired.question_key,
                question=text or "",
                answer=words,
                action=fired.action,
                concern_id=fired.concern_id,
                checkin_kind=checkin_kind or "",
            )
        )
    for a in acc.values():
        a.fired.sort(key=lambda r: r.at, reverse=True)


def kpi_reports(content: Mapping[str, Any]) -> tuple[KpiReport, ...]:
    """The KPI figures a revision's content records, read as the loader reads them (the export
    reads revisions outside the loader's period)."""
    return _reports(content)


def _latest_kpis() -> Any:
    """The KPI figures of an update's latest revision, as a scalar subquery per update: one
    probe of `uq_revision_update_revision` each, whatever the history and the planner's costs.
    As a join, PostgreSQL with its default `random_page_cost` read every revision of the
    database and hashed them for a Home's ten engagements (2.4 ms of its 4.9 ms of server time
    at 1,000 engagements), a cost growing with every week of history; a whole workspace's load
    (the digest) takes as long either way."""
    return (
        select(col(UpdateRevision.content)["kpis"])
        .where(col(UpdateRevision.update_id) == col(StatusUpdate.id))
        .where(col(UpdateRevision.revision) == col(StatusUpdate.revision))
        .scalar_subquery()
    )


def latest_update_ids(team_id: str, engagement_ids: Sequence[int], *, by: datetime) -> Select:
    """The id of each engagement's latest status update submitted by `by`, as a subquery to
    filter on: one window over the engagements' updates, whatever their number. The figures
    (the update in force when a period starts) and the health card (the latest one) read it."""
    ranked = (
        select(
            StatusUpdate.id,
            func.row_number()
            .over(
                partition_by=col(StatusUpdate.engagement_id),
                order_by=(col(StatusUpdate.submitted_at).desc(), col(StatusUpdate.id).desc()),
            )
            .label("rank"),
        )
        .where(StatusUpdate.team_id == team_id)
        .where(col(StatusUpdate.engagement_id).in_(engagement_ids))
        .where(StatusUpdate.submitted_at <= by)
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.rank == 1)
