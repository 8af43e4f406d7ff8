"""How long a workspace keeps what people answered and what was audited, and deleting what is
past it.

Two settings on the workspace, each None for "forever" (the default, stated wherever they
show): `retention_days` for answers (status updates with their revisions and KPI figures,
feedback, risk reviews, custom questions' answers), counted from when they were given, and for
concerns resolved that long ago (with their events; an open concern is kept whatever its age);
`audit_retention_days` for audit events, cut from the start of each workspace's chain only
(`storage.audit_chain.trim` records where it now begins, so `audit verify` still holds).

The stewards choose them (`/cadence retention`), audited like every setting. A setting shorter
than the digest's trend window (`figures.TREND_WEEKS`) is allowed but said when it is chosen,
and each deletion counts what it removed from inside that window: figures there change then,
never silently. The engine deletes in batches (`bot/engine/retention_jobs.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session, col

from bot.domain import audit, roles, workspaces
from bot.domain.concerns import ConcernStatus
from bot.domain.errors import UserError
from bot.domain.figures import TREND_WEEKS
from storage import audit_chain
from storage.models import Concern, Feedback, QuestionAnswer, RiskReview, StatusUpdate, Workspace

MIN_DAYS = 7
MAX_DAYS = 36_500  # a hundred years: longer is "forever"
BATCH = 500  # rows of one kind deleted in one transaction
TREND_DAYS = TREND_WEEKS * 7
ANSWERS, AUDIT = "answers", "audit"
FOREVER = "forever"
DOING = "choose how long Cadence keeps what it stores"
ACTOR = "cadence"  # who the audit trail names for what retention deleted: Cadence itself


@dataclass(frozen=True)
class Setting:
    """How many days each kind of data is kept (None: forever)."""

    answers_days: int | None = None
    audit_days: int | None = None

    @staticmethod
    def of(workspace: Workspace | None) -> Setting:
        if workspace is None:
            return Setting()
        return Setting(workspace.retention_days, workspace.audit_retention_days)

    @property
    def keeps_everything(self) -> bool:
        return self.answers_days is None and self.audit_days is None


def kept_for(days: int | None) -> str:
    return "forever (the default)" if days is None else f"{days} days"


def describe(setting: Setting) -> str:
    """The setting in words, for the command's reply."""
    lines = [
        f"• Answers (updates, feedback, risk reviews, custom answers) and resolved concerns: "
        f"kept {kept_for(setting.answers_days)}.",
        f"• Audit events: kept {kept_for(setting.audit_days)}.",
    ]
    return "\n".join(lines)


def trend_warning(days: int | None) -> str | None:
    """What a setting shorter than the digest's trend window does to the figures, or None."""
    if days is None or days >= TREND_DAYS:
        return None
    return (
        f"{days} days is shorter than the digest's {TREND_WEEKS}-week trends: answers older "
        f"than that leave the trends, the health card and the scorecard as they are deleted."
    )


def parse(args: Sequence[str]) -> tuple[str, int | None]:
    """`answers|audit <days>|forever` → (what, days); a UserError naming the fix otherwise."""
    if len(args) != 2 or args[0].lower() not in (ANSWERS, AUDIT):
        raise UserError(
            "Say what to keep and for how long: `answers` or `audit`, then a number of days "
            "or `forever`."
        )
    what, amount = args[0].lower(), args[1].lower()
    if amount == FOREVER:
        return what, None
    if not amount.isdigit() or not MIN_DAYS <= int(amount) <= MAX_DAYS:
        raise UserError(
            f"How long is a number of days from {MIN_DAYS} to {MAX_DAYS}, or `forever`."
        )
    return what, int(amount)


def save(
    session: Session,
    *,
    team_id: str,
    actor: roles.Actor,
    what: str,
    days: int | None,
    now: datetime,
) -> Setting:
    """Store one setting (who may: the stewards), audited before → after, under the
    workspace's row lock so two stewards at once each see what the other saved."""
    roles.require_steward(actor, DOING)
    workspaces.ensure(session, team_id=team_id, now=now)
    workspace = session.execute(
        select(Workspace).where(col(Workspace.team_id) == team_id).with_for_update()
    ).scalar_one()
    column = "retention_days" if what == ANSWERS else "audit_retention_days"
    before = getattr(workspace, column)
    if before != days:
        setattr(workspace, column, days)
        session.add(workspace)
        audit.record(
            session=session, team_id=team_id, actor=actor.user_id, entity_type="workspace",
            entity_id=workspace.id or 0, action="retention", now=now,
            before={column: before}, after={column: days},
        )  # fmt: skip
    return Setting.of(workspace)


