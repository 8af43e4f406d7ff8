"""Risk reviews: whoever a risk review check-in asks goes through the engagement's open
concerns, saying of each whether it is still open, mitigated or resolved (with a note), and may
raise a new one. The answers change the concern register itself, so the register, not the
review, stays the one place a concern's state is read from.

Who may change what: the check-in's recipients answer it, but a review grants no power over
the register. Marking a concern mitigated or resolved follows the register's own rule (its
owner, or a lead of the engagement, or a Cadence admin): otherwise scheduling a review for
someone would widen who can close concerns. Anyone answering may say a concern is still open
and add a note (a comment on it). The form offers each person only what they may do, and the
save checks it again (a concern may have been reassigned while the form was open).

Every change goes through `bot/domain/concerns.py` (its event, its audit, its card edited, a
line in its thread); the review itself is stored with its answers, and the check-in's answer is
recorded, all in one transaction: nothing is written unless every answer is valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from bot.domain import checkins, concerns, engagements
from bot.domain.checkin_kinds import FormFamily, kinds_answered_with
from bot.domain.concerns import MAX_TEXT, OPEN_STATUSES, ConcernInput
from bot.domain.errors import FieldErrors, NotAllowed, UserError
from bot.domain.questions import answering, rules
from storage.models import Concern, RiskReview

RISK_REVIEW_KINDS = kinds_answered_with(FormFamily.RISK_REVIEW)
# What fits in one modal (100 blocks): three blocks a concern (its headline, the choice, the
# note), and the form's own seven (the introduction, the count of the rest, a divider, the new
# concern's heading and its three fields). The rest are counted, worst first shown.
MAX_IN_FORM = 31
NEW_FIELDS = {"title": "new_title", "severity": "new_severity", "category": "new_category"}


class Choice(StrEnum):
    STILL_OPEN = "still_open"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"


CHOICE_LABELS = {
    Choice.STILL_OPEN: "Still open",
    Choice.MITIGATED: "Mitigated",
    Choice.RESOLVED: "Resolved",
}
NOTE_NEEDED = {
    Choice.MITIGATED: "Say what was done to reduce it: the register is read months later.",
    Choice.RESOLVED: "Say how it was resolved: the register is read months later.",
}


def concerns_with(questions: int) -> int:
    """How many concerns the form lists beside `questions` custom questions: each question is
    one block after a heading of their own, and the concerns give up their three blocks each
    until the whole form fits in one modal again."""
    taken = questions + 1 if questions else 0
    return MAX_IN_FORM - -(-taken // 3)


def choice_id(concern_id: int) -> str:
    """The action (and block) id of a concern's choice in the form."""
    return f"status_{concern_id}"


def note_id(concern_id: int) -> str:
    return f"note_{concern_id}"


# --- the form ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewItem:
    """An open concern as the form shows it; `may_change`: this person may mark it mitigated
    or resolved (its owner, a lead, an admin)."""

    concern: Concern
    may_change: bool

    @property
    def id(self) -> int:
        assert self.concern.id is not None
        return self.concern.id


@dataclass(frozen=True)
class RiskReviewForm:
    engagement_id: int
    engagement_name: str
    checkin_id: int
    items: tuple[ReviewItem, ...]
    more: int  # open concerns beyond what fits in the form
    late: bool = False
    # The check-in's custom questions, after the review's own fields, filled in.
    questions: answering.Asking = field(default_factory=answering.Asking)

    def metadata(self) -> dict[str, Any]:
        return {
            "engagement_id": self.engagement_id,
            "checkin_id": self.checkin_id,
            "concern_ids": [item.id for item in self.items],
            **self.questions.metadata(),
        }


def form_for_checkin(
    *,
    session: Session,
    context: checkins.CheckInContext,
    user_id: str,
    admins: Iterable[str],
    now: datetime,
) -> RiskReviewForm:
    """The review a recipient opens from the prompt: the open concerns, worst and oldest first,
    as many as fit; refused when not asked, answered already, or the engagement is archived."""
    engagement = context.engagement
    if context.kind not in RISK_REVIEW_KINDS:
        raise UserError("That check-in does not ask for a risk review.")
    if context.recipient is None:
        raise NotAllowed(
            f"This risk review for {engagement.name} was not sent to you, so there is nothing "
            "for you to answer."
        )
    if context.recipient.status == checkins.ANSWERED:
        raise UserError(
            f"You already answered this risk review for {engagement.name}, thank you. The "
            f"concerns themselves can be changed any time from their cards in "
            f"<#{engagement.channel_id}>."
        )
    if engagement.archived_at is not None:
        raise UserError(f"{engagement.name} is archived; it takes no more reviews.")
    assert engagement.id is not None and context.checkin.id is not None
    details = engagements.load_details(session=session, engagement=engagement)
    asking = answering.for_checkin(
        session, engagement_id=engagement.id, cadence_id=context.checkin.cadence_id,
        author=user_id,
    )  # fmt: skip
    page = concerns.list_open(
        session=session, team_id=engagement.team_id, engagement_id=engagement.id,
        limit=concerns_with(len(asking.questions)),
    )  # fmt: skip
    admins = set(admins)
    items = tuple(
        ReviewItem(concern, concerns.may_handle(concern, details, user_id, admins))
        for concern, _ in page.rows
    )
    return RiskReviewForm(
        engagement_id=engagement.id,
        engagement_name=engagement.name,
        checkin_id=context.checkin.id,
        items=items,
        more=page.total - len(items),
        late=context.is_late(now),
        questions=asking,
    )


