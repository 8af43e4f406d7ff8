"""Who may change an engagement: its leads and Cadence admins (CADENCE_ADMINS)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.engagements.definition import EngagementDetails
from bot.domain.errors import NotAllowed


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
