"""Cadences: recurring check-ins of a kind on a rule, at a local time in an IANA zone.

Create, edit, pause, resume, skip the next occurrence, delete. Only an engagement's leads (and
Cadence admins) may change its cadences; every change is audited. The next occurrence is
stored in UTC (`next_run_at`) with its local slot (`next_slot`), computed from the rule in its
own zone, so the engine only has to compare times.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, func
from sqlalchemy import update as sql_update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.domain import audit, away, checkins, recurrence
from bot.domain.checkin_kinds import CHECKIN_KINDS, CheckInKind, spec_of
from bot.domain.command_reference import echo, read_number
from bot.domain.engagements import (
    EngagementDetails,
    Managers,
    member_of,
    normalize_timezone,
    people_with_role,
    require_lead_or_admin,
    require_manager,
)
from bot.domain.engagements import get as get_engagement
from bot.domain.errors import FieldErrors, NotFound, UserError
from bot.domain.questions.editing import Scope, apply_template, copy_defaults
from bot.domain.questions.templates import template
from storage import jobs
from storage.jobs import JobKind
from storage.models import Cadence, CadenceBase, CheckIn, Engagement, EngagementMember

KINDS = {kind.value: spec.title for kind, spec in CHECKIN_KINDS.items()}
RULE_KINDS = {
    "weekly": "Weekly on chosen days",
    "every_n_weeks": "Every N weeks on chosen days",
    "monthly_day": "Monthly on a day of the month",
    "monthly_weekday": "Monthly on the nth weekday",
    "cron": "Cron expression",
}
AUDIENCES = {
    "vendor": "Vendor contacts",
    "stakeholders": "Client stakeholders",
    "leads": "Leads",
    "chosen": "Chosen people",
}
DELIVERIES = {"dm": "A DM to each person", "channel": "The engagement channel, mentioning them"}
MAX_WINDOW_HOURS = 24 * 30
# What one person can make Cadence send: a rule fires at most once an hour (a check-in more often
# than that is a flood, not a rhythm), a chosen audience is at most 50 people (a team, not the
# workspace: it matches the people of one role on the engagement), and an engagement has at most
# 20 active cadences (a handful is usual; 20 each asking 50 people hourly is the ceiling).
MIN_INTERVAL = timedelta(hours=1)
MAX_AUDIENCE = 50
MAX_ESCALATION = (
    10  # an escalation goes up to a few managers (anyone in the workspace), not a crowd
)
MAX_ACTIVE_CADENCES = 20


class CadenceStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    DELETED = "deleted"  # kept for its history
    ENDED = "ended"  # its engagement was archived


ACTIVE, PAUSED, DELETED, ENDED = tuple(CadenceStatus)

EARLIEST_ZONE = "Pacific/Kiritimati"  # UTC+14: where a local time happens first


def plan_zone(cadence: Cadence) -> str:
    """Cadences at each recipient's local time are planned when the slot first happens on
    Earth; each person's prompt is then due at the slot in their own zone."""
    return EARLIEST_ZONE if cadence.recipient_local_time else cadence.timezone


def compute_next(cadence: Cadence, after: datetime) -> recurrence.Occurrence | None:
    rule = recurrence.rule_from_storage(cadence.rule_kind, cadence.rule, cadence.start_date)
    return recurrence.next_occurrence(
        rule, recurrence.parse_local_time(cadence.local_time), plan_zone(cadence), after
    )


AUDIENCE_ROLES = {"vendor": "vendor", "stakeholders": "stakeholder", "leads": "lead"}


def audience(cadence: Cadence, session: Session) -> list[str]:
    """The people a cadence asks, by ID, in a stable order: a chosen audience only as far as
    they are still on the engagement (someone taken off it is no longer asked)."""
    if cadence.audience == "chosen":
        on_engagement = set(
            session.exec(
                select(EngagementMember.user_id).where(
                    EngagementMember.engagement_id == cadence.engagement_id
                )
            ).all()
        )
        return chosen_members(cadence.audience_user_ids, on_engagement)
    role = AUDIENCE_ROLES.get(cadence.audience, "vendor")
    return people_with_role(session=session, engagement_id=cadence.engagement_id, role=role)


