"""Engagements: create, edit, list, archive; who may manage them; what a valid one is.

Independent of Slack payload shapes: the handlers hand in plain values keyed by field name and
get back rows, or a `FieldErrors` naming the fields to fix. Nothing is written unless all of it
is valid, and every change records an audit event in the same transaction.
"""

from __future__ import annotations

import difflib
import itertools
import re
import unicodedata
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, delete, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.domain import audit, workspaces
from bot.domain.command_reference import echo
from bot.domain.errors import FieldErrors, NotAllowed, NotFound, UserError
from storage.models import (
    ConcernSla,
    Engagement,
    EngagementBase,
    EngagementMember,
    KpiDefinition,
    StatusUpdate,
)

SEVERITIES = ("critical", "high", "medium", "low")
DEFAULT_SLA_HOURS = {"critical": 4, "high": 24, "medium": 72, "low": 168}  # acknowledge within
DEFAULT_RESOLVE_HOURS = {"critical": 24, "high": 72, "medium": 168, "low": 336}
PAUSE_CONCERN_CLOCK = "pause_concern_clock"  # the engagement form's checkboxes
SUMMARIES_IN_CHANNEL = "summaries_in_channel"
MAX_SLA_HOURS = 24 * 365
ROLES = ("lead", "vendor", "stakeholder")
MAX_NAME = 80
MAX_VENDOR = 120
MAX_HANDLE = 40
# People of one role: a team, not a whole side of the workspace (everyone named may be DMed by
# each check-in, so "everyone on the vendor side" cannot mean 5,000 prompts an hour).
MAX_PEOPLE_PER_ROLE = 50
MAX_KPIS = 20
MAX_KPI_NAME = 60
MAX_KPI_UNIT = 20
MAX_HOLIDAYS = 200

_NUMBER = r"[-+]?\d+(?:[.,]\d+)?"
KPI_LINE = re.compile(
    r"^(?P<name>.+?)\s*(?:\((?P<unit>[^()]*)\))?\s*(?P<op>>=|<=|≥|≤|=>|=<)\s*"
    rf"(?P<target>{_NUMBER})\s*(?P<suffix>%|[^\W\d]+)?"
    # An optional amber tolerance: `(amber 99.5)`, the unit may be repeated (`(amber 99.5%)`).
    rf"(?:\s*\(\s*(?i:amber)\s*:?\s*(?P<tolerance>{_NUMBER})\s*(?:%|[^\W\d]+)?\s*\))?$"
)
KPI_EXAMPLE = "Uptime (%) >= 99.9"
KPI_TOLERANCE_EXAMPLE = "Uptime (%) >= 99.9 (amber 99.5)"
KPI_SYNTAX = (
    "Write one per line as Name (unit) >= target, or <= target when lower is better, "
    f"e.g. {KPI_EXAMPLE}; add (amber N) for a figure short of the target that is still "
    f"tolerable, e.g. {KPI_TOLERANCE_EXAMPLE}."
)


@dataclass(frozen=True)
class KpiSpec:
    """A KPI as a lead states it: `Uptime (%) >= 99.9` means higher is better, target 99.9;
    `… (amber 99.5)` adds a tolerance: a figure from 99.5 up to the target is amber, not missed."""

    name: str
    unit: str
    target: float
    higher_is_better: bool
    tolerance: float | None = None

    def render(self) -> str:
        unit = f" ({self.unit})" if self.unit else ""
        op = ">=" if self.higher_is_better else "<="
        amber = f" (amber {format_number(self.tolerance)})" if self.tolerance is not None else ""
        return f"{self.name}{unit} {op} {format_number(self.target)}{amber}"


@dataclass(frozen=True)
class EngagementInput:
    """A complete, valid engagement definition (the modal's fields after validation)."""

    name: str
    vendor: str
    channel_id: str
    timezone: str
    leads: tuple[str, ...]
    vendor_contacts: tuple[str, ...] = ()
    stakeholders: tuple[str, ...] = ()
    digest_channel_id: str | None = None
    escalation_user_id: str | None = None
    kpis: tuple[KpiSpec, ...] = ()
    sla_hours: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SLA_HOURS))
    resolve_hours: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_RESOLVE_HOURS))
    holidays: tuple[str, ...] = ()
    concern_clock_pauses: bool = False
    summaries_in_channel: bool = False

    @property
    def handle(self) -> str:
        return slugify(self.name)


