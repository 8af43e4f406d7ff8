"""What an update carries as evidence, pure: its status (RAG), each KPI figure against its
target and amber tolerance (`kpi_outcome`, the one rule), and its blockers line by line, each
with the date it was first reported and how many updates carried it over since, so a blocker
that stays open is visible as such."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.domain.engagements import format_number
from bot.domain.targets import KpiOutcome, kpi_outcome
from storage.models import StatusUpdate

RAGS = ("green", "amber", "red")
RAG_EMOJI = {"green": "🟢", "amber": "🟠", "red": "🔴"}
LONG_OPEN_AFTER = 2  # a blocker carried over this many times is highlighted to the leads
MAX_CARRIED_CHOICES = 10  # Slack's checkboxes hold at most 10 options


def outcome_of_content(kpi: Mapping[str, Any]) -> KpiOutcome:
    """A KPI's outcome as a revision recorded it (revisions before tolerances: met or missed)."""
    try:
        return KpiOutcome(kpi.get("outcome"))
    except ValueError:
        return KpiOutcome.MET if kpi.get("met_target") else KpiOutcome.MISSED


# --- blockers, line by line (pure) -------------------------------------------------------------


@dataclass(frozen=True)
class Blocker:
    """A blocker line: first reported on `since`, carried over (`still blocks`) `carried` times."""

    text: str
    since: date
    carried: int = 0

    @property
    def long_open(self) -> bool:
        return self.carried >= LONG_OPEN_AFTER

    @property
    def choice(self) -> str:
        """The value of its "still blocks" checkbox: names the line itself, not its position,
        so a form opened before the author's latest update cannot carry over the wrong one."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "since": self.since.isoformat(), "carried": self.carried}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], fallback: date) -> Blocker:
        try:
            since = date.fromisoformat(str(raw.get("since")))
        except ValueError:
            since = fallback
        return cls(str(raw.get("text") or ""), since, int(raw.get("carried") or 0))


def blocker_texts(text: str) -> list[str]:
    """The blockers typed in a text, one per line (bullets dropped, repeats once)."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip().lstrip("•-* ").strip()
        if line and line.lower() not in {seen.lower() for seen in lines}:
            lines.append(line)
    return lines


def blockers_now(
    previous: Sequence[Blocker], still: Sequence[str], typed: str, reported_on: date
) -> tuple[Blocker, ...]:
    """This update's blockers: last time's lines the author says still block (their date kept,
    carried once more), then the lines typed now (reported on `reported_on`). A typed line
    that repeats a carried one is the same blocker."""
    by_text = {b.text: b for b in previous}
    lines: list[Blocker] = []
    seen: set[str] = set()
    for text in still:
        earlier = by_text.get(text)
        if earlier is not None and text.lower() not in seen:
            lines.append(Blocker(earlier.text, earlier.since, earlier.carried + 1))
            seen.add(text.lower())
    for text in blocker_texts(typed):
        if text.lower() not in seen:
            lines.append(Blocker(text, reported_on))
            seen.add(text.lower())
    return tuple(lines)


def blockers_of(update: StatusUpdate) -> tuple[Blocker, ...]:
    """An update's blocker lines (an update from before lines were kept: its text's lines)."""
    reported = update.submitted_at.date()
    if update.blocker_lines:
        return tuple(Blocker.from_json(raw, reported) for raw in update.blocker_lines)
    return tuple(Blocker(text, reported) for text in blocker_texts(update.blockers))


@dataclass(frozen=True)
class KpiField:
    """A KPI of the engagement as the form asks for it (by its row id); a retired one is only
    read back, for the figures reported against it before it was retired."""

    id: int
    name: str
    unit: str
    target: float
    higher_is_better: bool
    retired: bool = False
    tolerance: float | None = None

    @property
    def action_id(self) -> str:
        return kpi_action_id(self.id)

    def outcome(self, value: float) -> KpiOutcome:
        return kpi_outcome(value, self.target, self.higher_is_better, self.tolerance)

    def target_text(self) -> str:
        """`≥ 99.9%`, or `≥ 99.9%, amber ≥ 99.5%` with a tolerance."""
        op = "≥" if self.higher_is_better else "≤"
        unit = f" {self.unit}" if self.unit and self.unit != "%" else self.unit
        amber = (
            f", amber {op} {format_number(self.tolerance)}{unit}"
            if self.tolerance is not None
            else ""
        )
        return f"{op} {format_number(self.target)}{unit}{amber}"

    def label(self) -> str:
        """`Uptime (%) — target ≥ 99.9` (`… (amber ≥ 99.5)` with a tolerance)."""
        unit = f" ({self.unit})" if self.unit else ""
        op = "≥" if self.higher_is_better else "≤"
        amber = (
            f" (amber {op} {format_number(self.tolerance)})" if self.tolerance is not None else ""
        )
        return f"{self.name}{unit} — target {op} {format_number(self.target)}{amber}"


def kpi_action_id(kpi_id: int) -> str:
    return f"kpi_{kpi_id}"


@dataclass(frozen=True)
class KpiResult:
    kpi: KpiField
    value: float
    outcome: KpiOutcome

    @property
    def met(self) -> bool:
        return self.outcome is KpiOutcome.MET