def chosen_members(chosen: Iterable[str], on_engagement: Collection[str]) -> list[str]:
    """The chosen people who are on the engagement, once each, in the order chosen."""
    return [u for u in dict.fromkeys(chosen) if u in on_engagement]


def set_next(cadence: Cadence, after: datetime) -> recurrence.Occurrence | None:
    occurrence = compute_next(cadence, after)
    cadence.next_run_at = occurrence.at if occurrence else None
    cadence.next_slot = occurrence.key if occurrence else None
    return occurrence


@dataclass(frozen=True)
class CadenceInput:
    """A complete, valid cadence definition (the schedule form after validation)."""

    kind: str
    rule: recurrence.Rule
    local_time: str
    timezone: str
    window_hours: int
    reminder_hours: int | None
    escalation_hours: int | None
    escalation_user_ids: tuple[str, ...] = ()
    audience: str = "vendor"
    audience_user_ids: tuple[str, ...] = ()
    delivery: str = "dm"
    recipient_local_time: bool = False


def _int(raw: Any) -> int | None:
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None
    try:
        return int(float(text)) if float(text).is_integer() else None
    except ValueError:
        return None


def _chosen(raw: Any, what: str) -> int:
    """A chosen option's value as a number (a weekday, an nth): the form's options all carry
    one, so a missing or odd value is a tampered or broken form, said as a field error."""
    if isinstance(raw, str | int) and not isinstance(raw, bool):
        try:
            return int(raw)
        except ValueError:
            pass
    raise recurrence.RuleError(f"Choose the {what} again: one of the choices was not understood.")


def rule_from_form(raw: Mapping[str, Any]) -> recurrence.Rule:
    """The recurrence rule from the form's fields; RuleError (a UserError) when malformed."""
    kind = raw.get("rule_kind") or "weekly"
    chosen = raw.get("weekdays") or []
    if not isinstance(chosen, list | tuple):
        chosen = [chosen]
    weekdays = tuple(sorted({_chosen(d, "weekdays") for d in chosen}))
    start = raw.get("start_date")
    if start and not isinstance(start, str):
        raise recurrence.RuleError("Choose the start date again: it was not understood.")
    start_date = date.fromisoformat(start) if start else None
    if kind in ("weekly", "every_n_weeks"):
        rule = recurrence.Rule(
            kind=kind,
            weekdays=weekdays,
            interval=_int(raw.get("interval")) or (1 if kind == "weekly" else 0),
            start_date=start_date,
        )
    elif kind == "monthly_day":
        rule = recurrence.Rule(kind=kind, month_day=_int(raw.get("month_day")))
    elif kind == "monthly_weekday":
        nth, weekday = raw.get("nth"), raw.get("weekday")
        rule = recurrence.Rule(
            kind=kind,
            nth=_chosen(nth, "week of the month") if nth not in (None, "") else None,
            weekday=_chosen(weekday, "weekday") if weekday not in (None, "") else None,
        )
    elif kind == "cron":
        rule = recurrence.Rule(kind=kind, cron=(raw.get("cron") or "").strip() or None)
    else:
        raise recurrence.RuleError(f"Unknown kind of rule {kind!r}.")
    rule.validate()
    return rule


RULE_FIELD = {
    "weekly": "weekdays",
    "every_n_weeks": "weekdays",
    "monthly_day": "month_day",
    "monthly_weekday": "nth",
    "cron": "cron",
}


