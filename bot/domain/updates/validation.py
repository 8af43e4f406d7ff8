"""What a valid update is, pure: the form's values (keyed by action_id) in, an `UpdateInput`
out, or a `FieldErrors` naming each field to fix, so nothing is written unless all of it is
valid."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.domain.errors import FieldErrors
from bot.domain.updates.deliverable_answers import (
    DeliverableAnswer,
    DeliverableField,
    validate_answers,
)
from bot.domain.updates.evidence import (
    MAX_CARRIED_CHOICES,
    RAGS,
    Blocker,
    KpiField,
    KpiOutcome,
)

CONFIDENCE_LEVELS = (1, 2, 3, 4, 5)
MAX_TEXT = 3000
TEXT_FIELDS = ("summary", "accomplishments", "next_steps", "blockers", "reason")
NEEDS_REASON = ("amber", "red")


@dataclass(frozen=True)
class UpdateInput:
    """A complete, valid update (the form's fields after validation). `blockers` is what was
    typed; `still_blocking` the texts of last time's blockers the author ticked;
    `deliverables` the answers about the author's deliverables due soon."""

    rag: str
    summary: str
    accomplishments: str = ""
    next_steps: str = ""
    blockers: str = ""
    confidence: int | None = None
    kpi_values: Mapping[int, float] = field(default_factory=dict)
    reason: str = ""
    still_blocking: tuple[str, ...] = ()
    deliverables: tuple[DeliverableAnswer, ...] = ()

    def content(self, kpis: Sequence[KpiField], blockers: Sequence[Blocker]) -> dict[str, Any]:
        """What a revision records: every field, the blocker lines, each KPI figure with
        its target and tolerance then and how it stood against them, and the deliverable
        answers (when any were asked for)."""
        recorded = {"deliverables": [a.as_json() for a in self.deliverables]}
        return {
            "rag": self.rag,
            "reason": self.reason,
            "summary": self.summary,
            "accomplishments": self.accomplishments,
            "next_steps": self.next_steps,
            "blockers": "\n".join(b.text for b in blockers),
            "blocker_lines": [b.as_json() for b in blockers],
            "confidence": self.confidence,
            "kpis": [
                {
                    "kpi_id": k.id,
                    "name": k.name,
                    "unit": k.unit,
                    "value": self.kpi_values[k.id],
                    "target": k.target,
                    "tolerance": k.tolerance,
                    "higher_is_better": k.higher_is_better,
                    "met_target": k.outcome(self.kpi_values[k.id]) is KpiOutcome.MET,
                    "outcome": k.outcome(self.kpi_values[k.id]).value,
                }
                for k in kpis
                if k.id in self.kpi_values
            ],
            **(recorded if self.deliverables else {}),
        }


# --- validation (pure) -------------------------------------------------------------------------


def parse_number(value: Any) -> float | None:
    """A KPI figure as typed (`99.95`, `99,95`, ` 8 `); None when empty; ValueError otherwise."""
    if value is None:
        return None
    text = str(value).strip().replace(",", ".")
    if not text:
        return None
    number = float(text)  # raises ValueError for anything that is not a number
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _ticked(raw: Any, previous: Sequence[Blocker]) -> tuple[str, ...]:
    """The texts of last time's blockers ticked "still blocks" (one no longer offered: none)."""
    chosen = {str(c) for c in raw if c} if isinstance(raw, list) else set()
    return tuple(b.text for b in previous[:MAX_CARRIED_CHOICES] if b.choice in chosen)


def validate(
    raw: Mapping[str, Any],
    kpis: Sequence[KpiField],
    previous_blockers: Sequence[Blocker] = (),
    deliverables: Sequence[DeliverableField] = (),
    today: date | None = None,
) -> UpdateInput:
    """Check the form's values (by action_id); raise FieldErrors naming each one to fix.
    `today` (the engagement's) is needed only when `deliverables` are asked about."""
    errors: dict[str, str] = {}
    answers: tuple[DeliverableAnswer, ...] = ()
    if deliverables:
        assert today is not None
        answers, errors = validate_answers(raw, deliverables, today)
    rag = (raw.get("rag") or "").strip().lower()
    if rag not in RAGS:
        errors["rag"] = "Choose a status: green, amber or red."
    texts: dict[str, str] = {}
    for key in TEXT_FIELDS:
        texts[key] = (raw.get(key) or "").strip()
        if len(texts[key]) > MAX_TEXT:
            errors[key] = f"At most {MAX_TEXT} characters here (this has {len(texts[key])})."
    if not texts["summary"] and "summary" not in errors:
        errors["summary"] = "Say in a few sentences where things stand."
    if rag in NEEDS_REASON and not texts["reason"] and "reason" not in errors:
        errors["reason"] = (
            f"For {rag}, say what would make it green: what has to happen, and who can make "
            "it happen."
        )
    still = _ticked(raw.get("still_blocking"), previous_blockers)
    together = len("\n".join((*still, texts["blockers"])))
    if together > MAX_TEXT and "blockers" not in errors:
        errors["blockers"] = (
            f"At most {MAX_TEXT} characters of blockers, with those still blocking ({together})."
        )
    confidence: int | None = None
    if raw.get("confidence") not in (None, ""):
        try:
            confidence = int(raw["confidence"])
        except (TypeError, ValueError):
            confidence = 0
        if confidence not in CONFIDENCE_LEVELS:
            errors["confidence"] = "Choose a confidence from 1 to 5."
    values: dict[int, float] = {}
    for kpi in kpis:
        try:
            number = parse_number(raw.get(kpi.action_id))
        except ValueError:
            errors[kpi.action_id] = (
                f"“{str(raw.get(kpi.action_id))[:40]}” is not a number. Give {kpi.name} as a "
                "number such as 99.9, or leave it empty."
            )
            continue
        if number is not None:
            values[kpi.id] = number
    if errors:
        raise FieldErrors(errors)
    return UpdateInput(
        rag=rag,
        summary=texts["summary"],
        accomplishments=texts["accomplishments"],
        next_steps=texts["next_steps"],
        blockers=texts["blockers"],
        confidence=confidence,
        kpi_values=values,
        # Only an amber or red says what would make it green; a green has nothing to say there.
        reason=texts["reason"] if rag in NEEDS_REASON else "",
        still_blocking=still,
        deliverables=answers,
    )