@dataclass(frozen=True)
class EngagementDetails:
    """An engagement with its people, KPIs and SLAs, read in one go."""

    engagement: Engagement
    leads: tuple[str, ...]
    vendor_contacts: tuple[str, ...]
    stakeholders: tuple[str, ...]
    kpis: tuple[KpiSpec, ...]
    sla_hours: Mapping[str, int]
    resolve_hours: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_RESOLVE_HOURS))

    @property
    def id(self) -> int:
        assert self.engagement.id is not None
        return self.engagement.id

    def as_input(self) -> EngagementInput:
        e = self.engagement
        return EngagementInput(
            name=e.name,
            vendor=e.vendor,
            channel_id=e.channel_id,
            timezone=e.timezone,
            leads=self.leads,
            vendor_contacts=self.vendor_contacts,
            stakeholders=self.stakeholders,
            digest_channel_id=e.digest_channel_id,
            escalation_user_id=e.escalation_user_id,
            kpis=self.kpis,
            sla_hours=dict(self.sla_hours),
            resolve_hours=dict(self.resolve_hours),
            holidays=tuple(e.holidays or ()),
            concern_clock_pauses=e.concern_clock_pauses,
            summaries_in_channel=e.summaries_in_channel,
        )

    def snapshot(self) -> dict[str, Any]:
        """What the audit trail records for before → after."""
        return snapshot(self.as_input())


def columns(data: EngagementInput) -> EngagementBase:
    """The definition as the engagement's own columns (people, KPIs and SLAs are child rows)."""
    return EngagementBase.model_validate({**vars(data), "handle": data.handle})


def snapshot(data: EngagementInput) -> dict[str, Any]:
    return {
        **columns(data).model_dump(mode="json"),
        "leads": list(data.leads),
        "vendor_contacts": list(data.vendor_contacts),
        "stakeholders": list(data.stakeholders),
        "kpis": [k.render() for k in data.kpis],
        "sla_hours": dict(data.sla_hours),
        "resolve_hours": dict(data.resolve_hours),
    }


# --- validation (pure) -------------------------------------------------------------------------


def format_number(value: float) -> str:
    """Plain digits as a person types them: no exponent, no trailing zeros, no lost digits."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def slugify(name: str) -> str:
    """The handle people type: `Acme Payments (EU)` → `acme-payments-eu`."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:MAX_HANDLE].rstrip("-")


@cache
def _zones() -> dict[str, str]:
    return {z.lower(): z for z in zoneinfo.available_timezones()}


def normalize_timezone(value: str) -> str:
    """The canonical IANA name for `value` (case-insensitive), or UserError naming the fix."""
    text = value.strip()
    zones = _zones()
    if text.lower() in zones:
        return zones[text.lower()]
    close = difflib.get_close_matches(text.lower(), zones.keys(), n=1, cutoff=0.75)
    hint = f" Did you mean {zones[close[0]]}?" if close else ""
    raise UserError(
        f"“{text}” is not a time zone Cadence knows. Use an IANA name such as Europe/Berlin or "
        f"America/New_York.{hint}"
    )


def parse_kpis(text: str | None) -> tuple[KpiSpec, ...]:
    """One KPI per line, `Name (unit) >= target` (higher is better) or `<= target` (lower),
    optionally followed by `(amber N)`: a tolerance on the losing side of the target."""
    specs: list[KpiSpec] = []
    seen: set[str] = set()
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip().lstrip("•-* ").strip()
        if not line:
            continue
        match = KPI_LINE.match(line)
        if not match:
            raise UserError(f"Line {number} “{line[:60]}” is not a KPI. {KPI_SYNTAX}")
        name = match["name"].strip()
        unit = (match["unit"] or match["suffix"] or "").strip()
        if len(name) > MAX_KPI_NAME:
            raise UserError(f"Line {number}: a KPI name has at most {MAX_KPI_NAME} characters.")
        if len(unit) > MAX_KPI_UNIT:
            raise UserError(f"Line {number}: a unit has at most {MAX_KPI_UNIT} characters.")
        if name.lower() in seen:
            raise UserError(f"Line {number}: the KPI “{name}” is listed twice.")
        seen.add(name.lower())
        target = float(match["target"].replace(",", "."))
        higher_is_better = match["op"] in (">=", "≥", "=>")
        tolerance = None
        if match["tolerance"] is not None:
            tolerance = float(match["tolerance"].replace(",", "."))
            if (tolerance >= target) if higher_is_better else (tolerance <= target):
                side = "below" if higher_is_better else "above"
                raise UserError(
                    f"Line {number}: the amber tolerance of “{name}” must be {side} its target "
                    f"{format_number(target)} (a figure between the two is amber), e.g. "
                    f"{KPI_TOLERANCE_EXAMPLE}."
                )
        specs.append(KpiSpec(name, unit, target, higher_is_better, tolerance))
    if len(specs) > MAX_KPIS:
        raise UserError(f"At most {MAX_KPIS} KPIs per engagement; you listed {len(specs)}.")
    return tuple(specs)