def validate(raw: Mapping[str, Any], *, default_timezone: str, now: datetime) -> CadenceInput:
    """Check the schedule form; FieldErrors names every field to fix (by action_id)."""
    errors: dict[str, str] = {}
    kind = raw.get("kind") or ""
    if kind not in KINDS:
        errors["kind"] = "Choose what the check-in asks for."
    rule_kind = raw.get("rule_kind") or "weekly"
    rule: recurrence.Rule | None = None
    try:
        rule = rule_from_form(raw)
    except (recurrence.RuleError, ValueError) as e:
        errors[RULE_FIELD.get(rule_kind, "rule_kind")] = getattr(e, "message", str(e))
    local_time = "00:00"
    if rule_kind != "cron":
        try:
            local_time = recurrence.parse_local_time(raw.get("local_time") or "").strftime("%H:%M")
        except recurrence.RuleError as e:
            errors["local_time"] = e.message
    timezone = default_timezone
    if (raw.get("timezone") or "").strip():
        try:
            timezone = normalize_timezone(raw["timezone"])
        except UserError as e:
            errors["timezone"] = e.message
    if rule is not None and not errors.get("local_time") and not errors.get("timezone"):
        parsed_time = recurrence.parse_local_time(local_time)
        if recurrence.never_fires(rule, parsed_time, timezone, now):
            errors[RULE_FIELD.get(rule_kind, "rule_kind")] = (
                "This rule never fires in the next two years; check the days and dates."
            )
        elif (gap := recurrence.smallest_gap(rule, parsed_time, now)) and gap < MIN_INTERVAL:
            errors[RULE_FIELD.get(rule_kind, "rule_kind")] = (
                f"This rule fires {_every(gap)} at its closest; a check-in goes out at most "
                "once an hour. Name one minute of the hour, e.g. 0 9-17 * * 1-5."
            )
    window = _int(raw.get("window_hours"))
    if window is None or not 1 <= window <= MAX_WINDOW_HOURS:
        errors["window_hours"] = (
            f"Give the response window in whole hours, 1 to {MAX_WINDOW_HOURS}."
        )
    reminder = _int(raw.get("reminder_hours"))
    if str(raw.get("reminder_hours") or "").strip() and reminder is None:
        errors["reminder_hours"] = "Give whole hours, or leave it empty for no reminder."
    elif reminder is not None and window is not None and not 1 <= reminder < window:
        errors["reminder_hours"] = (
            f"The reminder goes out this many hours before the window closes: 1 to {window - 1}."
        )
    escalation = _int(raw.get("escalation_hours"))
    if str(raw.get("escalation_hours") or "").strip() and (
        escalation is None or not 0 <= escalation <= MAX_WINDOW_HOURS
    ):
        errors["escalation_hours"] = (
            "Give whole hours after the check-in is overdue, or leave it empty."
        )
    spec = spec_of(kind)
    audience = raw.get("audience") or (spec.default_audience if spec else "vendor")
    if audience not in AUDIENCES:
        errors["audience"] = "Choose who is asked."
    chosen = tuple(dict.fromkeys(raw.get("audience_users") or []))
    if audience == "chosen" and not chosen:
        errors["audience_users"] = "Choose the people to ask."
    elif audience == "chosen" and len(chosen) > MAX_AUDIENCE:
        errors["audience_users"] = (
            f"Choose at most {MAX_AUDIENCE} people; you chose {len(chosen)}. To ask everyone "
            "of one side, choose Vendor contacts, Client stakeholders or Leads instead."
        )
    escalate_to = tuple(dict.fromkeys(raw.get("escalation_to") or []))
    if len(escalate_to) > MAX_ESCALATION:
        errors["escalation_to"] = (
            f"Escalate to at most {MAX_ESCALATION} people; you chose {len(escalate_to)}."
        )
    delivery = raw.get("delivery") or "dm"
    if delivery not in DELIVERIES:
        errors["delivery"] = "Choose how the check-in is delivered."
    options = set(raw.get("options") or [])
    if errors:
        raise FieldErrors(errors)
    assert rule is not None and window is not None
    return CadenceInput(
        kind=kind,
        rule=rule,
        local_time=local_time,
        timezone=timezone,
        window_hours=window,
        reminder_hours=reminder,
        escalation_hours=escalation,
        escalation_user_ids=escalate_to,
        audience=audience,
        audience_user_ids=chosen if audience == "chosen" else (),
        delivery=delivery,
        recipient_local_time="recipient_local_time" in options and delivery == "dm",
    )


