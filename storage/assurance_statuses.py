"""The statuses an assurance item (a piece of the vendor's security evidence) can have.

They live in storage because the table refuses any other value (a CHECK constraint,
`storage/models.AssuranceItem`); the domain (`bot.domain.assurance`) imports them from here.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint


class AssuranceStatus(StrEnum):
    REQUESTED = "requested"  # asked of its owner, not provided yet
    RECEIVED = "received"  # provided, waiting for a reviewer
    ACCEPTED = "accepted"  # reviewed and accepted: valid until `valid_until`
    REJECTED = "rejected"  # reviewed and sent back with the reason: its owner provides again
    EXPIRED = "expired"  # was accepted; `valid_until` has passed (a security concern is raised)
    WAIVED = "waived"  # not needed for this engagement, with the reason


# What its owner still has to provide (the request's clock runs).
OWED = frozenset({AssuranceStatus.REQUESTED, AssuranceStatus.REJECTED, AssuranceStatus.EXPIRED})


def assurance_status_check() -> CheckConstraint:
    """`status IN (…)`, named `ck_assuranceitem_status` by the models' naming convention
    (migration 0021 writes the same constraint with its values spelled out)."""
    values = ", ".join(f"'{s.value}'" for s in AssuranceStatus)
    return CheckConstraint(f"status IN ({values})", name="status")
