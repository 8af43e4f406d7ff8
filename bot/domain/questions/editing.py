"""The question editor: its grammar (`validate_definition`, pure) and the operations on a
cadence's questions or an engagement's defaults: add, edit, remove, move, apply a template,
and copy the defaults onto a new cadence.

Who may: the engagement's leads and Cadence admins, as for its cadences. Every operation takes a
`Scope`, which only `load_scope` makes, after re-reading the engagement and cadence from the
database and checking the actor; the handlers hand in ids from private_metadata only as hints.
Each change is audited with the question's definition before and after, in the caller's
transaction, under a lock on the cadence's (or engagement's) row, so two people adding at the
same moment count one after the other.

A version is never changed once answers may point at it: an edit retires it and adds the next
version under the same key and position; a removal retires it. Only `position` moves.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from bot.domain import audit
from bot.domain.checkin_kinds import FormFamily, spec_of
from bot.domain.concerns import CATEGORIES
from bot.domain.engagements import SEVERITIES, EngagementDetails, format_number, require_manager
from bot.domain.engagements import get as get_engagement
from bot.domain.errors import FieldErrors, NotFound, UserError
from bot.domain.questions import queries
from bot.domain.questions.definition import (
    CHOICE_TYPES,
    MAX_HELP,
    MAX_OPTION,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    MAX_TEXT,
    MAX_UNIT,
    NO,
    RULE_TYPES,
    TYPE_LABELS,
    YES,
    OwnerRule,
    QuestionType,
    Rule,
    RuleAction,
    definition_of,
)
from bot.domain.questions.room import family_of, room_for
from storage.models import Cadence, Engagement, Question

REQUIRED = "required"  # the editor's "Required" checkbox
HIGHER, LOWER = "higher", "lower"  # a number's direction: is a higher figure better?
NO_RULE = "none"
KEY_BYTES = 6  # a key of 12 hex characters: unique enough among one engagement's questions
DELETED = "deleted"  # a cadence's status once deleted (`cadences.CadenceStatus.DELETED`)


@dataclass(frozen=True)
class QuestionDef:
    """A complete, valid question (the editor's form after validation, or a template's)."""

    text: str
    kind: QuestionType
    required: bool = False
    help: str = ""
    options: tuple[str, ...] = ()
    unit: str = ""
    target: float | None = None
    tolerance: float | None = None
    higher_is_better: bool = True
    rule: Rule | None = None

    def columns(self) -> dict[str, Any]:
        """The definition as a `Question`'s columns (as `definition_of` reads them back)."""
        return {
            "text": self.text,
            "kind": self.kind.value,
            "required": self.required,
            "help": self.help,
            "options": list(self.options),
            "unit": self.unit,
            "target": self.target,
            "tolerance": self.tolerance,
            "higher_is_better": self.higher_is_better,
            "rule": self.rule.to_json() if self.rule else {},
        }


# --- the grammar -------------------------------------------------------------------------------


def _text(raw: Any) -> str:
    return raw.strip() if isinstance(raw, str) else ""


def _number(raw: Any) -> float | None:
    """A figure typed in a number field (a comma as the decimal mark too); None when empty.
    ValueError for what is not a finite number."""
    text = _text(raw).replace(",", ".")
    if not text:
        return None
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def parse_options(raw: Any) -> tuple[str, ...]:
    """One option per line (a leading bullet dropped), empty lines ignored."""
    lines = (line.strip().lstrip("•-*").strip() for line in _text(raw).splitlines())
    return tuple(line for line in lines if line)


def _option_problem(options: Sequence[str]) -> str | None:
    if len(options) < 2:
        return "Give at least two options, one per line."
    if len(options) > MAX_OPTIONS:
        return f"At most {MAX_OPTIONS} options (Slack's limit); you gave {len(options)}."
    long = [o for o in options if len(o) > MAX_OPTION]
    if long:
        return f"An option has at most {MAX_OPTION} characters; “{long[0][:40]}…” is longer."
    seen: set[str] = set()
    for option in options:
        if option.casefold() in seen:
            return f"“{option}” is listed twice: each option once."
        seen.add(option.casefold())
    return None