def parse_holidays(text: str | None) -> tuple[str, ...]:
    """Dates with no check-ins, as YYYY-MM-DD separated by commas, spaces or lines."""
    days: set[str] = set()
    for word in re.split(r"[\s,;]+", text or ""):
        if not word:
            continue
        try:
            days.add(date.fromisoformat(word).isoformat())
        except ValueError:
            raise UserError(
                f"“{word[:30]}” is not a date: write holidays as YYYY-MM-DD, e.g. 2026-12-25."
            ) from None
    if len(days) > MAX_HOLIDAYS:
        raise UserError(f"At most {MAX_HOLIDAYS} holidays.")
    return tuple(sorted(days))


def _people(value: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in (value or ()) if v))


def validate(raw: Mapping[str, Any]) -> EngagementInput:
    """Check every field of the engagement form; raise FieldErrors naming each one to fix.

    `raw` holds the form's values by field name: name, vendor, channel, leads, vendor_contacts,
    stakeholders, digest_channel, timezone, kpis, sla_<severity>.
    """
    errors: dict[str, str] = {}
    name = (raw.get("name") or "").strip()
    if not name:
        errors["name"] = "Give the engagement a name, e.g. Acme Payments."
    elif len(name) > MAX_NAME:
        errors["name"] = f"A name has at most {MAX_NAME} characters."
    elif not slugify(name):
        errors["name"] = "The name needs at least one letter or digit (it makes the handle)."

    vendor = (raw.get("vendor") or "").strip()
    if not vendor:
        errors["vendor"] = "Name the vendor, e.g. Globex Consulting."
    elif len(vendor) > MAX_VENDOR:
        errors["vendor"] = f"A vendor name has at most {MAX_VENDOR} characters."

    channel = (raw.get("channel") or "").strip()
    if not channel:
        errors["channel"] = "Pick the channel where the engagement's updates go."
    elif not channel.startswith(("C", "G")):
        errors["channel"] = "Pick a channel (public or private), not a direct message."

    digest_channel = (raw.get("digest_channel") or "").strip() or None
    if digest_channel and not digest_channel.startswith(("C", "G")):
        errors["digest_channel"] = "Pick a channel for the digest, not a direct message."

    leads = _people(raw.get("leads"))
    vendor_contacts = _people(raw.get("vendor_contacts"))
    stakeholders = _people(raw.get("stakeholders"))
    if not leads:
        errors["leads"] = "Name at least one lead: leads configure the engagement and get alerts."
    for key, label, people in (
        ("leads", "leads", leads),
        ("vendor_contacts", "vendor contacts", vendor_contacts),
        ("stakeholders", "stakeholders", stakeholders),
    ):
        if len(people) > MAX_PEOPLE_PER_ROLE:
            errors[key] = (
                f"At most {MAX_PEOPLE_PER_ROLE} {label} per engagement; you chose {len(people)}."
            )

    timezone = ""
    if not (raw.get("timezone") or "").strip():
        errors["timezone"] = "Give a time zone such as Europe/Berlin."
    else:
        try:
            timezone = normalize_timezone(raw["timezone"])
        except UserError as e:
            errors["timezone"] = e.message

    kpis: tuple[KpiSpec, ...] = ()
    try:
        kpis = parse_kpis(raw.get("kpis"))
    except UserError as e:
        errors["kpis"] = e.message

    holidays: tuple[str, ...] = ()
    try:
        holidays = parse_holidays(raw.get("holidays"))
    except UserError as e:
        errors["holidays"] = e.message

    sla_hours = _sla_hours(raw, "sla_", DEFAULT_SLA_HOURS, errors)
    resolve_hours = _sla_hours(raw, "sla_resolve_", DEFAULT_RESOLVE_HOURS, errors)
    if len(sla_hours) == len(resolve_hours) == len(SEVERITIES):
        for severity in SEVERITIES:
            if resolve_hours[severity] < sla_hours[severity]:
                errors.setdefault(
                    f"sla_resolve_{severity}",
                    f"Resolving cannot come before acknowledging ({sla_hours[severity]} h).",
                )

    if errors:
        raise FieldErrors(errors)
    return EngagementInput(
        name=name,
        vendor=vendor,
        channel_id=channel,
        timezone=timezone,
        leads=leads,
        vendor_contacts=vendor_contacts,
        stakeholders=stakeholders,
        digest_channel_id=digest_channel,
        escalation_user_id=(raw.get("escalation_contact") or None),
        kpis=kpis,
        sla_hours=sla_hours,
        resolve_hours=resolve_hours,
        holidays=holidays,
        concern_clock_pauses=PAUSE_CONCERN_CLOCK in (raw.get("concern_clock") or ()),
        summaries_in_channel=SUMMARIES_IN_CHANNEL in (raw.get("summaries") or ()),
    )


