"""Everything Cadence stores about one person of a workspace: exporting it (a subject access
request) and forgetting them (erasure), for `python -m bot person-export` and `forget-person`.

`PERSON_COLUMNS` and `PERSON_LISTS` name every column that holds a person's Slack id
(tests/test_person_data.py fails for a new one not named here or in `NOT_PEOPLE`).

Forgetting someone, in one transaction:
- they leave every audience: their engagement roles, cadences' chosen audiences and
  escalations, deliverables' acceptors, evidence reviewers, an engagement's escalation
  contact; their pending messages are cancelled; their `Person` row (their notification
  choice with it) and time away go, and so do notices held for a round-up, to them or
  naming them;
- what they wrote in answers is erased: an update's text (summary, accomplishments, next
  steps, blockers, reason, in every revision), a feedback comment, a risk review's notes, a
  text answer to a custom question, the notes of the changes they made to concerns,
  deliverables and evidence, and the description and quote of a concern they raised;
- everywhere else their id is replaced by one pseudonym made for this erasure (random, so it
  leads back to nobody; in jobs' keys too), so every row still counts: a RAG, a KPI figure, a rating, an on-time
  answer stay where they were and the figures do not move.
The audit trail keeps their id: its events cannot change without breaking its chain
(`storage/audit_chain.py`); they go with the workspace's audit retention.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import Session, SQLModel, col

from storage.jobs import JobStatus
from storage.models import (
    AssuranceEvent,
    AssuranceItem,
    AssuranceRequirement,
    AssuranceType,
    AuditEvent,
    AwayPeriod,
    Cadence,
    CheckInRecipient,
    Concern,
    ConcernEvent,
    Deliverable,
    DeliverableEvent,
    Engagement,
    EngagementMember,
    Feedback,
    Person,
    Question,
    QuestionAnswer,
    RiskReview,
    RoundupItem,
    ScheduledJob,
    StatusUpdate,
    UpdateRevision,
)

# Every column holding one person's Slack id, by table.
PERSON_COLUMNS: dict[type[SQLModel], tuple[str, ...]] = {
    Engagement: ("created_by", "escalation_user_id"),
    EngagementMember: ("user_id",),
    Cadence: ("created_by",),
    CheckInRecipient: ("user_id",),
    StatusUpdate: ("author_user_id",),
    UpdateRevision: ("editor_user_id",),
    Feedback: ("author_user_id",),
    Concern: ("owner_user_id", "raised_by"),
    ConcernEvent: ("actor_user_id",),
    AuditEvent: ("actor_user_id",),
    AwayPeriod: ("user_id",),
    ScheduledJob: ("user_id",),
    Person: ("user_id",),
    RiskReview: ("author",),
    Deliverable: ("owner_user_id", "created_by"),
    DeliverableEvent: ("actor_user_id",),
    Question: ("created_by",),
    QuestionAnswer: ("author_user_id",),
    AssuranceType: ("created_by",),
    AssuranceRequirement: ("created_by",),
    AssuranceItem: ("owner_user_id", "created_by"),
    RoundupItem: ("user_id",),
    AssuranceEvent: ("actor_user_id",),
}
# Every JSON list of people's Slack ids, by table.
PERSON_LISTS: dict[type[SQLModel], tuple[str, ...]] = {
    Cadence: ("escalation_user_ids", "audience_user_ids"),
    Deliverable: ("acceptors",),
    AssuranceItem: ("reviewers",),
}
# Columns of a Slack id's length that name no person (channels, messages, files).
NOT_PEOPLE = frozenset(
    {"channel_id", "digest_channel_id", "result_channel", "evidence_file_id", "thread_ts"}
    | {"message_ts", "result_ts", "team_id"}
)
# An update's text fields (its row and each revision's content).
UPDATE_TEXT = ("summary", "accomplishments", "next_steps", "blockers", "reason")
TEXT_KINDS = ("short_text", "long_text")
# Who the audit trail names for a command run from the command line.
CLI_ACTOR = "cli"


def pseudonym() -> str:
    """A stand-in id for one forgotten person: random, so it leads back to nobody; shaped
    like a Slack user id so every place that shows a person shows an unknown one."""
    return f"UFORGOTTEN{secrets.token_hex(5).upper()}"


def _rows(session: Session, model: type[SQLModel], team_id: str, user_id: str) -> list[Any]:
    """The model's rows of the workspace naming the person in a column or a list."""
    table = model.__table__  # type: ignore[attr-defined]
    found: dict[Any, Any] = {}
    columns = PERSON_COLUMNS.get(model, ())
    if columns:
        for column in columns:
            query = select(model).where(table.c.team_id == team_id)
            for row in session.execute(query.where(table.c[column] == user_id)).scalars():
                found[row.id if hasattr(row, "id") else id(row)] = row
    for column in PERSON_LISTS.get(model, ()):
        for row in session.execute(select(model).where(table.c.team_id == team_id)).scalars():
            if user_id in (getattr(row, column) or []):
                found[row.id] = row
    return [found[k] for k in sorted(found)]