def _rule(raw: Mapping[str, Any], kind: QuestionType | None, options: Sequence[str],
          errors: dict[str, str]) -> Rule | None:  # fmt: skip
    """The rule on answers, if one is set: only on a choice or yes/no question, its answers
    among the question's own, its severity, category and owner among Cadence's."""
    action = raw.get("rule_action") or NO_RULE
    words = parse_options(raw.get("rule_on"))
    if action == NO_RULE:
        if words:
            errors["rule_action"] = (
                "Choose what these answers do (raise a concern or alert the leads), or clear "
                "the answers."
            )
        return None
    if action not in {a.value for a in RuleAction}:
        errors["rule_action"] = "Choose what the answer does."
        return None
    if kind is not None and kind not in RULE_TYPES:
        errors["rule_action"] = (
            "A rule watches the answers of a single choice, multiple choice or yes/no question; "
            f"a {TYPE_LABELS[kind].lower()} question has none to watch."
        )
        return None
    choices = (YES, NO) if kind == QuestionType.YES_NO else tuple(options)
    if not words:
        errors["rule_on"] = (
            f"Name the answers that set it off, one per line, e.g. {choices[-1] if choices else NO}."
        )
        return None
    by_word = {c.casefold(): c for c in choices}
    unknown = [w for w in words if w.casefold() not in by_word]
    if unknown and choices:
        errors["rule_on"] = (
            f"“{unknown[0][:40]}” is not an answer to this question; the answers are "
            f"{', '.join(choices)}."
        )
        return None
    on = tuple(dict.fromkeys(by_word[w.casefold()] for w in words))
    severity = raw.get("rule_severity") or "high"
    category = raw.get("rule_category") or "other"
    owner = raw.get("rule_owner") or OwnerRule.VENDOR.value
    if severity not in SEVERITIES:
        errors["rule_severity"] = "Choose the concern's severity."
    if category not in CATEGORIES:
        errors["rule_category"] = "Choose the concern's category."
    if owner not in {o.value for o in OwnerRule}:
        errors["rule_owner"] = "Choose who owns the concern."
    if errors:
        return None
    return Rule(on, RuleAction(action), severity, category, OwnerRule(owner))


def validate_definition(raw: Mapping[str, Any]) -> QuestionDef:
    """Check the editor's fields (by action_id); FieldErrors names every one to fix.

    Fields: text, kind, required (checkboxes), help, options (one per line), unit, target,
    tolerance, direction (higher|lower), rule_action (none|concern|alert), rule_on (answers,
    one per line), rule_severity, rule_category, rule_owner. Fields another type does not use
    are ignored (a number's unit on a yes/no question means nothing)."""
    errors: dict[str, str] = {}
    text = _text(raw.get("text"))
    if not text:
        errors["text"] = "Write the question, e.g. Were all critical patches applied in time?"
    elif len(text) > MAX_TEXT:
        errors["text"] = f"A question has at most {MAX_TEXT} characters; this one has {len(text)}."
    kind: QuestionType | None = None
    try:
        kind = QuestionType(raw.get("kind") or "")
    except ValueError:
        errors["kind"] = "Choose the kind of answer."
    help_text = _text(raw.get("help"))
    if len(help_text) > MAX_HELP:
        errors["help"] = f"Help has at most {MAX_HELP} characters; this has {len(help_text)}."
    options: tuple[str, ...] = ()
    if kind in CHOICE_TYPES:
        options = parse_options(raw.get("options"))
        problem = _option_problem(options)
        if problem:
            errors["options"] = problem
    unit, target, tolerance, higher = "", None, None, True
    if kind == QuestionType.NUMBER:
        unit, target, tolerance, higher = _number_fields(raw, errors)
    rule = _rule(raw, kind, options, errors)
    if errors:
        raise FieldErrors(errors)
    assert kind is not None
    return QuestionDef(
        text=text,
        kind=kind,
        required=REQUIRED in (raw.get("required") or ()),
        help=help_text,
        options=options,
        unit=unit,
        target=target,
        tolerance=tolerance,
        higher_is_better=higher,
        rule=rule,
    )