def _sla_hours(
    raw: Mapping[str, Any], prefix: str, defaults: Mapping[str, int], errors: dict[str, str]
) -> dict[str, int]:
    """Hours per severity from the fields `<prefix><severity>` (empty: the default); a more
    severe concern may not wait longer than a less severe one."""
    hours_by: dict[str, int] = {}
    for severity in SEVERITIES:
        key = f"{prefix}{severity}"
        value = raw.get(key)
        text = str(value).strip() if value is not None else ""
        if not text:
            hours_by[severity] = defaults[severity]
            continue
        try:
            hours = int(text)
        except ValueError:
            hours = -1
        if not 1 <= hours <= MAX_SLA_HOURS:
            errors[key] = f"Give whole hours from 1 to {MAX_SLA_HOURS}."
        else:
            hours_by[severity] = hours
    if len(hours_by) == len(SEVERITIES):
        for higher, lower in itertools.pairwise(SEVERITIES):
            if hours_by[higher] > hours_by[lower]:
                errors[f"{prefix}{higher}"] = (
                    f"A {higher} concern should not wait longer than a {lower} one "
                    f"({hours_by[lower]} h)."
                )
    return hours_by


# --- permissions -------------------------------------------------------------------------------


def may_manage(details: EngagementDetails, user_id: str, admins: Iterable[str]) -> bool:
    return user_id in details.leads or user_id in set(admins)


def require_manager(details: EngagementDetails, user_id: str, admins: Iterable[str]) -> None:
    """Only the engagement's leads and Cadence admins (CADENCE_ADMINS) may change it."""
    if not may_manage(details, user_id, admins):
        leads = ", ".join(f"<@{u}>" for u in details.leads)
        raise NotAllowed(
            f"Only the leads of {details.engagement.name} ({leads}) or a Cadence admin can "
            "change it. Ask one of them."
        )


# --- reads -------------------------------------------------------------------------------------


def people_with_role(*, session: Session, engagement_id: int, role: str) -> list[str]:
    """The people holding `role` on an engagement, by ID, in the order they were added."""
    return list(
        session.exec(
            select(EngagementMember.user_id)
            .where(EngagementMember.engagement_id == engagement_id)
            .where(EngagementMember.role == role)
            .order_by(col(EngagementMember.id))
        ).all()
    )


def load_details(*, session: Session, engagement: Engagement) -> EngagementDetails:
    (details,) = load_many(session=session, engagements=[engagement])
    return details


def load_many(
    *,
    session: Session,
    engagements: Sequence[Engagement],
    within: Select | None = None,
) -> list[EngagementDetails]:
    """The details of `engagements`, in their order: three SELECTs whatever their number (their
    people, their active KPIs, their SLAs), joined here, never a query per engagement.

    `within` (a SELECT of engagement ids) names them in the queries instead of a list of ids,
    so an unbounded read (every engagement of a workspace) sends no list of thousands of ids."""
    ids = [e.id for e in engagements if e.id is not None]
    if not ids:
        return []
    named = within if within is not None else ids
    # Plain columns, not ORM rows: a list of a thousand engagements reads ten thousand of these,
    # and an ORM object each would cost more than the queries.
    people: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for engagement_id, user_id, role in session.exec(
        select(EngagementMember.engagement_id, EngagementMember.user_id, EngagementMember.role)
        .where(col(EngagementMember.engagement_id).in_(named))
        .order_by(col(EngagementMember.id))
    ):
        people[engagement_id][role].append(user_id)
    kpis: dict[int, list[KpiSpec]] = defaultdict(list)
    for engagement_id, name, unit, target, higher_is_better, tolerance in session.exec(
        select(
            KpiDefinition.engagement_id,
            KpiDefinition.name,
            KpiDefinition.unit,
            KpiDefinition.target,
            KpiDefinition.higher_is_better,
            KpiDefinition.tolerance,
        )
        .where(col(KpiDefinition.engagement_id).in_(named))
        .where(col(KpiDefinition.retired_at).is_(None))  # retired ones only keep history
        .order_by(col(KpiDefinition.position), col(KpiDefinition.id))  # stored order
    ):
        kpis[engagement_id].append(KpiSpec(name, unit, target, higher_is_better, tolerance))
    sla_hours: dict[int, dict[str, int]] = defaultdict(dict)
    resolve_hours: dict[int, dict[str, int]] = defaultdict(dict)
    for engagement_id, severity, response, resolve in session.exec(
        select(
            ConcernSla.engagement_id,
            ConcernSla.severity,
            ConcernSla.response_hours,
            ConcernSla.resolve_hours,
        ).where(col(ConcernSla.engagement_id).in_(named))
    ):
        sla_hours[engagement_id][severity] = response
        resolve_hours[engagement_id][severity] = resolve or DEFAULT_RESOLVE_HOURS.get(
            severity, response
        )
    return [
        EngagementDetails(
            engagement=e,
            leads=tuple(people[e.id]["lead"]),
            vendor_contacts=tuple(people[e.id]["vendor"]),
            stakeholders=tuple(people[e.id]["stakeholder"]),
            kpis=tuple(kpis[e.id]),
            sla_hours=sla_hours[e.id],
            resolve_hours=resolve_hours[e.id],
        )
        for e in engagements
        if e.id is not None
    ]


