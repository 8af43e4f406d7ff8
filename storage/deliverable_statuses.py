"""The statuses a deliverable can have.

They live in storage because the table refuses any other value (a CHECK constraint,
`storage/models.Deliverable`) and the models cannot import the domain; the domain
(`bot.domain.deliverables`) and the engine's clocks import them from here.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint


class DeliverableStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"  # waits for an acceptor (a rejection sends it back to in progress)
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


# Nothing more happens to a deliverable in these: no clock runs, no button is offered.
CLOSED = frozenset({DeliverableStatus.ACCEPTED, DeliverableStatus.CANCELLED})


def deliverable_status_check() -> CheckConstraint:
    """`status IN (…)`, named `ck_deliverable_status` by the models' naming convention
    (migration 0017 writes the same constraint with its values spelled out)."""
    values = ", ".join(f"'{s.value}'" for s in DeliverableStatus)
    return CheckConstraint(f"status IN ({values})", name="status")