def _every(gap: timedelta) -> str:
    minutes = int(gap.total_seconds() // 60)
    return "every minute" if minutes == 1 else f"every {minutes} minutes"


def check_audience(data: CadenceInput, details: EngagementDetails) -> None:
    """A chosen audience names only people on the engagement (its leads, vendor contacts and
    stakeholders): Cadence DMs the people it asks, so a lead must not be able to point it at
    anyone in the workspace. Anyone else is named, so the lead can add them to the engagement
    first or leave them out."""
    if data.audience != "chosen":
        return
    on_engagement = {*details.leads, *details.vendor_contacts, *details.stakeholders}
    outside = [u for u in data.audience_user_ids if u not in on_engagement]
    if outside:
        who = ", ".join(f"<@{u}>" for u in outside)
        raise FieldErrors(
            {
                "audience_users": (
                    f"Only people on {details.engagement.name} can be asked; {who} "
                    f"{'is' if len(outside) == 1 else 'are'} not. Add them to the engagement "
                    "first, or leave them out."
                )
            }
        )


def active_count(session: Session, engagement_id: int) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(Cadence)
            .where(Cadence.engagement_id == engagement_id)
            .where(Cadence.status == ACTIVE)
        ).one()
    )


def check_room(session: Session, details: EngagementDetails, field: str | None) -> None:
    """Refuse one more active cadence on an engagement that has `MAX_ACTIVE_CADENCES`: a
    FieldErrors on `field` (the form), or a UserError (a command).

    The engagement's row is locked first (PostgreSQL; SQLite writers take turns anyway), so
    two saves at the same moment count one after the other and cannot both pass at the cap."""
    session.exec(select(Engagement.id).where(Engagement.id == details.id).with_for_update())
    count = active_count(session, details.id)
    if count < MAX_ACTIVE_CADENCES:
        return
    message = (
        f"{details.engagement.name} already has {count} active cadences, the most one "
        f"engagement can have. Pause or delete one first (`/cadence cadences "
        f"{details.engagement.handle}` lists them)."
    )
    raise FieldErrors({field: message}) if field else UserError(message)


def preview(data: CadenceInput, now: datetime, count: int = 5) -> list[recurrence.Occurrence]:
    return recurrence.occurrences(
        data.rule, recurrence.parse_local_time(data.local_time), data.timezone, now, count
    )


SNAPSHOT_FIELDS = frozenset(CadenceBase.model_fields) | {"status"}


def snapshot(cadence: Cadence) -> dict[str, Any]:
    """What the audit trail records for before → after: the definition and the status."""
    return cadence.model_dump(mode="json", include=SNAPSHOT_FIELDS)


def rule_of(cadence: Cadence) -> recurrence.Rule:
    return recurrence.rule_from_storage(cadence.rule_kind, cadence.rule, cadence.start_date)


def as_input(cadence: Cadence) -> CadenceInput:
    return CadenceInput(
        kind=cadence.kind,
        rule=rule_of(cadence),
        local_time=cadence.local_time,
        timezone=cadence.timezone,
        window_hours=cadence.window_hours,
        reminder_hours=cadence.reminder_hours,
        escalation_hours=cadence.escalation_hours,
        escalation_user_ids=tuple(cadence.escalation_user_ids),
        audience=cadence.audience,
        audience_user_ids=tuple(cadence.audience_user_ids),
        delivery=cadence.delivery,
        recipient_local_time=cadence.recipient_local_time,
    )


def columns(data: CadenceInput) -> CadenceBase:
    """The definition as the columns it sets: the rule is stored as its text, kind and start."""
    rule = data.rule
    return CadenceBase.model_validate(
        {
            **vars(data),
            "rule": rule.to_rrule(),
            "rule_kind": rule.kind,
            "start_date": rule.start_date,
        }
    )


def _apply(cadence: Cadence, data: CadenceInput) -> None:
    cadence.sqlmodel_update(columns(data))