def _number_fields(
    raw: Mapping[str, Any], errors: dict[str, str]
) -> tuple[str, float | None, float | None, bool]:
    """A number's unit, target, tolerance and direction, judged as a KPI is: the tolerance
    lies on the losing side of the target (below it when higher is better)."""
    unit = _text(raw.get("unit"))
    if len(unit) > MAX_UNIT:
        errors["unit"] = f"A unit has at most {MAX_UNIT} characters."
    direction = raw.get("direction") or HIGHER
    if direction not in (HIGHER, LOWER):
        errors["direction"] = "Choose whether a higher or a lower figure is better."
    higher = direction != LOWER
    target = tolerance = None
    try:
        target = _number(raw.get("target"))
    except ValueError:
        errors["target"] = "Give the target as a number, e.g. 99.9, or leave it empty."
    try:
        tolerance = _number(raw.get("tolerance"))
    except ValueError:
        errors["tolerance"] = "Give the tolerance as a number, or leave it empty."
    if tolerance is not None and "target" not in errors:
        if target is None:
            errors["tolerance"] = "A tolerance needs a target: give the target too."
        elif (tolerance >= target) if higher else (tolerance <= target):
            side = "below" if higher else "above"
            errors["tolerance"] = (
                f"The tolerance must be {side} the target {format_number(target)} (a figure "
                f"between the two is amber), since a {'higher' if higher else 'lower'} figure "
                "is better."
            )
    return unit, target, tolerance, higher