def setting_of(session: Session, *, team_id: str) -> Setting:
    workspace = session.execute(select(Workspace).where(col(Workspace.team_id) == team_id)).scalar()
    return Setting.of(workspace)


# --- deleting what is past it --------------------------------------------------------------------


@dataclass
class Purged:
    """What one batch deleted, by kind; how many of those were inside the trend window; whether
    there is more to delete (another batch)."""

    counts: dict[str, int] = field(default_factory=dict)
    in_trend_window: int = 0
    more: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        if not self.total:
            return "nothing past its retention"
        done = ", ".join(f"{n} {kind}" for kind, n in self.counts.items() if n)
        line = f"deleted {done}"
        if self.in_trend_window:
            line += (
                f" ({self.in_trend_window} of them inside the digest's {TREND_WEEKS}-week "
                "trend window: its figures change)"
            )
        return line + ("; more in the next batch" if self.more else "")


# Answers: (label, model, its moment, its custom answers' source or None).
_ANSWERS: tuple[tuple[str, Any, Any, str | None], ...] = (
    ("status updates", StatusUpdate, StatusUpdate.submitted_at, "update"),
    ("feedback", Feedback, Feedback.submitted_at, "feedback"),
    ("risk reviews", RiskReview, RiskReview.submitted_at, "risk_review"),
    ("custom answers", QuestionAnswer, QuestionAnswer.answered_at, None),
)


def purge(
    session: Session, *, team_id: str, setting: Setting, now: datetime, batch: int = BATCH
) -> Purged:
    """Delete at most `batch` rows of each kind past the workspace's retention, in the
    caller's transaction (children go by their foreign keys' cascades; custom answers, which
    name their form by source, explicitly)."""
    purged = Purged()
    window_start = now - timedelta(days=TREND_DAYS)
    if setting.answers_days is not None:
        cutoff = now - timedelta(days=setting.answers_days)
        for label, model, moment, source in _ANSWERS:
            rows = session.execute(
                select(model.id, moment)
                .where(col(model.team_id) == team_id)
                .where(moment < cutoff)
                .order_by(model.id)
                .limit(batch + 1)
            ).all()
            _note_more(purged, rows, batch)
            rows = rows[:batch]
            ids = [row[0] for row in rows]
            if not ids:
                continue
            if source is not None:
                session.execute(
                    delete(QuestionAnswer)
                    .where(col(QuestionAnswer.team_id) == team_id)
                    .where(col(QuestionAnswer.source) == source)
                    .where(col(QuestionAnswer.source_id).in_(ids))
                )
            session.execute(delete(model).where(col(model.id).in_(ids)))
            purged.counts[label] = len(ids)
            purged.in_trend_window += sum(1 for row in rows if row[1] >= window_start)
        rows = session.execute(
            select(Concern.id, Concern.raised_at)
            .where(col(Concern.team_id) == team_id)
            .where(col(Concern.status) == ConcernStatus.RESOLVED)
            .where(col(Concern.resolved_at) < cutoff)
            .order_by(Concern.id)
            .limit(batch + 1)
        ).all()
        _note_more(purged, rows, batch)
        ids = [row[0] for row in rows[:batch]]
        if ids:
            session.execute(delete(Concern).where(col(Concern.id).in_(ids)))
            purged.counts["resolved concerns"] = len(ids)
            purged.in_trend_window += sum(1 for row in rows[:batch] if row[1] >= window_start)
    if setting.audit_days is not None:
        trimmed = audit_chain.trim(
            session, team_id=team_id, before=now - timedelta(days=setting.audit_days),
            now=now, limit=batch,
        )  # fmt: skip
        if trimmed:
            purged.counts["audit events"] = trimmed
            purged.more = purged.more or trimmed == batch
    return purged


def _note_more(purged: Purged, rows: Sequence[Any], batch: int) -> None:
    if len(rows) > batch:
        purged.more = True
