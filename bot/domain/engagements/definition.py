"""What an engagement is: its limits, a valid definition (`EngagementInput`), the details read
back with its people, KPIs and SLAs (`EngagementDetails`), and how a definition becomes columns
and an audit snapshot. The handle and the plain number format live here because every other
part (validation, queries, the blocks) reads them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bot.domain.assurance.types import DEFAULT_CRITICALITY
from storage.models import Engagement, EngagementBase

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
# A deliverable's windows (working days), per engagement: the owner's due-soon reminder and how
# long a submission waits for acceptance before the acceptors are reminded.
DEFAULT_DUE_SOON_DAYS = 3
DEFAULT_ACCEPTANCE_DAYS = 5
MAX_DUE_SOON_DAYS = 20
MAX_ACCEPTANCE_DAYS = 30
MAX_NOTICE_DAYS = 730  # two years' notice is the longest any outsourcing contract asks
CONTRACT_RENEWS = "renews"  # the form's renewal option: renews by itself unless notice is given
# The vendor's evidence (the assurance register): its owner hears this many days before an
# item expires, and an owed item not provided within the window (working days) reminds its
# owner, then the same window again escalates to the leads.
DEFAULT_EXPIRY_DAYS = (30, 7)
MAX_EXPIRY_DAYS = 365
MAX_EXPIRY_REMINDERS = 5
DEFAULT_WINDOW_DAYS = 10
MAX_WINDOW_DAYS = 60
MAX_KPI_NAME = 60
MAX_KPI_UNIT = 20
MAX_HOLIDAYS = 200


def format_number(value: float) -> str:
    """Plain digits as a person types them: no exponent, no trailing zeros, no lost digits."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def slugify(name: str) -> str:
    """The handle people type: `Acme Payments (EU)` → `acme-payments-eu`."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:MAX_HANDLE].rstrip("-")


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
    deliverable_due_soon_days: int = DEFAULT_DUE_SOON_DAYS
    deliverable_acceptance_days: int = DEFAULT_ACCEPTANCE_DAYS
    contract_start: date | None = None
    contract_end: date | None = None
    contract_renews: bool = False
    notice_days: int | None = None
    criticality: str = DEFAULT_CRITICALITY
    assurance_expiry_days: tuple[int, ...] = DEFAULT_EXPIRY_DAYS
    assurance_window_days: int = DEFAULT_WINDOW_DAYS

    @property
    def handle(self) -> str:
        return slugify(self.name)


@dataclass(frozen=True, slots=True)
class EngagementLine:
    """What a list shows of an engagement: a line each. A list reads these as plain columns
    and the leads alone (`queries.list_page`), not whole engagements with their people, KPIs
    and SLAs: a page of a hundred cost more in ORM objects than in its queries."""

    id: int
    name: str
    handle: str
    vendor: str
    channel_id: str
    archived_at: datetime | None
    leads: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Managers:
    """What a permission check reads of an engagement: its name (for the refusal) and its
    leads, in one SELECT (`queries.managers`), not the whole engagement with its people, KPIs
    and SLAs."""

    name: str
    leads: tuple[str, ...]


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

    @property
    def line(self) -> EngagementLine:
        e = self.engagement
        return EngagementLine(
            self.id, e.name, e.handle, e.vendor, e.channel_id, e.archived_at, self.leads
        )

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
            deliverable_due_soon_days=e.deliverable_due_soon_days,
            deliverable_acceptance_days=e.deliverable_acceptance_days,
            contract_start=e.contract_start,
            contract_end=e.contract_end,
            contract_renews=e.contract_renews,
            notice_days=e.notice_days,
            criticality=e.criticality,
            assurance_expiry_days=tuple(e.assurance_expiry_days or ()),
            assurance_window_days=e.assurance_window_days,
        )

    def snapshot(self) -> dict[str, Any]:
        """What the audit trail records for before → after."""
        return snapshot(self.as_input())


def columns(data: EngagementInput) -> EngagementBase:
    """The definition as the engagement's own columns (people, KPIs and SLAs are child rows)."""
    return EngagementBase.model_validate(
        {
            **vars(data),
            "handle": data.handle,
            "assurance_expiry_days": list(data.assurance_expiry_days),
        }
    )


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
