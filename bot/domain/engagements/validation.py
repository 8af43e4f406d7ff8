"""The engagement form's input grammar, pure: names, channels, people, a time zone, KPI lines
(`Uptime (%) >= 99.9 (amber 99.5)`), holidays and SLA hours; `validate` raises a `FieldErrors`
naming every field to fix, so nothing is written unless all of it is valid."""

from __future__ import annotations

import difflib
import itertools
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import date
from functools import cache
from typing import Any

from bot.domain.assurance.types import CRITICALITIES, DEFAULT_CRITICALITY
from bot.domain.engagements.definition import (
    CONTRACT_RENEWS,
    DEFAULT_ACCEPTANCE_DAYS,
    DEFAULT_DUE_SOON_DAYS,
    DEFAULT_EXPIRY_DAYS,
    DEFAULT_RESOLVE_HOURS,
    DEFAULT_SLA_HOURS,
    DEFAULT_WINDOW_DAYS,
    MAX_ACCEPTANCE_DAYS,
    MAX_DUE_SOON_DAYS,
    MAX_EXPIRY_DAYS,
    MAX_EXPIRY_REMINDERS,
    MAX_HOLIDAYS,
    MAX_KPI_NAME,
    MAX_KPI_UNIT,
    MAX_KPIS,
    MAX_NAME,
    MAX_NOTICE_DAYS,
    MAX_PEOPLE_PER_ROLE,
    MAX_SLA_HOURS,
    MAX_VENDOR,
    MAX_WINDOW_DAYS,
    PAUSE_CONCERN_CLOCK,
    SEVERITIES,
    SUMMARIES_IN_CHANNEL,
    EngagementInput,
    KpiSpec,
    format_number,
    slugify,
)
from bot.domain.errors import FieldErrors, UserError

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

    due_soon_days = _days(raw, "deliverable_due_soon_days", DEFAULT_DUE_SOON_DAYS,
                          MAX_DUE_SOON_DAYS, errors)  # fmt: skip
    acceptance_days = _days(raw, "deliverable_acceptance_days", DEFAULT_ACCEPTANCE_DAYS,
                            MAX_ACCEPTANCE_DAYS, errors)  # fmt: skip

    start, end = _date(raw, "contract_start", errors), _date(raw, "contract_end", errors)
    if start and end and end <= start:
        errors["contract_end"] = "The contract must end after it starts."
    notice = _notice(raw, errors)
    if notice is not None and end is None:
        errors.setdefault("contract_end", "A notice period counts back from the end date: set it.")
    renews = CONTRACT_RENEWS in (raw.get("contract_renews") or ())
    if renews and end is None:
        errors.setdefault("contract_end", "A contract that renews needs the date it renews on.")

    criticality = raw.get("criticality") or DEFAULT_CRITICALITY
    if criticality not in CRITICALITIES:
        errors["criticality"] = "Choose how critical it is: high, medium or low."
    expiry_days = _expiry_days(raw, errors)
    window_days = _days(raw, "assurance_window_days", DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS, errors)

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
        deliverable_due_soon_days=due_soon_days,
        deliverable_acceptance_days=acceptance_days,
        contract_start=start,
        contract_end=end,
        contract_renews=renews,
        notice_days=notice,
        criticality=criticality,
        assurance_expiry_days=expiry_days,
        assurance_window_days=window_days,
    )


def _expiry_days(raw: Mapping[str, Any], errors: dict[str, str]) -> tuple[int, ...]:
    """The days before an item expires that its owner is reminded: `30, 7` (empty: the
    default); whole days from 1 to MAX_EXPIRY_DAYS, at most MAX_EXPIRY_REMINDERS, the
    earliest first."""
    text = str(raw.get("assurance_expiry_days") or "").strip()
    if not text:
        return DEFAULT_EXPIRY_DAYS
    parts = [p.strip() for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    try:
        days = [int(p) for p in parts]
    except ValueError:
        days = []
    if not days or not all(1 <= d <= MAX_EXPIRY_DAYS for d in days):
        errors["assurance_expiry_days"] = (
            f"Give whole days from 1 to {MAX_EXPIRY_DAYS}, separated by commas: `30, 7`."
        )
        return DEFAULT_EXPIRY_DAYS
    unique = tuple(sorted(set(days), reverse=True))
    if len(unique) > MAX_EXPIRY_REMINDERS:
        errors["assurance_expiry_days"] = (
            f"At most {MAX_EXPIRY_REMINDERS} reminders; you gave {len(unique)}."
        )
        return DEFAULT_EXPIRY_DAYS
    return unique


def _date(raw: Mapping[str, Any], key: str, errors: dict[str, str]) -> date | None:
    """A datepicker's day (YYYY-MM-DD), or None when empty."""
    text = str(raw.get(key) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[key] = "Pick a date."
        return None


def _notice(raw: Mapping[str, Any], errors: dict[str, str]) -> int | None:
    """The notice period in days (0 to MAX_NOTICE_DAYS), or None when empty."""
    text = str(raw.get("notice_days") or "").strip()
    if not text:
        return None
    try:
        days = int(text)
    except ValueError:
        days = -1
    if not 0 <= days <= MAX_NOTICE_DAYS:
        errors["notice_days"] = f"Give whole days from 0 to {MAX_NOTICE_DAYS}."
        return None
    return days


def _days(raw: Mapping[str, Any], key: str, default: int, most: int, errors: dict[str, str]) -> int:
    """Whole working days from 1 to `most` (empty: the default)."""
    value = raw.get(key)
    text = str(value).strip() if value is not None else ""
    if not text:
        return default
    try:
        days = int(text)
    except ValueError:
        days = -1
    if not 1 <= days <= most:
        errors[key] = f"Give whole working days from 1 to {most}."
        return default
    return days


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