def _manageable_engagement(
    session: Session, team_id: str, engagement_id: int, actor: str, admins: Iterable[str]
) -> EngagementDetails:
    details = get_engagement(session=session, team_id=team_id, engagement_id=engagement_id)
    require_manager(details, actor, admins)
    if details.engagement.archived_at is not None:
        raise UserError(f"{details.engagement.name} is archived; it gets no new cadences.")
    return details


def create(
    *,
    session: Session,
    team_id: str,
    actor: str,
    engagement_id: int,
    data: CadenceInput,
    now: datetime,
    admins: Iterable[str],
) -> Cadence:
    details = _manageable_engagement(session, team_id, engagement_id, actor, admins)
    check_audience(data, details)
    check_room(session, details, "kind")
    cadence = Cadence.model_validate(
        columns(data),
        update={
            "team_id": team_id,
            "engagement_id": engagement_id,
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
        },
    )
    set_next(cadence, now)
    session.add(cadence)
    session.flush()
    assert cadence.id is not None
    audit.record(
        session=session,
        team_id=team_id,
        actor=actor,
        entity_type="cadence",
        entity_id=cadence.id,
        action="create",
        now=now,
        after=snapshot(cadence),
    )
    # It starts with the engagement's default questions; without any, with its kind's template.
    if not copy_defaults(session, cadence, now):
        start_with_template(session, details, cadence, actor=actor, now=now)
    return cadence


def start_with_template(
    session: Session, details: EngagementDetails, cadence: Cadence, *, actor: str, now: datetime
) -> None:
    """A kind that is nothing without its questions (a security review) starts with its
    template's questions and rules, as if the lead had applied it; the lead can then edit or
    remove them. Called by `create`, once the actor is checked as one who may manage the
    engagement's cadences (so the scope is built here, as `editing.load_scope` would)."""
    spec = spec_of(cadence.kind)
    chosen = template(spec.template) if spec and spec.template else None
    if chosen is None:
        return
    apply_template(
        session, Scope(details, cadence), chosen.questions, name=chosen.name, actor=actor, now=now
    )


def find(*, session: Session, team_id: str, ref: str) -> Cadence:
    """By the number shown in lists (`12` or `#12`, in any script's digits: `١٢`, `１２`), only
    within the workspace. A number beyond the id column's range names no cadence: it is not
    looked up (PostgreSQL would refuse it as out of range for `integer`)."""
    number = _number(ref)
    cadence = None
    if number is not None:
        cadence = session.exec(
            select(Cadence).where(Cadence.team_id == team_id).where(Cadence.id == number)
        ).first()
    return _found(cadence, ref)


def _number(ref: str) -> int | None:
    """The cadence id `ref` names (None: a number beyond the id column's range)."""
    number = read_number(ref)
    if number is None:
        raise NotFound(
            f"“{echo(ref)}” is not a cadence number. `/cadence cadences` lists them with their "
            "numbers."
        )
    if len(number) <= 10 and int(number) <= 2**31 - 1:  # the largest id an integer column holds
        return int(number)
    return None


def _found(cadence: Cadence | None, ref: str) -> Cadence:
    if cadence is None or cadence.status == DELETED:
        raise NotFound(
            f"There is no cadence #{echo(read_number(ref) or ref)}. `/cadence cadences` lists them."
        )
    return cadence


def _find_to_change(
    session: Session, *, team_id: str, ref: str, actor: str, admins: Iterable[str]
) -> tuple[Cadence, dict]:
    """`find`, and the check that the actor may change the cadence (its engagement's leads or
    a Cadence admin), in one SELECT: the cadence with its engagement's name and leads, a row
    per lead (a `skip` read them apart, two of its eight statements); its state before the
    change (for the audit)."""
    number = _number(ref)
    rows = (
        session.exec(_to_change_statement(), params={"team_id": team_id, "id": number}).all()
        if number is not None
        else []
    )
    cadence = _found(rows[0][0] if rows else None, ref)
    who = Managers(rows[0][1], tuple(lead for _, _, lead in rows if lead is not None))
    require_lead_or_admin(who, actor, admins)
    return cadence, snapshot(cadence)