def values_of(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A question's definition (`definition_of`, `QuestionDef.columns`) as the editor's values,
    to fill the form for an edit (what `validate_definition` reads back to the same)."""
    rule = definition.get("rule") or {}
    target, tolerance = definition.get("target"), definition.get("tolerance")
    return {
        "text": definition.get("text") or "",
        "kind": definition.get("kind"),
        "required": [REQUIRED] if definition.get("required") else [],
        "help": definition.get("help") or "",
        "options": "\n".join(definition.get("options") or ()),
        "unit": definition.get("unit") or "",
        "target": format_number(target) if target is not None else None,
        "tolerance": format_number(tolerance) if tolerance is not None else None,
        "direction": HIGHER if definition.get("higher_is_better", True) else LOWER,
        "rule_action": rule.get("action") or NO_RULE,
        "rule_on": "\n".join(rule.get("on") or ()),
        "rule_severity": rule.get("severity"),
        "rule_category": rule.get("category"),
        "rule_owner": rule.get("owner"),
    }


class NoRoom(UserError):
    """The form would have no room for the questions asked for: the message names how many
    fit (the list shows it)."""


class OutOfDate(UserError):
    """A question the list showed is no longer asked in this scope (edited, removed, or an id
    from elsewhere): the list is redrawn."""

    def __init__(self) -> None:
        super().__init__(
            "That question is out of date (changed or removed since); the list is redrawn."
        )


# --- whose questions, checked ----------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose questions are being changed: a cadence's, or (cadence None) the engagement's
    defaults. Made only by `load_scope`, once the actor is checked as one who may."""

    details: EngagementDetails
    cadence: Cadence | None

    @property
    def team_id(self) -> str:
        return self.details.engagement.team_id

    @property
    def engagement_id(self) -> int:
        return self.details.id

    @property
    def cadence_id(self) -> int | None:
        return self.cadence.id if self.cadence else None

    @property
    def family(self) -> FormFamily | None:
        return family_of(self.cadence.kind) if self.cadence else None

    @property
    def limit(self) -> int:
        return room_for(self.family) if self.cadence else MAX_QUESTIONS

    def describe(self) -> str:
        """ "cadence #12 (Status update)" or "the defaults of Acme Payments" (plain text)."""
        if self.cadence is None:
            return f"the default questions of {self.details.engagement.name}"
        spec = spec_of(self.cadence.kind)
        return f"cadence #{self.cadence.id} ({spec.title if spec else self.cadence.kind})"


def load_scope(
    session: Session,
    *,
    team_id: str,
    engagement_id: int | None,
    cadence_id: int | None,
    actor: str,
    admins: Iterable[str],
) -> Scope:
    """The scope ids name, re-read from the database: the cadence (of this workspace, not
    deleted, of the engagement named when one is), its engagement, the actor one of its leads
    or a Cadence admin, the engagement not archived."""
    cadence = None
    if cadence_id is not None:
        cadence = session.exec(
            select(Cadence).where(Cadence.team_id == team_id).where(Cadence.id == cadence_id)
        ).first()
        if cadence is None or cadence.status == DELETED:
            raise NotFound("That cadence no longer exists. `/cadence cadences` lists them.")
        if engagement_id is not None and engagement_id != cadence.engagement_id:
            raise UserError("This form is damaged; open it again.")
        engagement_id = cadence.engagement_id
    if engagement_id is None:
        raise UserError("This form is damaged; open it again.")
    details = get_engagement(session=session, team_id=team_id, engagement_id=engagement_id)
    require_manager(details, actor, admins)
    if details.engagement.archived_at is not None:
        raise UserError(f"{details.engagement.name} is archived; its questions stay as they are.")
    return Scope(details, cadence)


def _lock(session: Session, scope: Scope) -> list[Question]:
    """Lock the cadence's (or the engagement's) row, then read its questions now: two
    changes at the same moment take turns (PostgreSQL; SQLite's writers take turns anyway)."""
    if scope.cadence is not None:
        session.exec(select(Cadence.id).where(Cadence.id == scope.cadence_id).with_for_update())
    else:
        session.exec(
            select(Engagement.id).where(Engagement.id == scope.engagement_id).with_for_update()
        )
    return queries.current(session, engagement_id=scope.engagement_id, cadence_id=scope.cadence_id)


def _one(questions: Sequence[Question], question_id: int) -> Question:
    """A question the list showed, still asked now in this scope; else out of date."""
    for question in questions:
        if question.id == question_id:
            return question
    raise OutOfDate()


def room_words(where: str, have: int, adding: int, limit: int) -> str | None:
    """Why `adding` more questions do not fit beside the `have` of `where` (a form with room
    for `limit`), naming how many do; None when they fit. Pure."""
    if have + adding <= limit:
        return None
    free = max(0, limit - have)
    if limit < MAX_QUESTIONS:
        why = (
            f"its form has room for {limit} question{'s' if limit != 1 else ''} of your own "
            "after its own fields (Slack shows at most 100 blocks in a form)"
        )
    else:
        why = f"a form asks at most {MAX_QUESTIONS} questions of your own"
    wanted = "one more" if adding == 1 else f"{adding} more"
    return (
        f"{where[:1].upper()}{where[1:]} has {have} question{'s' if have != 1 else ''}, and "
        f"{why}: {wanted} would not fit. "
        + (f"{free} more fit{'s' if free == 1 else ''}." if free else "Remove one first.")
    )


def room_message(scope: Scope, have: int, adding: int) -> str | None:
    """`room_words` for a checked scope (a cadence's form, or the engagement's defaults)."""
    return room_words(scope.describe(), have, adding, scope.limit)


# --- the operations ----------------------------------------------------------------------------


def _new_key() -> str:
    return secrets.token_hex(KEY_BYTES)


def _insert(session: Session, scope: Scope, data: QuestionDef, *, key: str, position: int,
            actor: str, now: datetime) -> Question:  # fmt: skip
    question = Question(
        team_id=scope.team_id,
        engagement_id=scope.engagement_id,
        cadence_id=scope.cadence_id,
        key=key,
        position=position,
        created_by=actor,
        created_at=now,
        **data.columns(),
    )
    session.add(question)
    session.flush()
    return question


def _audit(session: Session, question: Question, action: str, actor: str, now: datetime,
           before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:  # fmt: skip
    audit.record(
        session=session,
        team_id=question.team_id,
        actor=actor,
        entity_type="question",
        entity_id=question.id or 0,
        action=action,
        now=now,
        before=before,
        after=after,
    )


def _recorded(question: Question) -> dict[str, Any]:
    """What the audit trail records of a version: where it is asked, and what it asks."""
    return {
        "key": question.key,
        "cadence_id": question.cadence_id,
        "position": question.position,
        **definition_of(question),
    }


def add(session: Session, scope: Scope, data: QuestionDef, *, actor: str, now: datetime,
        field: str | None = "text") -> Question:  # fmt: skip
    """Add a question after the others; refused (on `field` of the form, or as a reply)
    when the form would have no room for it."""
    current = _lock(session, scope)
    problem = room_message(scope, len(current), 1)
    if problem:
        raise FieldErrors({field: problem}) if field else NoRoom(problem)
    position = max((q.position for q in current), default=-1) + 1
    question = _insert(session, scope, data, key=_new_key(), position=position, actor=actor,
                       now=now)  # fmt: skip
    _audit(session, question, "create", actor, now, None, _recorded(question))
    return question


def edit(session: Session, scope: Scope, question_id: int, data: QuestionDef, *, actor: str,
         now: datetime) -> Question | None:  # fmt: skip
    """The next version of a question (same key, same place); the old one is retired, and
    the answers given to it keep pointing at it. None when nothing changed (nothing written)."""
    old = _one(_lock(session, scope), question_id)
    if dict(definition_of(old)) == data.columns():
        return None
    old.retired_at = now
    session.add(old)
    new = _insert(session, scope, data, key=old.key, position=old.position, actor=actor, now=now)
    before, after = audit.changes(dict(definition_of(old)), dict(definition_of(new)))
    _audit(session, new, "edit", actor, now, {"key": old.key, "version": old.id, **before},
           {"key": new.key, "version": new.id, **after})  # fmt: skip
    return new


def remove(session: Session, scope: Scope, question_id: int, *, actor: str,
           now: datetime) -> Question:  # fmt: skip
    """Stop asking a question: its version is retired, its answers kept as they were."""
    question = _one(_lock(session, scope), question_id)
    question.retired_at = now
    session.add(question)
    session.flush()
    _audit(session, question, "remove", actor, now, _recorded(question), None)
    return question


def move(session: Session, scope: Scope, question_id: int, step: int, *, actor: str,
         now: datetime) -> bool:  # fmt: skip
    """Swap a question with the one above (step -1) or below (+1); False at either end."""
    current = _lock(session, scope)
    question = _one(current, question_id)
    index = current.index(question) + (1 if step > 0 else -1)
    if not 0 <= index < len(current):
        return False
    other = current[index]
    if other.position == question.position:  # never stored so, but a swap must move them
        other.position += 1 if step < 0 else -1
    question.position, other.position = other.position, question.position
    session.add_all([question, other])
    session.flush()
    _audit(session, question, "move", actor, now, {"position": other.position},
           {"position": question.position})  # fmt: skip
    return True


def apply_template(session: Session, scope: Scope, questions: Sequence[QuestionDef], *,
                   name: str, actor: str, now: datetime) -> list[Question]:  # fmt: skip
    """Append a template's questions after the others; refused whole when they do not fit."""
    current = _lock(session, scope)
    problem = room_message(scope, len(current), len(questions))
    if problem:
        raise NoRoom(f"The template “{name}” has {len(questions)} questions. {problem}")
    start = max((q.position for q in current), default=-1) + 1
    added = []
    for offset, data in enumerate(questions):
        question = _insert(session, scope, data, key=_new_key(), position=start + offset,
                           actor=actor, now=now)  # fmt: skip
        _audit(session, question, "create", actor, now, None,
               {**_recorded(question), "template": name})  # fmt: skip
        added.append(question)
    return added


def copy_defaults(session: Session, cadence: Cadence, now: datetime) -> list[Question]:
    """A new cadence starts with its engagement's default questions (new versions of its own,
    under new keys, so editing one never changes the other), as many as its form has room
    for, in order. Called by `cadences.create` in its transaction (already checked there)."""
    assert cadence.id is not None
    defaults = queries.current(session, engagement_id=cadence.engagement_id, cadence_id=None)
    kept = defaults[: room_for(family_of(cadence.kind))]
    copies = [
        Question(
            team_id=cadence.team_id,
            engagement_id=cadence.engagement_id,
            cadence_id=cadence.id,
            key=_new_key(),
            position=position,
            created_by=cadence.created_by,
            created_at=now,
            **{k: v for k, v in definition_of(q).items()},
        )
        for position, q in enumerate(kept)
    ]
    session.add_all(copies)
    session.flush()
    if copies:
        audit.record(
            session=session,
            team_id=cadence.team_id,
            actor=cadence.created_by,
            entity_type="cadence",
            entity_id=cadence.id,
            action="copy_questions",
            now=now,
            after={
                "questions": [{"key": q.key, "text": q.text} for q in copies],
                "left_out": len(defaults) - len(kept),
            },
        )
    return copies


def find_current(session: Session, scope: Scope) -> list[Question]:
    """The questions of a checked scope, in order (what the list shows)."""
    return queries.current(session, engagement_id=scope.engagement_id, cadence_id=scope.cadence_id)