def get(*, session: Session, team_id: str, engagement_id: int) -> EngagementDetails:
    """By id, only within the workspace (ids from Slack payloads are never trusted alone)."""
    engagement = session.exec(
        select(Engagement)
        .where(Engagement.team_id == team_id)
        .where(Engagement.id == engagement_id)
    ).first()
    if engagement is None:
        raise NotFound("That engagement no longer exists.")
    return load_details(session=session, engagement=engagement)


def find(
    *,
    session: Session,
    team_id: str,
    handle: str,
    include_archived: bool = False,
    only_for: str | None = None,
) -> EngagementDetails:
    """By handle (or by name: the handle is made from it); NotFound suggests the closest handle
    and how to list them. Text that makes no handle (no letter or digit a handle keeps) is
    refused without a query, whatever it holds (thousands of characters, NUL, any script).

    The suggestion is chosen only among what the asker could list (`only_for`, the rule of
    `engagement list`: a person of another organisation sees the engagements they are on), so
    a mistyped handle never names an engagement the asker may not see."""
    wanted = slugify(handle)
    if not wanted:
        raise NotFound(
            f"“{echo(handle)}” is not an engagement handle: a handle is lowercase letters, digits "
            "and dashes, like `acme-payments`. `/cadence engagement list` shows the handles."
        )
    engagement = session.exec(
        select(Engagement).where(Engagement.team_id == team_id).where(Engagement.handle == wanted)
    ).first()
    if engagement is None:
        visible = [member_of(team_id, only_for)] if only_for is not None else []
        handles = session.exec(
            select(Engagement.handle)
            .where(Engagement.team_id == team_id)
            .where(col(Engagement.archived_at).is_(None))
            .where(*visible)
        ).all()
        close = difflib.get_close_matches(wanted, handles, n=1, cutoff=0.6)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        raise NotFound(
            f"There is no engagement `{wanted}` in this workspace.{hint} "
            "`/cadence engagement list` shows the handles."
        )
    if engagement.archived_at is not None and not include_archived:
        raise NotFound(f"{engagement.name} (`{engagement.handle}`) is archived.")
    return load_details(session=session, engagement=engagement)


@dataclass(frozen=True)
class EngagementPage:
    """One page of a list (as many as a message shows) and how many there are in all."""

    rows: tuple[EngagementDetails, ...]
    total: int

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.rows))


def _listed(
    team_id: str, *, include_archived: bool = False, matching: str = ""
) -> list[ColumnElement[bool]]:
    """The conditions of a workspace's list: unarchived unless asked, and with `matching`
    only those whose name, handle or vendor holds it (case-insensitive)."""
    conditions: list[ColumnElement[bool]] = [col(Engagement.team_id) == team_id]
    if not include_archived:
        conditions.append(col(Engagement.archived_at).is_(None))
    # PostgreSQL refuses a NUL character in a string parameter; no name, vendor or handle
    # holds one, so it is dropped from the word rather than sent.
    needle = matching.replace("\x00", "").strip().lower()[:MAX_VENDOR]
    if needle:
        conditions.append(
            or_(
                func.lower(col(Engagement.name)).contains(needle, autoescape=True),
                func.lower(col(Engagement.vendor)).contains(needle, autoescape=True),
                col(Engagement.handle).contains(slugify(needle) or needle, autoescape=True),
            )
        )
    return conditions


