"""Feedback surveys: client stakeholders rate the vendor (1–5) and comment, optionally keeping
their name from the vendor.

Anonymity that holds. An anonymous answer is stored without its author; who answered
a survey is recorded apart, on the check-in's recipient rows, for reminders only and without
the moment (`checkins.record_answer`), and an answer is stored with the moment it counts from,
never the second it was given (`counted_at`), so neither a timestamp nor an order ties the two.
Nobody is told of one answer: no DM per answer (a named answer's ratings beside an aggregate
would give an anonymous one away by subtraction), and ratings are only ever shown as aggregates
over at least `MIN_ANSWERS` answers (`feedback_results` for a survey and the groups the export
shows, `figures` for the digest, the health card and the Home tab). Nothing is written unless
the answer is valid and the person may give it; an answer to a check-in is recorded in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.domain import checkins, engagements
from bot.domain.checkin_kinds import FormFamily, kinds_answered_with
from bot.domain.errors import FieldErrors, NotAllowed, UserError
from bot.domain.questions import answering, rules
from storage.models import CheckIn, Feedback

FEEDBACK_KINDS = kinds_answered_with(FormFamily.FEEDBACK)
RATINGS = ("communication", "quality", "timeliness", "overall")
RATING_LABELS = {
    "communication": "Communication",
    "quality": "Quality of work",
    "timeliness": "Timeliness",
    "overall": "Overall",
}
SCALE = {1: "poor", 2: "below expectations", 3: "as expected", 4: "good", 5: "excellent"}
MAX_COMMENT = 3000
ANONYMOUS = "anonymous"
# The fewest answers any rating is shown over, anywhere (the results, figures, the export): with
# one or two, an average is close to someone's own rating, and who answered is easy to guess.
MIN_ANSWERS = 3


@dataclass(frozen=True)
class FeedbackInput:
    """A complete, valid survey answer."""

    communication: int
    quality: int
    timeliness: int
    overall: int
    comment: str = ""
    anonymous: bool = False

    def ratings(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in RATINGS}


def validate(raw: Mapping[str, Any]) -> FeedbackInput:
    """Check the survey's values (by action_id); raise FieldErrors naming each one to fix."""
    errors: dict[str, str] = {}
    ratings: dict[str, int] = {}
    for key in RATINGS:
        try:
            rating = int(raw.get(key) or 0)
        except (TypeError, ValueError):
            rating = 0
        if rating not in SCALE:
            errors[key] = f"Rate {RATING_LABELS[key].lower()} from 1 (poor) to 5 (excellent)."
        ratings[key] = rating
    comment = (raw.get("comment") or "").strip()
    if len(comment) > MAX_COMMENT:
        errors["comment"] = f"At most {MAX_COMMENT} characters here (this has {len(comment)})."
    if errors:
        raise FieldErrors(errors)
    anonymous = raw.get("anonymous") or []
    return FeedbackInput(
        **ratings,
        comment=comment,
        anonymous=ANONYMOUS in anonymous if isinstance(anonymous, list | tuple) else False,
    )


# --- the form: for whom ------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackForm:
    engagement_id: int
    engagement_name: str
    vendor: str
    checkin_id: int | None = None
    # The survey's custom questions (a check-in's only), after its own fields.
    questions: answering.Asking = field(default_factory=answering.Asking)

    def metadata(self) -> dict[str, Any]:
        return {
            "engagement_id": self.engagement_id,
            "checkin_id": self.checkin_id,
            **self.questions.metadata(),
        }


def may_give_ad_hoc(
    details: engagements.EngagementDetails, user_id: str, admins: Iterable[str]
) -> bool:
    return user_id in details.stakeholders or user_id in details.leads or user_id in set(admins)


def _not_allowed(details: engagements.EngagementDetails) -> NotAllowed:
    """Said to someone who may not give feedback: not who the stakeholders are, nor the vendor
    (the engagement's business); only the leads, whom to ask."""
    leads = ", ".join(f"<@{u}>" for u in details.leads)
    return NotAllowed(
        f"Feedback for {details.engagement.name} comes from its client stakeholders and leads. "
        f"Ask a lead ({leads}) to add you as a stakeholder if you should give it."
    )


def form_for_checkin(
    *, context: checkins.CheckInContext, user_id: str, session: Session | None = None
) -> FeedbackForm:
    """The survey a recipient opens from a check-in prompt; refused when not asked or answered.
    With a `session`, the survey's custom questions too (filled with the person's last named
    answers: an anonymous one has no author and is never repeated)."""
    engagement = context.engagement
    if context.kind not in FEEDBACK_KINDS:
        raise UserError("That check-in does not ask for feedback.")
    if context.recipient is None:
        raise NotAllowed(
            f"This feedback survey for {engagement.name} was not sent to you, so there is "
            "nothing for you to answer."
        )
    if context.recipient.status == checkins.ANSWERED:
        raise UserError(
            f"You already answered this feedback survey for {engagement.name}, thank you. "
            "Answers cannot be changed; to add something, send more with "
            f"`/cadence feedback {engagement.handle}`."
        )
    if engagement.archived_at is not None:
        raise UserError(f"{engagement.name} is archived; it takes no more feedback.")
    assert engagement.id is not None
    asking = (
        answering.for_checkin(
            session,
            engagement_id=engagement.id,
            cadence_id=context.checkin.cadence_id,
            author=user_id,
        )
        if session is not None
        else answering.Asking()
    )
    return FeedbackForm(
        engagement.id, engagement.name, engagement.vendor, context.checkin.id, asking
    )