@cache
def _to_change_statement() -> Select:
    """`_find_to_change`'s statement, built once per process."""
    return (
        select(Cadence, Engagement.name, EngagementMember.user_id)
        .join(Engagement, col(Engagement.id) == col(Cadence.engagement_id))
        .outerjoin(
            EngagementMember,
            (col(EngagementMember.engagement_id) == col(Engagement.id))
            & (col(EngagementMember.role) == "lead"),
        )
        .where(col(Cadence.team_id) == bindparam("team_id"))
        .where(col(Cadence.id) == bindparam("id"))
        .where(col(Engagement.team_id) == bindparam("team_id"))
        .order_by(col(EngagementMember.id))
    )


def _details(
    session: Session, cadence: Cadence, *, actor: str, admins: Iterable[str]
) -> EngagementDetails:
    """The cadence's engagement, once the actor is checked as one who may change it."""
    details = get_engagement(
        session=session, team_id=cadence.team_id, engagement_id=cadence.engagement_id
    )
    require_manager(details, actor, admins)
    return details


def _record(session: Session, cadence: Cadence, actor: str, action: str, before, now) -> None:
    cadence.updated_at = now
    session.add(cadence)
    session.flush()
    assert cadence.id is not None
    changed_before, changed_after = audit.changes(before, snapshot(cadence))
    audit.record(
        session=session,
        team_id=cadence.team_id,
        actor=actor,
        entity_type="cadence",
        entity_id=cadence.id,
        action=action,
        now=now,
        before=changed_before or None,
        after=changed_after or None,
    )


def update(
    *,
    session: Session,
    team_id: str,
    actor: str,
    cadence_id: int,
    data: CadenceInput,
    now: datetime,
    admins: Iterable[str],
) -> Cadence:
    cadence = find(session=session, team_id=team_id, ref=str(cadence_id))
    check_audience(data, _details(session, cadence, actor=actor, admins=admins))
    before = snapshot(cadence)
    _apply(cadence, data)
    if cadence.status == ACTIVE:
        set_next(cadence, now)
    _record(session, cadence, actor, "update", before, now)
    return cadence


# What still happens when a check-in's window closes after its cadence was paused or deleted:
# the check-in is closed (who answered, who did not: its overdue job, which alerts nobody for a
# cadence that is not active) and a survey's results go to the leads. Without them an open
# check-in stayed open for ever, on the Home of everyone it had asked.
WINDOW_CLOSES = (JobKind.OVERDUE, JobKind.SURVEY_RESULTS)


def stop_chasing(session: Session, cadence: Cadence, now: datetime) -> None:
    """Paused or deleted: cancel the cadence's prompts, reminders and escalations not yet
    sent; its open check-ins still close at their windows' end (`WINDOW_CLOSES`)."""
    jobs.cancel(session, now=now, cadence_id=cadence.id, except_kinds=WINDOW_CLOSES)


def pause(
    *, session: Session, team_id: str, actor: str, ref: str, now: datetime, admins
) -> Cadence:
    cadence, before = _find_to_change(session, team_id=team_id, ref=ref, actor=actor, admins=admins)
    if cadence.status == PAUSED:
        raise UserError(f"Cadence #{cadence.id} is already paused.")
    cadence.status = PAUSED
    stop_chasing(session, cadence, now)
    _record(session, cadence, actor, "pause", before, now)
    return cadence


def resume(
    *, session: Session, team_id: str, actor: str, ref: str, now: datetime, admins
) -> Cadence:
    """Resume from now on: occurrences that fell while paused are not caught up."""
    cadence = find(session=session, team_id=team_id, ref=ref)
    details = _details(session, cadence, actor=actor, admins=admins)
    before = snapshot(cadence)
    if cadence.status == ACTIVE:
        raise UserError(f"Cadence #{cadence.id} is not paused.")
    check_room(session, details, None)
    cadence.status = ACTIVE
    set_next(cadence, now)
    _record(session, cadence, actor, "resume", before, now)
    return cadence


