"""Answers that raise the alarm on their own: a question's rule (`definition.Rule`) fires when
an answer is one it watches, and then raises a concern on the register or alerts the leads.

Once per check-in and question, whoever answers and however often: `fire` inserts one
`QuestionRuleFired` under its unique (scope, question key) with INSERT … ON CONFLICT DO
NOTHING, so a Slack retry, a second submit, an edit or another respondent finds the row taken,
in any process, on SQLite and PostgreSQL alike; only the insert that created it acts.

A survey's answer never acts at its own moment: its concern or alert would tell the leads when
someone answered, and what. It acts when the survey closes (a `QUESTION_RULE` job), names
nobody, and raises its concern from the leads' side, like the survey's results.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.domain import concerns, engagements, home, notifications
from bot.domain.concerns import MAX_TITLE, ConcernInput
from bot.domain.errors import NotFound
from bot.domain.questions.answering import Stored
from bot.domain.questions.definition import (
    OwnerRule,
    RuleAction,
    answer_text,
    fires,
    rule_of,
    type_of,
)
from storage import job_keys, jobs
from storage.jobs import JobKind, insert_ignoring_conflict
from storage.models import CheckIn, Question, QuestionAnswer, QuestionRuleFired

SOURCE = "question"  # a concern's source when a rule raised it
RECORD_WORDS = {"update": "status update", "risk_review": "risk review", "feedback": "survey"}


def scope_of(*, checkin_id: int | None, source: str, source_id: int) -> str:
    """What a rule fires once for: the check-in, or the record when there is none."""
    return f"checkin:{checkin_id}" if checkin_id is not None else f"{source}:{source_id}"


def survey_release(now: datetime, checkin: CheckIn | None) -> datetime:
    """When a survey answer's rule may act: at the survey's close; a late answer with the
    month's late answers (the start of the next month), as its batch counts."""
    if checkin is not None and now <= checkin.window_closes_at:
        return checkin.window_closes_at
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (start + timedelta(days=32)).replace(day=1)


def fire(
    session: Session,
    *,
    team_id: str,
    engagement_id: int,
    checkin_id: int | None,
    stored: Sequence[Stored],
    now: datetime,
    release_at: datetime | None = None,
) -> list[int]:
    """For each answer whose question's rule fires, the fired row, inserted at most once per
    scope and question; the ids of those inserted now. Each acts at once, or at `release_at`
    (a survey's close) through a job."""
    inserted: list[int] = []
    for item in stored:
        answer, question = item.answer, item.question
        kind = type_of(question)
        rule = rule_of(question)
        if kind is None or rule is None or not fires(rule, kind, answer.value):
            continue
        scope = scope_of(checkin_id=checkin_id, source=answer.source, source_id=answer.source_id)
        fired_id = insert_ignoring_conflict(
            session,
            QuestionRuleFired,
            {
                "team_id": team_id,
                "engagement_id": engagement_id,
                "scope": scope,
                "question_key": question.key,
                "answer_id": answer.id,
                "action": rule.action.value,
                "concern_id": None,
                "fired_at": answer.answered_at,
            },
            ["scope", "question_key"],
        )
        if fired_id is None:
            continue  # fired already for this check-in and question
        inserted.append(fired_id)
        if release_at is not None and release_at > now:
            jobs.plan(
                session,
                team_id=team_id,
                key=job_keys.question_rule(fired_id),
                kind=JobKind.QUESTION_RULE,
                due_at=release_at,
                now=answer.answered_at,  # planned "at" the batch's moment, not the answer's
                payload={"fired_id": fired_id, "engagement_id": engagement_id},
                checkin_id=checkin_id,
            )
        else:
            act(session, fired_id=fired_id, now=now)
    return inserted


