"""The Home tab as a job (`JobKind.HOME`): a person's Home built from current state when the job
runs, and published with views.publish (no ts comes back; publishing again is harmless).

Planned by `bot/domain/home.py` after a change that shows on someone's Home; the listener of
`app_home_opened` builds the same page with `home_page`.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam
from sqlmodel import Session, col, select

from bot.blocks.assurance import MAX_HOME_ITEMS as MAX_HOME_EVIDENCE
from bot.blocks.home import (
    MAX_HOME_CONCERNS,
    MAX_HOME_DELIVERABLES,
    MAX_HOME_ENGAGEMENTS,
    home_view,
)
from bot.domain import checkins, concerns, deliverable_queue, engagements, figures, notifications
from bot.domain.assurance import queries as assurance_queries
from bot.engine.delivery import Message
from bot.engine.retries import finish
from bot.engine.sender import Sender
from storage import jobs
from storage.jobs import JobStatus
from storage.models import Person


def home_page(session: Session, *, team_id: str, user_id: str, now: datetime) -> dict[str, Any]:
    """The person's Home tab as it stands at `now`: what waits for their answer, the
    deliverables they must submit or accept, the concerns they own or raised, their engagements with the figures every view shares."""
    page = engagements.page_for_person(
        session=session, team_id=team_id, user_id=user_id, limit=MAX_HOME_ENGAGEMENTS, now=now
    )
    mine = list(page.rows)
    waiting = checkins.waiting_on(session=session, team_id=team_id, user_id=user_id)
    open_concerns = concerns.open_of_person(
        session=session, team_id=team_id, person=user_id, limit=MAX_HOME_CONCERNS
    )
    deliverables = deliverable_queue.waiting_on(
        session=session, team_id=team_id, user_id=user_id, limit=MAX_HOME_DELIVERABLES
    )
    evidence = assurance_queries.waiting_on(
        session=session, team_id=team_id, user_id=user_id, limit=MAX_HOME_EVIDENCE
    )
    person = session.exec(  # what Slack last told us of their zone (None: not yet), their choice
        _person_statement(), params={"team_id": team_id, "user_id": user_id}
    ).first()
    reader_tz, chosen = person if person is not None else (None, None)
    notify = chosen if chosen in notifications.MODES else notifications.DEFAULT
    numbers: dict[int, figures.Figures] = {}
    if mine:
        inputs = figures.load(
            session,
            team_id=team_id,
            engagement_ids=[details.id for details, _ in mine],
            now=now,
            weeks=figures.TREND_WEEKS,
        )
        numbers = figures.compute(inputs, now=now, weeks=figures.TREND_WEEKS)
    return home_view(
        user_id,
        mine,
        waiting,
        open_concerns,
        now,
        figures=numbers,
        total=page.total,
        deliverables=deliverables,
        evidence=evidence,
        reader_tz=reader_tz,
        notify=notify,
    )


@cache
def _person_statement() -> Select:
    """The person's zone and notification choice, built once per process (bound at execution)."""
    return (
        select(Person.tz, Person.notify)
        .where(col(Person.team_id) == bindparam("team_id"))
        .where(col(Person.user_id) == bindparam("user_id"))
    )


def publish_home(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """Publish the Home tab of `job.user_id` again, as it stands now."""
    user_id = job.user_id
    if user_id is None:
        finish(sender, job, JobStatus.FAILED, error="no person to publish the Home tab for")
        return None
    with sender.db.read_session() as session:
        view = home_page(session, team_id=job.team_id, user_id=user_id, now=sender.now)
    return Message(user_id, {}, f"Home tab of {user_id}", quiet=True, home_view=view)
