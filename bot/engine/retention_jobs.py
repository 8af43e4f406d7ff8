"""Retention as engine jobs (`bot/domain/retention.py` says what is kept how long).

Each pass plans, once a day for every installed workspace that keeps something for a limited
time, a `RETENTION` job (a database kind) keyed by the workspace and the day. It deletes one
batch of what is past the setting in its own transaction and, when more is left, plans the next
batch at once (the same pass runs it), so a first run over years of data never holds one long
transaction. Each batch says what it deleted in the pass's report, and is itself audited (its
counts, by `retention.ACTOR`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlmodel import Session, col

from bot.domain import audit, retention
from storage import job_keys, jobs
from storage.db import Database
from storage.jobs import ClaimedJob, JobKind
from storage.models import Workspace


def plan_due(db: Database, now: datetime) -> list[str]:
    """Today's first batch for each workspace with a retention set (a unique key: a second
    pass today plans nothing more). One line per job planned."""
    day = now.date().isoformat()
    lines: list[str] = []
    with db.session() as session:
        teams = session.execute(
            select(Workspace.team_id)
            .where(
                or_(
                    col(Workspace.retention_days).is_not(None),
                    col(Workspace.audit_retention_days).is_not(None),
                )
            )
            .where(col(Workspace.uninstalled_at).is_(None))
            .order_by(Workspace.team_id)
        ).scalars()
        for team_id in teams:
            if _plan(session, team_id=team_id, day=day, batch=1, now=now):
                lines.append(f"{now.isoformat()} retention of {team_id} planned for {day}")
    return lines


def _plan(session: Session, *, team_id: str, day: str, batch: int, now: datetime) -> bool:
    key = job_keys.retention(team_id, day, batch)
    payload = {"day": day, "batch": batch}
    job_id = jobs.plan(
        session, team_id=team_id, key=key, kind=JobKind.RETENTION, due_at=now, now=now,
        payload=payload,
    )  # fmt: skip
    return job_id is not None


def purge(session: Session, job: ClaimedJob, now: datetime) -> str:
    """One batch: delete, audit the counts, plan the next batch if more is left."""
    setting = retention.setting_of(session, team_id=job.team_id)
    purged = retention.purge(session, team_id=job.team_id, setting=setting, now=now)
    batch = int(job.payload.get("batch", 1))
    if purged.total:
        audit.record(
            session=session, team_id=job.team_id, actor=retention.ACTOR,
            entity_type="workspace", entity_id=0, action="retention", now=now,
            after={"deleted": purged.counts, "in_trend_window": purged.in_trend_window},
        )  # fmt: skip
    if purged.more:
        day = str(job.payload.get("day", now.date().isoformat()))
        _plan(session, team_id=job.team_id, day=day, batch=batch + 1, now=now)
    return f"retention of {job.team_id}, batch {batch}: {purged.line()}"