def act(session: Session, *, fired_id: int, now: datetime) -> str:
    """What a fired rule does: raise its concern, or plan each lead's alert. Read from the
    stored rows (it may run later, from a job); a line saying what it did."""
    fired = session.get(QuestionRuleFired, fired_id)
    if fired is None:
        return f"rule {fired_id}: gone"
    answer = session.get(QuestionAnswer, fired.answer_id) if fired.answer_id else None
    question = session.get(Question, answer.question_id) if answer else None
    if answer is None or question is None:
        return f"rule {fired_id}: its answer was taken back, nothing to do"
    rule, kind = rule_of(question), type_of(question)
    if rule is None or kind is None:
        return f"rule {fired_id}: no rule to act on"
    try:
        details = engagements.get(
            session=session, team_id=fired.team_id, engagement_id=fired.engagement_id
        )
    except NotFound:
        return f"rule {fired_id}: engagement gone"
    if details.engagement.archived_at is not None:
        return f"rule {fired_id}: {details.engagement.handle} is archived"
    words = answer_text(kind, answer.value, question.unit)
    named = named_author(answer, details)
    # The leads' Home tabs list the rules that fired.
    home.plan_refresh(
        session, team_id=fired.team_id, user_ids=details.leads, cause=f"rule={fired_id}", now=now
    )
    if rule.action == RuleAction.CONCERN:
        return _raise(session, fired, answer, question, details, words, named, now)
    leads = [lead for lead in details.leads if lead != named]
    payload = {
        "fired_id": fired_id,
        "engagement_id": fired.engagement_id,
        "question": question.text,
        "answer": words,
        "author": named,
        "source": answer.source,
        "source_id": answer.source_id,
    }

    def plan_alerts(session: Session) -> None:
        # By each lead's choice (bot/domain/notifications.py): at once, taken by their daily
        # round-up (due a day after it, so sent alone should the round-up not take it), or not.
        modes = notifications.modes_of(session, team_id=fired.team_id, user_ids=leads)
        for lead in leads:
            due_at, held = now, {}
            if modes[lead] == notifications.SUMMARIES:
                continue
            if modes[lead] == notifications.DAILY:
                tz = notifications.zone_of(session, team_id=fired.team_id, user_id=lead)
                roundup, due = notifications.plan_roundup(
                    session,
                    team_id=fired.team_id,
                    user_id=lead,
                    tz=tz or details.engagement.timezone,
                    now=now,
                )
                due_at, held = due + timedelta(days=1), {"held_for": roundup}
            jobs.plan(
                session,
                team_id=fired.team_id,
                key=job_keys.question_alert(fired_id, lead),
                kind=JobKind.QUESTION_ALERT,
                due_at=due_at,
                now=now,
                payload={**payload, **held},
                checkin_id=answer.checkin_id,
                user_id=lead,
            )

    # Planned last in the transaction, after the answer's own summary: sent after it, the
    # alert can link to it.
    jobs.plan_later(session, f"question alert {fired_id}", plan_alerts)
    return f"rule {fired_id}: alert planned for {', '.join(leads) or 'nobody'}"


def named_author(answer: QuestionAnswer, details: engagements.EngagementDetails) -> str | None:
    """Who the alarm may name as having answered: the author of an update's or a review's
    answer while they are on the engagement; never anyone for a survey's answer."""
    author = answer.author_user_id
    if answer.source == "feedback" or author is None:
        return None
    return author if author in concerns.members(details) else None


def _raise(
    session: Session,
    fired: QuestionRuleFired,
    answer: QuestionAnswer,
    question: Question,
    details: engagements.EngagementDetails,
    words: str,
    named: str | None,
    now: datetime,
) -> str:
    rule = rule_of(question)
    assert rule is not None and fired.id is not None
    # Raised by who answered; a survey's answer (nobody named) from the leads' side.
    actor = named or (details.leads[0] if details.leads else None)
    if actor is None:
        return f"rule {fired.id}: no lead to raise the concern"
    owner = None  # the register's default: the first vendor contact, else the first lead
    if rule.owner == OwnerRule.AUTHOR and named is not None:
        owner = named
    elif rule.owner == OwnerRule.LEAD and details.leads:
        owner = details.leads[0]
    record = RECORD_WORDS.get(answer.source, answer.source)
    title = _fit(f"{question.text} — {words}", MAX_TITLE)
    by = f"<@{named}>" if named else "an answer to the survey (no name)"
    description = (
        f"Raised by Cadence from a {record} answer: asked “{question.text}”, {by} answered "
        f"“{words}”, an answer this question's rule raises a concern for."
    )
    concern = concerns.raise_concern(
        session=session,
        team_id=fired.team_id,
        actor=actor,
        engagement_id=details.id,
        data=ConcernInput(
            title=title,
            severity=rule.severity,
            category=rule.category,
            description=description[: concerns.MAX_TEXT],
            owner=owner,
        ),
        now=now,
        admins=(),
        source=SOURCE,
        source_ref=f"{fired.scope}:question:{question.key}",
    )
    fired.concern_id = concern.id
    session.add(fired)
    return f"rule {fired.id}: concern #{concern.id} raised"


def _fit(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