def skip_next(
    *, session: Session, team_id: str, actor: str, ref: str, now: datetime, admins
) -> tuple[Cadence, str]:
    """Skip one occurrence: it is recorded as a skipped check-in, so it can never be sent."""
    cadence, before = _find_to_change(session, team_id=team_id, ref=ref, actor=actor, admins=admins)
    if cadence.status != ACTIVE or cadence.next_run_at is None or not cadence.next_slot:
        raise UserError(f"Cadence #{cadence.id} has no next occurrence to skip.")
    skipped = checkins.skip_occurrence(session, cadence=cadence, now=now)
    following = compute_next(cadence, cadence.next_run_at)
    _store(
        session,
        cadence,
        next_run_at=following.at if following else None,
        next_slot=following.key if following else None,
        updated_at=now,
    )
    audit.record(
        session=session,
        team_id=team_id,
        actor=actor,
        entity_type="cadence",
        entity_id=cadence.id or 0,
        action="skip",
        now=now,
        before={"next_slot": skipped, "status": before["status"]},
        after={"next_slot": cadence.next_slot, "skipped": skipped},
    )
    return cadence, skipped


def _store(session: Session, cadence: Cadence, **values: Any) -> None:
    """`values` of the cadence written with one plain UPDATE, and shown by the object as
    stored (nothing left for a flush): a skip changes three columns of one row, and the ORM's
    unit of work for them cost more than the statement."""
    session.execute(_store_statement(tuple(values)), {"cadence_id": cadence.id, **values})
    for name, value in values.items():
        set_committed_value(cadence, name, value)


@cache
def _store_statement(names: tuple[str, ...]) -> Any:
    table = Cadence.__table__
    return (
        sql_update(table)
        .where(table.c.id == bindparam("cadence_id"))
        .values({name: bindparam(name) for name in names})
    )


@dataclass(frozen=True)
class AskedNow:
    """A check-in opened off the schedule: its row, its cadence and who it asks."""

    checkin: CheckIn
    cadence: Cadence
    asked: tuple[str, ...]
    again: bool  # it had been opened already this minute (a second ask changes nothing)


