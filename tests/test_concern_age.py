"""What the concern list and the Home tab say of a concern's age and its SLA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.blocks.concerns import concern_age
from storage.models import Concern

RAISED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def concern(sla_hours: int | None = None) -> Concern:
    due = RAISED + timedelta(hours=sla_hours) if sla_hours is not None else None
    return Concern(raised_at=RAISED, sla_due_at=due)


def test_hours_then_days_then_the_sla_left_or_past():
    assert concern_age(concern(), RAISED + timedelta(hours=5, minutes=59)) == "open 5 h"
    assert concern_age(concern(), RAISED + timedelta(hours=50)) == "open 2 d"
    assert concern_age(concern(24), RAISED + timedelta(hours=3)) == "open 3 h, 21 h left on its SLA"
    assert concern_age(concern(24), RAISED + timedelta(hours=27)) == "open 27 h, *3 h past its SLA*"


def test_a_concern_raised_a_moment_after_the_reading_is_open_0_h_not_minus_1():
    """A Home job runs at the moment of the request that planned it and may read a concern a
    later request raised milliseconds after."""
    assert concern_age(concern(), RAISED - timedelta(milliseconds=40)) == "open 0 h"
    assert concern_age(concern(24), RAISED - timedelta(milliseconds=40)).startswith("open 0 h, ")