# --- validation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the reviewer said of one concern (valid, allowed), before it is applied."""

    concern_id: int
    title: str
    severity: str
    choice: Choice
    note: str
    status_before: str

    @property
    def changes_something(self) -> bool:
        return self.choice != Choice.STILL_OPEN or bool(self.note)


def validate(
    *,
    raw: Mapping[str, Any],
    reviewed: Sequence[Concern],
    details: engagements.EngagementDetails,
    actor: str,
    admins: Iterable[str],
    today: date,
) -> tuple[tuple[Answer, ...], ConcernInput | None]:
    """Check every answer and the new concern at once; FieldErrors names each field to fix
    (by action id), so nothing is written unless all of it is valid and allowed."""
    errors: dict[str, str] = {}
    answers: list[Answer] = []
    admins = set(admins)
    for concern in reviewed:
        assert concern.id is not None
        raw_choice = raw.get(choice_id(concern.id)) or Choice.STILL_OPEN
        note = str(raw.get(note_id(concern.id)) or "").strip()
        try:
            choice = Choice(raw_choice)
        except ValueError:
            errors[choice_id(concern.id)] = "Choose still open, mitigated or resolved."
            continue
        if len(note) > MAX_TEXT:
            errors[note_id(concern.id)] = f"At most {MAX_TEXT} characters (this has {len(note)})."
        if choice != Choice.STILL_OPEN:
            if concern.status not in OPEN_STATUSES:
                errors[choice_id(concern.id)] = (
                    f"Concern #{concern.id} was {concern.status} meanwhile; leave it still open."
                )
            elif not concerns.may_handle(concern, details, actor, admins):
                owner = f"<@{concern.owner_user_id}>" if concern.owner_user_id else "its owner"
                errors[choice_id(concern.id)] = (
                    f"Only {owner} or a lead can mark concern #{concern.id} {choice}. Leave it "
                    "still open, with a note if you like."
                )
            elif not note:
                errors[note_id(concern.id)] = NOTE_NEEDED[choice]
        answers.append(
            Answer(concern.id, concern.title, concern.severity, choice, note, concern.status)
        )
    new = _new_concern(raw, errors, today)
    if new is not None and actor not in concerns.members(details) and actor not in admins:
        errors[NEW_FIELDS["title"]] = (
            "New concerns are raised by the people on the engagement; ask a lead to add you."
        )
    if errors:
        raise FieldErrors(errors)
    return tuple(answers), new


def _new_concern(
    raw: Mapping[str, Any], errors: dict[str, str], today: date
) -> ConcernInput | None:
    """The "raise a new one" fields: all empty is none; otherwise a complete concern."""
    given = {field: raw.get(action) for field, action in NEW_FIELDS.items()}
    if not any(str(v or "").strip() for v in given.values()):
        return None
    try:
        return concerns.validate(given, today=today)
    except FieldErrors as e:
        for field, text in e.errors.items():
            errors[NEW_FIELDS.get(field, NEW_FIELDS["title"])] = text
        return None


# --- saving ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raised:
    concern_id: int
    title: str
    severity: str
    category: str


@dataclass(frozen=True)
class SavedReview:
    """What the channel's summary needs, read in the saving transaction."""

    review_id: int
    checkin_id: int
    engagement_name: str
    channel_id: str
    author: str
    answers: tuple[Answer, ...]
    raised: Raised | None
    more: int  # open concerns the form could not show
    late: bool
    answered: tuple[answering.Answered, ...] = ()  # the check-in's custom questions

    @property
    def changed(self) -> tuple[Answer, ...]:
        return tuple(a for a in self.answers if a.changes_something)

    @property
    def unchanged(self) -> int:
        return len(self.answers) - len(self.changed)