def page(
    *,
    session: Session,
    team_id: str,
    limit: int,
    matching: str = "",
    include_archived: bool = False,
    only_for: str | None = None,
) -> EngagementPage:
    """The first `limit` engagements by name (those `matching` a word, if given) and how many
    there are: a COUNT, the page, and the page's details (three more), whatever the total.
    With `only_for` (a person who may not read the whole workspace's list), only those that
    person is on, in the same statements."""
    conditions = _listed(team_id, include_archived=include_archived, matching=matching)
    if only_for is not None:
        conditions.append(member_of(team_id, only_for))
    total = session.exec(select(func.count()).select_from(Engagement).where(*conditions)).one()
    engagements = session.exec(
        select(Engagement)
        .where(*conditions)
        .order_by(col(Engagement.name), col(Engagement.id))
        .limit(limit)
    ).all()
    return EngagementPage(tuple(load_many(session=session, engagements=engagements)), int(total))


# --- writes ------------------------------------------------------------------------------------


def _ensure_handle_free(
    *, session: Session, team_id: str, data: EngagementInput, except_id: int | None = None
) -> None:
    existing = session.exec(
        select(Engagement)
        .where(Engagement.team_id == team_id)
        .where(Engagement.handle == data.handle)
    ).first()
    if existing is not None and existing.id != except_id:
        archived = " (archived)" if existing.archived_at else ""
        raise FieldErrors(
            {
                "name": f"An engagement with the handle `{data.handle}` already exists"
                f"{archived}: choose another name."
            }
        )


_ROLES_IN_INPUT = (
    ("lead", "leads"),
    ("vendor", "vendor_contacts"),
    ("stakeholder", "stakeholders"),
)


def _write_children(
    *,
    session: Session,
    engagement: Engagement,
    data: EngagementInput,
    now: datetime,
    stored: EngagementDetails | None = None,
) -> None:
    """Make the engagement's people, KPIs and SLAs those in `data`, writing only what differs
    from `stored` (what it holds now, as read before the edit; None for a new engagement): an
    edit of the vendor's name writes no child row at all. A KPI no longer listed is retired at
    `now`, not deleted, because deleting it would cascade away every figure reported against it.
    """
    assert engagement.id is not None
    _write_people(session=session, engagement=engagement, data=data, stored=stored)
    if stored is None or stored.kpis != data.kpis:
        _write_kpis(session=session, engagement=engagement, data=data, now=now, new=stored is None)
    _write_slas(session=session, engagement=engagement, data=data, stored=stored)


def _write_people(
    *,
    session: Session,
    engagement: Engagement,
    data: EngagementInput,
    stored: EngagementDetails | None,
) -> None:
    """One DELETE for everyone taken off, one INSERT for everyone added. People are read back
    in the order their rows were written, so a role whose kept people are no longer listed
    first, in their order, is written again whole (rare: the form adds people at the end)."""
    gone: list[ColumnElement[bool]] = []
    added: list[EngagementMember] = []
    for role, attribute in _ROLES_IN_INPUT:
        people: tuple[str, ...] = getattr(data, attribute)
        held: tuple[str, ...] = getattr(stored, attribute) if stored is not None else ()
        kept = tuple(u for u in held if u in people)
        if people[: len(kept)] != kept:
            kept = ()
        removed = [u for u in held if u not in kept]
        if removed:
            gone.append(
                and_(col(EngagementMember.role) == role, col(EngagementMember.user_id).in_(removed))
            )
        added.extend(
            EngagementMember(
                team_id=engagement.team_id, engagement_id=engagement.id, user_id=user_id, role=role
            )
            for user_id in people[len(kept) :]
        )
    if gone:  # before the INSERTs are added (a DELETE flushes them): a re-added person is unique
        session.execute(
            delete(EngagementMember)
            .where(col(EngagementMember.engagement_id) == engagement.id)
            .where(or_(*gone))
            .execution_options(synchronize_session=False)
        )
    session.add_all(added)


