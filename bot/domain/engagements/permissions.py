"""Who may change an engagement: its leads and Cadence admins (CADENCE_ADMINS)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.engagements.definition import EngagementDetails, Managers
from bot.domain.errors import NotAllowed


def may_manage(details: EngagementDetails, user_id: str, admins: Iterable[str]) -> bool:
    return user_id in details.leads or user_id in set(admins)


def require_manager(details: EngagementDetails, user_id: str, admins: Iterable[str]) -> None:
    """Only the engagement's leads and Cadence admins (CADENCE_ADMINS) may change it."""
    require_lead_or_admin(Managers(details.engagement.name, details.leads), user_id, admins)


def require_lead_or_admin(who: Managers, user_id: str, admins: Iterable[str]) -> None:
    """`require_manager` with only what it reads (`queries.managers`)."""
    if not (user_id in who.leads or user_id in set(admins)):
        leads = ", ".join(f"<@{u}>" for u in who.leads)
        raise NotAllowed(
            f"Only the leads of {who.name} ({leads}) or a Cadence admin can change it. Ask one "
            "of them."
        )