def ask_now(
    *,
    session: Session,
    team_id: str,
    actor: str,
    engagement_id: int,
    ref: str | None,
    now: datetime,
    admins: Iterable[str],
) -> AskedNow:
    """Ask for a status update now, off the schedule: one more check-in of the engagement's
    status-update cadence (the one numbered `ref`, or its only one), its prompts due at once,
    with the cadence's window, reminder and escalation. The engagement's leads and Cadence
    admins may, as they may change its cadences.

    The occurrence is keyed by this minute in the cadence's zone, so asking twice within a
    minute opens one check-in; and the schedule never opens another within `MIN_INTERVAL`
    of it (the planner's rule), so people are not asked twice in a row."""
    details = get_engagement(session=session, team_id=team_id, engagement_id=engagement_id)
    require_manager(details, actor, admins)
    name = details.engagement.name
    if details.engagement.archived_at is not None:
        raise UserError(f"{name} is archived; it asks for no updates.")
    if ref:
        cadence = find(session=session, team_id=team_id, ref=ref)
        if cadence.engagement_id != details.id:
            raise NotFound(
                f"Cadence #{cadence.id} is not one of {name}'s. `/cadence cadences "
                f"{details.engagement.handle}` lists its cadences."
            )
        if cadence.kind != CheckInKind.STATUS_UPDATE:
            raise UserError(f"Cadence #{cadence.id} is not a status update; choose one that is.")
        if cadence.status != ACTIVE:
            raise UserError(f"Cadence #{cadence.id} is {cadence.status}; resume it first.")
    else:
        found = session.exec(
            select(Cadence)
            .where(Cadence.team_id == team_id)
            .where(Cadence.engagement_id == details.id)
            .where(Cadence.kind == CheckInKind.STATUS_UPDATE)
            .where(Cadence.status == ACTIVE)
            .order_by(col(Cadence.id))
        ).all()
        if not found:
            raise UserError(
                f"{name} has no active status-update cadence to ask with: a lead adds one "
                f"with `/cadence schedule {details.engagement.handle}`."
            )
        if len(found) > 1:
            numbers = ", ".join(f"#{c.id}" for c in found)
            raise UserError(
                f"{name} has {len(found)} status-update cadences ({numbers}): say which, by "
                "its number."
            )
        cadence = found[0]
    assert cadence.id is not None
    slot = now.astimezone(ZoneInfo(cadence.timezone)).replace(tzinfo=None, second=0, microsecond=0)
    people = audience(cadence, session)
    absent = away.away_on(session=session, team_id=team_id, user_ids=people, day=slot.date())
    planned: list[dict[str, Any]] = []
    status = checkins.open_occurrence(
        session, cadence=cadence, engagement=details.engagement, slot=slot, at=now, now=now,
        people=people, away=absent, zones={}, job_rows=planned,
    )  # fmt: skip
    # A request's change: its prompts go at once after the commit (the outbox), not next pass.
    jobs.plan_many(session, planned, remember=True)
    if status == checkins.HOLIDAY:
        raise UserError(f"Today is one of {name}'s holidays: nobody is asked for an update.")
    if status == checkins.EXCUSED:
        raise UserError(
            f"Cadence #{cadence.id} asks nobody today: everyone it asks is away, or none of "
            f"them is on {name} any more."
        )
    checkin = session.exec(
        select(CheckIn)
        .where(CheckIn.cadence_id == cadence.id)
        .where(CheckIn.occurrence_key == slot.isoformat(timespec="minutes"))
    ).one()
    if status is not None:
        audit.record(
            session=session, team_id=team_id, actor=actor, entity_type="cadence",
            entity_id=cadence.id, action="ask_now", now=now,
            after={"checkin_id": checkin.id, "slot": checkin.occurrence_key},
        )  # fmt: skip
    asked = tuple(u for u in people if u not in absent)
    return AskedNow(checkin, cadence, asked, again=status is None)


def delete(
    *, session: Session, team_id: str, actor: str, ref: str, now: datetime, admins
) -> Cadence:
    cadence, before = _find_to_change(session, team_id=team_id, ref=ref, actor=actor, admins=admins)
    cadence.status = DELETED
    cadence.next_run_at, cadence.next_slot = None, None
    stop_chasing(session, cadence, now)
    _record(session, cadence, actor, "delete", before, now)
    return cadence


@dataclass(frozen=True)
class CadencePage:
    """One page of the cadence list, each with its engagement, and how many there are."""

    rows: tuple[tuple[Cadence, Engagement], ...]
    total: int


def page(
    *,
    session: Session,
    team_id: str,
    limit: int,
    engagement_id: int | None = None,
    only_for: str | None = None,
) -> CadencePage:
    """The first `limit` active and paused cadences of unarchived engagements (by engagement
    name, then number) and how many there are: two SELECTs whatever the number. With
    `only_for` (a person who may not read the whole workspace's list), only the cadences of
    engagements that person is on, in the same two statements."""
    conditions = [
        col(Cadence.team_id) == team_id,
        col(Cadence.status).in_((ACTIVE, PAUSED)),
        col(Engagement.archived_at).is_(None),
    ]
    if engagement_id is not None:
        conditions.append(col(Cadence.engagement_id) == engagement_id)
    if only_for is not None:
        conditions.append(member_of(team_id, only_for))
    joined = col(Engagement.id) == col(Cadence.engagement_id)
    total = session.exec(
        select(func.count()).select_from(Cadence).join(Engagement, joined).where(*conditions)
    ).one()
    rows = session.exec(
        select(Cadence, Engagement)
        .join(Engagement, joined)
        .where(*conditions)
        .order_by(col(Engagement.name), col(Cadence.id))
        .limit(limit)
    ).all()
    return CadencePage(tuple((c, e) for c, e in rows), int(total))