def _write_kpis(
    *, session: Session, engagement: Engagement, data: EngagementInput, now: datetime, new: bool
) -> None:
    """Make the active KPIs those in `data`, retiring the others (called only when they differ)."""
    # A KPI is matched by name (case-insensitive), retired ones included: kept or re-added, it
    # keeps its id, so the figures reported against it join up (and the name stays unique).
    existing_kpis = (
        {}
        if new
        else {
            k.name.lower(): k
            for k in session.exec(
                select(KpiDefinition).where(KpiDefinition.engagement_id == engagement.id)
            )
        }
    )
    for position, spec in enumerate(data.kpis):
        row = existing_kpis.pop(spec.name.lower(), None) or KpiDefinition(
            team_id=engagement.team_id,
            engagement_id=engagement.id,
            name=spec.name,
            target=spec.target,
        )
        row.name, row.unit, row.target = spec.name, spec.unit, spec.target
        row.higher_is_better, row.position = spec.higher_is_better, position
        row.tolerance = spec.tolerance
        row.retired_at = None
        session.add(row)
    for row in existing_kpis.values():
        if row.retired_at is None:  # retired earlier: keep the moment it first went
            row.retired_at = now
            session.add(row)


def _resolve_hours(data: EngagementInput) -> dict[str, int]:
    """Resolve-within hours per severity as they read back (`load_many`): a severity without
    its own is stored without and reads as the default."""
    return {
        severity: data.resolve_hours.get(severity) or DEFAULT_RESOLVE_HOURS.get(severity, response)
        for severity, response in data.sla_hours.items()
    }


def _write_slas(
    *,
    session: Session,
    engagement: Engagement,
    data: EngagementInput,
    stored: EngagementDetails | None,
) -> None:
    """Rewrite only the severities whose hours changed: one DELETE and one INSERT for them."""
    resolve = _resolve_hours(data)
    held = (
        {s: (h, stored.resolve_hours.get(s)) for s, h in stored.sla_hours.items()}
        if stored is not None
        else {}
    )
    changed = [s for s, h in data.sla_hours.items() if held.get(s) != (h, resolve[s])]
    dropped = [s for s in held if s in changed or s not in data.sla_hours]
    if dropped:
        session.execute(
            delete(ConcernSla)
            .where(col(ConcernSla.engagement_id) == engagement.id)
            .where(col(ConcernSla.severity).in_(dropped))
            .execution_options(synchronize_session=False)
        )
    session.add_all(
        ConcernSla(
            team_id=engagement.team_id,
            engagement_id=engagement.id,
            severity=severity,
            response_hours=data.sla_hours[severity],
            resolve_hours=data.resolve_hours.get(severity),
        )
        for severity in changed
    )


def _as_written(engagement: Engagement, data: EngagementInput) -> EngagementDetails:
    """The details `load_details` would read back once `data` is written, without reading."""
    return EngagementDetails(
        engagement=engagement,
        leads=data.leads,
        vendor_contacts=data.vendor_contacts,
        stakeholders=data.stakeholders,
        kpis=data.kpis,
        sla_hours=dict(data.sla_hours),
        resolve_hours=_resolve_hours(data),
    )


def create(
    *, session: Session, team_id: str, actor: str, data: EngagementInput, now: datetime
) -> EngagementDetails:
    """Create an engagement with everything it holds, and its audit event, in one transaction
    (the workspace's row too, the first time: its digest schedule starts with it)."""
    workspaces.ensure(session, team_id=team_id, now=now)
    _ensure_handle_free(session=session, team_id=team_id, data=data)
    engagement = Engagement.model_validate(
        columns(data),
        update={"team_id": team_id, "created_by": actor, "created_at": now, "updated_at": now},
    )
    session.add(engagement)
    try:
        session.flush()
    except IntegrityError as e:  # another request took the handle between check and insert
        raise FieldErrors({"name": f"`{data.handle}` was just taken: choose another name."}) from e
    _write_children(session=session, engagement=engagement, data=data, now=now)
    assert engagement.id is not None
    audit.record(
        session=session,
        team_id=team_id,
        actor=actor,
        entity_type="engagement",
        entity_id=engagement.id,
        action="create",
        now=now,
        after=snapshot(data),
    )
    session.flush()
    return _as_written(engagement, data)