def form_for_person(
    *,
    session: Session,
    team_id: str,
    handle: str,
    user_id: str,
    admins: Iterable[str],
    only_for: str | None = None,
) -> FeedbackForm:
    """`/cadence feedback <eng>`: answers the person's pending survey, else ad hoc feedback.
    (`only_for`: whose engagements a mistyped handle's suggestion may name, engagements.find.)"""
    details = engagements.find(session=session, team_id=team_id, handle=handle, only_for=only_for)
    context = checkins.pending_context(
        session=session,
        team_id=team_id,
        engagement_id=details.id,
        user_id=user_id,
        kinds=FEEDBACK_KINDS,
    )
    if context is not None:
        return form_for_checkin(context=context, user_id=user_id, session=session)
    if not may_give_ad_hoc(details, user_id, admins):
        raise _not_allowed(details)
    e = details.engagement
    return FeedbackForm(details.id, e.name, e.vendor)


# --- writes ------------------------------------------------------------------------------------


def month_start(at: datetime) -> datetime:
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def counted_at(now: datetime, checkin: CheckIn | None) -> datetime:
    """The moment an answer is stored with: the moment it counts from, shared with others.

    Within a survey's window: the survey's opening (its answers count together, at its close).
    Late, or ad hoc: the first of the month (its answers count together, at the month's end),
    or just after the survey's close when that is later, so a late answer stays late. Never
    `now` itself: that second is also on the person's recipient row, their Home refresh and the
    request they sent, and would tie an anonymous answer to them.
    """
    if checkin is not None and now <= checkin.window_closes_at:
        return min(checkin.created_at, now)
    month = month_start(now)
    if checkin is not None:
        return max(month, checkin.window_closes_at + timedelta(seconds=1))
    return month


@dataclass(frozen=True)
class SavedFeedback:
    """What the confirmation needs, read in the saving transaction: nothing of who gave it."""

    engagement_name: str
    vendor: str
    anonymous: bool
    late: bool


def save(
    *,
    session: Session,
    team_id: str,
    actor: str,
    raw: Mapping[str, Any],
    engagement_id: int | None,
    checkin_id: int | None,
    admins: Iterable[str],
    now: datetime,
    question_ids: Any = None,
) -> SavedFeedback:
    """Store one survey answer, re-checking everything the form's hint claims (`question_ids`:
    the custom questions it says it asked). An anonymous answer is stored without its author,
    its custom answers too; no answer is stored with the second it was given, and a rule its
    answers trip acts only when the survey closes (`rules.survey_release`)."""
    checkin: CheckIn | None = None
    if checkin_id is not None:
        context = checkins.load_for_answer(
            session=session, team_id=team_id, checkin_id=checkin_id, user_id=actor
        )
        form = form_for_checkin(context=context, user_id=actor)
        checkin = context.checkin
        details = engagements.load_details(session=session, engagement=context.engagement)
    else:
        if engagement_id is None:
            raise UserError("This form is damaged; open it again with `/cadence feedback`.")
        details = engagements.get(session=session, team_id=team_id, engagement_id=engagement_id)
        if details.engagement.archived_at is not None:
            raise UserError(f"{details.engagement.name} is archived; it takes no more feedback.")
        if not may_give_ad_hoc(details, actor, admins):
            raise _not_allowed(details)
        form = FeedbackForm(details.id, details.engagement.name, details.engagement.vendor)
    questions = answering.recheck(
        session,
        team_id=team_id,
        cadence_id=checkin.cadence_id if checkin is not None else None,
        ids=question_ids,
    )
    errors: dict[str, str] = {}
    try:
        data = validate(raw)
    except FieldErrors as e:
        errors = dict(e.errors)
    values, problems = answering.check(raw, questions)
    if errors or problems:
        raise FieldErrors({**errors, **problems})
    late = False
    if checkin_id is not None:
        late = checkins.record_answer(
            session=session, team_id=team_id, checkin_id=checkin_id, user_id=actor, now=now
        )
    row = Feedback(
        team_id=team_id,
        engagement_id=form.engagement_id,
        checkin_id=checkin_id,
        author_user_id=None if data.anonymous else actor,
        comment=data.comment,
        anonymous=data.anonymous,
        submitted_at=counted_at(now, checkin),
        **data.ratings(),
    )
    session.add(row)
    session.flush()
    if questions:
        assert row.id is not None
        stored = answering.store(
            session,
            team_id=team_id,
            engagement_id=form.engagement_id,
            checkin_id=checkin_id,
            source="feedback",
            source_id=row.id,
            author=row.author_user_id,
            questions=questions,
            values=values,
            at=row.submitted_at,
        )
        rules.fire(
            session,
            team_id=team_id,
            engagement_id=form.engagement_id,
            checkin_id=checkin_id,
            stored=stored,
            now=now,
            release_at=rules.survey_release(now, checkin),
        )
    e = details.engagement
    return SavedFeedback(
        engagement_name=e.name, vendor=e.vendor, anonymous=data.anonymous, late=late
    )
