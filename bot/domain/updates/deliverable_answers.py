"""The deliverables a status update asks about, and what a valid answer is (pure).

The form asks the author about each deliverable they own on the engagement that is overdue or
due within two weeks and not yet submitted: on track, at risk, or will be late (a new date and
the reason). A "will be late" is re-planned through the register (`save`); the answers are kept
in the update's revision content, like KPI figures, so the history keeps an "at risk" that no
register records. Fields are keyed by action_id so the handler's FieldErrors land inline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.domain import moments

HORIZON = timedelta(days=14)  # asked about when due within this, or overdue
MAX_ASKED = 10  # three blocks each: the form stays far below Slack's 100 blocks
MAX_REASON = 3000
ON_TRACK, AT_RISK, LATE = "on_track", "at_risk", "late"
ANSWERS = {ON_TRACK: "On track", AT_RISK: "At risk", LATE: "Will be late"}


@dataclass(frozen=True)
class DeliverableField:
    """A deliverable as the form asks about it: `due_on` is its due date when asked (for an
    edit, the date the update recorded), the date a "will be late" must come after; `given`,
    for an edit, the new date the update gave already (kept, it stands even once past)."""

    id: int
    title: str
    due_on: date
    overdue: bool = False
    given: date | None = None

    @property
    def action_id(self) -> str:
        return f"deliverable_{self.id}"

    @property
    def due_action_id(self) -> str:
        return f"deliverable_{self.id}_due"

    @property
    def reason_action_id(self) -> str:
        return f"deliverable_{self.id}_reason"


@dataclass(frozen=True)
class Asked:
    """The deliverables a form asks about, and how many more were left off (`MAX_ASKED`)."""

    fields: tuple[DeliverableField, ...] = ()
    more: int = 0


@dataclass(frozen=True)
class DeliverableAnswer:
    """One answer as a revision keeps it: the deliverable as asked, and what was said."""

    deliverable_id: int
    title: str
    due_on: date
    answer: str
    new_due_on: date | None = None
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "deliverable_id": self.deliverable_id,
            "title": self.title,
            "due_on": self.due_on.isoformat(),
            "answer": self.answer,
            "new_due_on": self.new_due_on.isoformat() if self.new_due_on else None,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: Any) -> DeliverableAnswer | None:
        """An answer read back from a revision; None for anything not shaped as one."""
        try:
            new_due = data.get("new_due_on")
            return cls(
                deliverable_id=int(data["deliverable_id"]),
                title=str(data["title"]),
                due_on=date.fromisoformat(data["due_on"]),
                answer=data["answer"] if data["answer"] in ANSWERS else ON_TRACK,
                new_due_on=date.fromisoformat(new_due) if new_due else None,
                reason=str(data.get("reason") or ""),
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            return None


def answers_of(content: Mapping[str, Any] | None) -> tuple[DeliverableAnswer, ...]:
    """The deliverable answers a revision's content recorded (none before there were any)."""
    found = (DeliverableAnswer.from_json(d) for d in (content or {}).get("deliverables") or ())
    return tuple(a for a in found if a is not None)


def fields_of(answers: Sequence[DeliverableAnswer]) -> tuple[DeliverableField, ...]:
    """An edit asks again about what the update answered, each as it was asked."""
    return tuple(
        DeliverableField(
            a.deliverable_id,
            a.title,
            a.due_on,
            given=a.new_due_on if a.answer == LATE else None,
        )
        for a in answers
    )


def _new_date(errors: dict[str, str], field: DeliverableField, raw: Any, today: date):
    key = field.due_action_id
    if not raw:
        errors[key] = "Pick the date it will be delivered."
        return None
    try:
        new_due = date.fromisoformat(str(raw))
    except ValueError:
        errors[key] = "Pick a date from the calendar."
        return None
    if new_due == field.given:
        return new_due  # an edit keeping the date it gave: re-planned already
    if new_due < today:
        errors[key] = f"That date is in the past (today is {moments.day(today)}): pick a later one."
        return None
    if new_due <= field.due_on:
        errors[key] = f"It is due {moments.day(field.due_on)}: late means a later date."
        return None
    return new_due


def validate_answers(
    raw: Mapping[str, Any], fields: Sequence[DeliverableField], today: date
) -> tuple[tuple[DeliverableAnswer, ...], dict[str, str]]:
    """The answers given (a deliverable left unanswered is left out) and the errors by
    action_id: a "will be late" needs a new date, not past and after the due date, and a
    reason. `today` is the engagement's (the register's re-plan checks the same)."""
    answers: list[DeliverableAnswer] = []
    errors: dict[str, str] = {}
    for field in fields:
        answer = raw.get(field.action_id)
        if answer in (None, ""):
            continue
        if answer not in ANSWERS:
            errors[field.action_id] = "Choose on track, at risk or will be late."
            continue
        reason = raw.get(field.reason_action_id)
        reason = reason.strip() if isinstance(reason, str) else ""
        if len(reason) > MAX_REASON:
            errors[field.reason_action_id] = (
                f"At most {MAX_REASON} characters here (this has {len(reason)})."
            )
        new_due = None
        if answer == LATE:
            new_due = _new_date(errors, field, raw.get(field.due_action_id), today)
            if not reason:
                errors[field.reason_action_id] = (
                    "Say why it will be late: the register keeps the reason with the new date."
                )
        answers.append(
            DeliverableAnswer(
                field.id,
                field.title,
                field.due_on,
                answer,
                new_due,
                reason if answer != ON_TRACK else "",
            )
        )
    return tuple(answers), errors