def update(
    *,
    session: Session,
    team_id: str,
    actor: str,
    engagement_id: int,
    data: EngagementInput,
    now: datetime,
    admins: Iterable[str],
) -> tuple[EngagementDetails, EngagementDetails]:
    """Apply an edit (only by a lead or admin); returns (before, after).

    The details are read once (to check who may edit, and to compare): only what changed is
    written, and "after" is what was written, not read back."""
    before = get(session=session, team_id=team_id, engagement_id=engagement_id)
    require_manager(before, actor, admins)
    if before.engagement.archived_at is not None:
        raise UserError(f"{before.engagement.name} is archived; it can no longer be edited.")
    if data.handle != before.engagement.handle:  # its own handle is free to keep
        _ensure_handle_free(session=session, team_id=team_id, data=data, except_id=engagement_id)
    old = before.snapshot()
    engagement = before.engagement
    # `before` keeps the row as it was (a detached copy): the row itself is updated in place,
    # and whoever compares before with after (a new channel is greeted) must see both.
    before = replace(before, engagement=Engagement.model_validate(engagement.model_dump()))
    engagement.sqlmodel_update(columns(data), update={"updated_at": now})
    session.add(engagement)
    try:
        session.flush()
    except IntegrityError as e:
        raise FieldErrors({"name": f"`{data.handle}` was just taken: choose another name."}) from e
    _write_children(session=session, engagement=engagement, data=data, now=now, stored=before)
    session.flush()
    after = _as_written(engagement, data)
    changed_before, changed_after = audit.changes(old, after.snapshot())
    if changed_after:
        audit.record(
            session=session,
            team_id=team_id,
            actor=actor,
            entity_type="engagement",
            entity_id=engagement_id,
            action="update",
            now=now,
            before=changed_before,
            after=changed_after,
        )
    return before, after


def archive(
    *,
    session: Session,
    team_id: str,
    actor: str,
    engagement_id: int,
    now: datetime,
    admins: Iterable[str],
) -> EngagementDetails:
    """Archive (only by a lead or admin). Archiving twice is refused with a clear message."""
    details = get(session=session, team_id=team_id, engagement_id=engagement_id)
    require_manager(details, actor, admins)
    engagement = details.engagement
    if engagement.archived_at is not None:
        raise UserError(f"{engagement.name} is already archived.")
    engagement.archived_at = engagement.updated_at = now
    session.add(engagement)
    audit.record(
        session=session,
        team_id=team_id,
        actor=actor,
        entity_type="engagement",
        entity_id=engagement_id,
        action="archive",
        now=now,
        before={"archived": False},
        after={"archived": True},
    )
    session.flush()
    return details


def _roles(details: EngagementDetails, user_id: str) -> tuple[str, ...]:
    return tuple(
        role
        for role, people in (
            ("lead", details.leads),
            ("vendor contact", details.vendor_contacts),
            ("stakeholder", details.stakeholders),
        )
        if user_id in people
    )


def member_of(team_id: str, user_id: str) -> ColumnElement[bool]:
    """The condition (on Engagement.id) of the engagements a person is on, in any role: a
    subquery, so a list narrowed to a person costs no statement more than the whole list."""
    members = (
        select(EngagementMember.engagement_id)
        .where(EngagementMember.team_id == team_id)
        .where(EngagementMember.user_id == user_id)
    )
    return col(Engagement.id).in_(members)


def _theirs(team_id: str, user_id: str) -> list[ColumnElement[bool]]:
    """The conditions of a person's active engagements."""
    return [*_listed(team_id), member_of(team_id, user_id)]


@dataclass(frozen=True)
class PersonPage:
    """The first of a person's engagements, worst first, with their roles; how many in all."""

    rows: tuple[tuple[EngagementDetails, tuple[str, ...]], ...]
    total: int


RAG_RANK = {"red": 0, "amber": 1, "green": 2}  # worst first; no update yet after green


def page_for_person(
    *, session: Session, team_id: str, user_id: str, limit: int, now: datetime
) -> PersonPage:
    """The first `limit` of a person's active engagements, worst first (the RAG of the update
    in force at `now`: red, amber, green, none yet; then by name), and how many they have:
    five SELECTs whatever the number, so a Home tab costs the same for someone on a thousand."""
    conditions = _theirs(team_id, user_id)
    in_force = (
        select(StatusUpdate.rag)
        .where(col(StatusUpdate.engagement_id) == col(Engagement.id))
        .where(col(StatusUpdate.submitted_at) <= now)
        .order_by(col(StatusUpdate.submitted_at).desc(), col(StatusUpdate.id).desc())
        .limit(1)
        .correlate(Engagement)
        .scalar_subquery()
    )
    rank = case(RAG_RANK, value=in_force, else_=len(RAG_RANK))
    total = session.exec(select(func.count()).select_from(Engagement).where(*conditions)).one()
    engagements = session.exec(
        select(Engagement)
        .where(*conditions)
        .order_by(rank, col(Engagement.name), col(Engagement.id))
        .limit(limit)
    ).all()
    return PersonPage(
        tuple(
            (details, _roles(details, user_id))
            for details in load_many(session=session, engagements=engagements)
        ),
        int(total),
    )
