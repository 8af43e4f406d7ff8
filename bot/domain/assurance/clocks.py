"""An assurance item's clocks: the reminders before its evidence expires, its expiry (the item
turns expired and one security concern is raised), and the provide window of an owed item
(its owner reminded, then the engagement's leads).

The register (`bot.domain.assurance.register`) calls `plan` after every change of an item, in
the change's transaction, and `on_accepted` when an item is accepted.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from storage.models import AssuranceItem


def plan(session: Session, item: AssuranceItem, now: dt.datetime) -> None:
    """Bring the item's clock jobs in line with its state: only the difference is planned or
    cancelled; each job re-checks it is still live when it runs. (First version: nothing yet.)"""


def on_accepted(session: Session, item: AssuranceItem, actor: str, now: dt.datetime) -> None:
    """When an item whose expiry raised a concern is accepted again (its renewal), resolve that
    concern as the accepting reviewer with a note naming the renewal, and clear concern_id.
    (First version: nothing yet.)"""