def export(session: Session, *, team_id: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every stored row that names the person, by table (never a token: the OAuth tables are
    not read). Anonymous feedback is not theirs to find: nothing ties it to them."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for model in _models():
        rows = _rows(session, model, team_id, user_id)
        if rows:
            tables[model.__tablename__] = [row.model_dump() for row in rows]  # type: ignore[attr-defined]
    return tables


def _models() -> list[type[SQLModel]]:
    return list(dict.fromkeys([*PERSON_COLUMNS, *PERSON_LISTS]))


def forget(session: Session, *, team_id: str, user_id: str, now: datetime) -> tuple[str, dict]:
    """Forget the person (see the module's docstring); their pseudonym and what changed, by
    table. In the caller's transaction: all of it or nothing."""
    as_ = pseudonym()
    counts: dict[str, int] = {}

    def note(name: str, n: int) -> None:
        if n:
            counts[name] = counts.get(name, 0) + n

    # Pending messages to them are cancelled; what their jobs carried goes.
    note("messages cancelled", session.execute(
        update(ScheduledJob)
        .where(col(ScheduledJob.team_id) == team_id)
        .where(col(ScheduledJob.user_id) == user_id)
        .where(col(ScheduledJob.status) == JobStatus.PENDING)
        .values(status=JobStatus.CANCELLED, error="person forgotten", updated_at=now)
    ).rowcount)  # fmt: skip
    session.execute(
        update(ScheduledJob)
        .where(col(ScheduledJob.team_id) == team_id)
        .where(col(ScheduledJob.user_id) == user_id)
        .where(col(ScheduledJob.status) != JobStatus.CLAIMED)
        .values(payload={})
    )
    # A job's key names the person it was for (unique keys: it is rewritten, never dropped, so
    # what was sent once is still known as sent).
    note("job keys", session.execute(
        update(ScheduledJob)
        .where(col(ScheduledJob.team_id) == team_id)
        .where(col(ScheduledJob.key).contains(user_id))
        .values(key=func.replace(col(ScheduledJob.key), user_id, as_))
    ).rowcount)  # fmt: skip
    # Notices held for a round-up: those to them, and those naming them (their update's words).
    note(RoundupItem.__tablename__, session.execute(
        delete(RoundupItem).where(col(RoundupItem.team_id) == team_id)
        .where((col(RoundupItem.user_id) == user_id)
               | col(RoundupItem.line).contains(f"<@{user_id}>"))
    ).rowcount)  # fmt: skip
    # Every audience.
    for model in (EngagementMember, Person, AwayPeriod):
        note(model.__tablename__, session.execute(
            delete(model).where(col(model.team_id) == team_id)
            .where(col(model.user_id) == user_id)
        ).rowcount)  # fmt: skip
    for model, columns in PERSON_LISTS.items():
        for row in _rows(session, model, team_id, user_id):
            for column in columns:
                people = getattr(row, column) or []
                if user_id in people:
                    setattr(row, column, [p for p in people if p != user_id])
            session.add(row)
            note(f"{model.__tablename__} audiences", 1)
    for model, column in ((Engagement, "escalation_user_id"), (Concern, "owner_user_id")):
        table = model.__table__  # type: ignore[attr-defined]
        note(f"{model.__tablename__}.{column} cleared", session.execute(
            update(table).where(table.c.team_id == team_id).where(table.c[column] == user_id)
            .values({column: None})
        ).rowcount)  # fmt: skip
    # What they wrote.
    _erase_text(session, team_id, user_id, note)
    # Their identity, everywhere else but the audit trail.
    for model, columns in PERSON_COLUMNS.items():
        if model in (AuditEvent, EngagementMember, Person, AwayPeriod, RoundupItem):
            continue
        table = model.__table__  # type: ignore[attr-defined]
        for column in columns:
            note(f"{model.__tablename__}.{column}", session.execute(
                update(table).where(table.c.team_id == team_id)
                .where(table.c[column] == user_id).values({column: as_})
            ).rowcount)  # fmt: skip
    return as_, counts


def _erase_text(session: Session, team_id: str, user_id: str, note) -> None:
    updates = list(
        session.execute(
            select(StatusUpdate)
            .where(col(StatusUpdate.team_id) == team_id)
            .where(col(StatusUpdate.author_user_id) == user_id)
        ).scalars()
    )
    for row in updates:
        for field in UPDATE_TEXT:
            setattr(row, field, "")
        row.blocker_lines = []
        session.add(row)
    note("update texts erased", len(updates))
    ids = [u.id for u in updates]
    revisions = session.execute(
        select(UpdateRevision)
        .where(col(UpdateRevision.team_id) == team_id)
        .where(
            col(UpdateRevision.update_id).in_(ids) | (col(UpdateRevision.editor_user_id) == user_id)
        )
    ).scalars()
    for revision in revisions:
        revision.content = _erased_content(revision.content)
        session.add(revision)
    note("feedback comments erased", session.execute(
        update(Feedback).where(col(Feedback.team_id) == team_id)
        .where(col(Feedback.author_user_id) == user_id).values(comment="")
    ).rowcount)  # fmt: skip
    for review in session.execute(
        select(RiskReview)
        .where(col(RiskReview.team_id) == team_id)
        .where(col(RiskReview.author) == user_id)
    ).scalars():
        answers = dict(review.answers or {})
        answers["concerns"] = [{**a, "note": ""} for a in answers.get("concerns", [])]
        review.answers = answers
        session.add(review)
        note("risk review notes erased", 1)
    text_questions = select(Question.id).where(col(Question.kind).in_(TEXT_KINDS))
    note("text answers erased", session.execute(
        update(QuestionAnswer).where(col(QuestionAnswer.team_id) == team_id)
        .where(col(QuestionAnswer.author_user_id) == user_id)
        .where(col(QuestionAnswer.question_id).in_(text_questions))
        .values(value="")
    ).rowcount)  # fmt: skip
    for model in (ConcernEvent, DeliverableEvent, AssuranceEvent):
        note(f"{model.__tablename__} notes erased", session.execute(
            update(model).where(col(model.team_id) == team_id)
            .where(col(model.actor_user_id) == user_id).values(note="")
        ).rowcount)  # fmt: skip
    note("concern descriptions erased", session.execute(
        update(Concern).where(col(Concern.team_id) == team_id)
        .where(col(Concern.raised_by) == user_id).values(description="", quote="")
    ).rowcount)  # fmt: skip


def _erased_content(content: dict[str, Any] | None) -> dict[str, Any]:
    erased = dict(content or {})
    for field in UPDATE_TEXT:
        if field in erased:
            erased[field] = ""
    if "blocker_lines" in erased:
        erased["blocker_lines"] = []
    if isinstance(erased.get("deliverables"), list):  # what they said of their deliverables
        erased["deliverables"] = [
            {**d, "note": ""} if isinstance(d, dict) and "note" in d else d
            for d in erased["deliverables"]
        ]
    return erased


def count_of(tables: dict[str, Iterable[Any]]) -> int:
    return sum(len(list(rows)) for rows in tables.values())