def save(
    *,
    session: Session,
    team_id: str,
    actor: str,
    raw: Mapping[str, Any],
    checkin_id: int | None,
    concern_ids: Sequence[int],
    admins: Iterable[str],
    now: datetime,
    question_ids: Any = None,
) -> SavedReview:
    """Record the review: the check-in's answer, the review with its answers, each concern
    changed through the register (resolved with its note, mitigated, a note on one still open),
    the new concern, if any, and the answers to the check-in's own questions (whose rules may
    raise the alarm). The form's ids are hints, re-checked here."""
    if checkin_id is None:
        raise UserError("This form is damaged; open it again from the check-in's button.")
    admins = set(admins)
    context = checkins.load_for_answer(
        session=session, team_id=team_id, checkin_id=checkin_id, user_id=actor
    )
    form = form_for_checkin(session=session, context=context, user_id=actor, admins=admins, now=now)
    details = engagements.load_details(session=session, engagement=context.engagement)
    reviewed = _concerns_of(session, team_id, form.engagement_id, concern_ids)
    questions = answering.recheck(
        session, team_id=team_id, cadence_id=context.checkin.cadence_id, ids=question_ids
    )
    errors: dict[str, str] = {}
    try:
        answers, new = validate(
            raw=raw, reviewed=reviewed, details=details, actor=actor, admins=admins,
            today=now.date(),
        )  # fmt: skip
    except FieldErrors as e:
        errors = dict(e.errors)
    values, problems = answering.check(raw, questions)
    if errors or problems:
        raise FieldErrors({**errors, **problems})
    late = checkins.record_answer(
        session=session, team_id=team_id, checkin_id=checkin_id, user_id=actor, now=now
    )
    review = RiskReview(
        team_id=team_id,
        engagement_id=form.engagement_id,
        checkin_id=checkin_id,
        author=actor,
        answers={},
        late=late,
        submitted_at=now,
    )
    session.add(review)
    session.flush()
    assert review.id is not None
    for answer in answers:
        _apply(session, team_id, actor, answer, admins, now)
    raised = None
    if new is not None:
        concern = concerns.raise_concern(
            session=session, team_id=team_id, actor=actor, engagement_id=form.engagement_id,
            data=new, now=now, admins=admins, source="review",
            source_ref=f"risk-review:{review.id}",
        )  # fmt: skip
        assert concern.id is not None
        raised = Raised(concern.id, concern.title, concern.severity, concern.category)
    review.answers = {
        "concerns": [
            {
                "concern_id": a.concern_id,
                "choice": a.choice.value,
                "note": a.note,
                "status_before": a.status_before,
            }
            for a in answers
        ],
        "raised": raised.concern_id if raised else None,
        "not_shown": form.more,
        **({"questions": answering.snapshot(questions, values)} if questions else {}),
    }
    session.add(review)
    if questions:
        stored = answering.store(
            session, team_id=team_id, engagement_id=form.engagement_id, checkin_id=checkin_id,
            source="risk_review", source_id=review.id, author=actor, questions=questions,
            values=values, at=now,
        )  # fmt: skip
        rules.fire(
            session, team_id=team_id, engagement_id=form.engagement_id, checkin_id=checkin_id,
            stored=stored, now=now,
        )  # fmt: skip
    return SavedReview(
        review_id=review.id,
        checkin_id=checkin_id,
        engagement_name=details.engagement.name,
        channel_id=details.engagement.channel_id,
        author=actor,
        answers=answers,
        raised=raised,
        more=form.more,
        late=late,
        answered=answering.answered_of(review.answers.get("questions")),
    )


def _concerns_of(
    session: Session, team_id: str, engagement_id: int, concern_ids: Sequence[int]
) -> list[Concern]:
    """The concerns the form showed, in its order (one query). A concern never leaves its
    engagement, so an id that is not one of this engagement's in this workspace can only come
    from a form that was tampered with: the whole review is refused, not half saved."""
    if not concern_ids:
        return []
    rows = session.exec(
        select(Concern)
        .where(Concern.team_id == team_id)
        .where(Concern.engagement_id == engagement_id)
        .where(col(Concern.id).in_(list(concern_ids)))
    ).all()
    by_id = {c.id: c for c in rows}
    if any(i not in by_id for i in concern_ids):
        raise UserError("This form is damaged; open it again from the check-in's button.")
    return [by_id[i] for i in concern_ids]


def _apply(
    session: Session, team_id: str, actor: str, answer: Answer, admins: set[str], now: datetime
) -> None:
    """One answer through the register (its rules are checked there again, under its lock)."""
    common = {"session": session, "team_id": team_id, "actor": actor,
              "concern_id": answer.concern_id, "note": answer.note, "now": now, "admins": admins}  # fmt: skip
    try:
        if answer.choice == Choice.RESOLVED:
            concerns.resolve(**common)
        elif answer.choice == Choice.MITIGATED:
            concerns.mitigate(**common)
        elif answer.note:
            concerns.comment(**common)
    except UserError as e:  # the whole review is rolled back; say so on that concern
        raise FieldErrors({note_id(answer.concern_id): e.message}) from e
