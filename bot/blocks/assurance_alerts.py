"""What an assurance item's clocks say: its evidence expires soon (to its owner), it is owed and
not provided within the engagement's window (to its owner), and still not after the window
again (to the leads). Each names the item and where its card is. The expiry itself speaks
through the security concern it raises (the concern's card and DMs)."""

from __future__ import annotations

from typing import Any

from bot.blocks.common import context, escape, fit_text, message, section
from bot.domain.moments import day
from storage.assurance_statuses import AssuranceStatus
from storage.models import AssuranceItem, Engagement

OWED_WORDS = {
    AssuranceStatus.REQUESTED: "was requested",
    AssuranceStatus.REJECTED: "was sent back",
    AssuranceStatus.EXPIRED: "expired and was asked for again",
}


def _days(count: int, unit: str = "day") -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _where(item: AssuranceItem, engagement: Engagement) -> str:
    if item.channel_id:
        return f"Its card is in <#{item.channel_id}>; `/cadence assurance {engagement.handle}` lists it."
    return f"`/cadence assurance {engagement.handle}` lists it."


def expiring(item: AssuranceItem, engagement: Engagement, days: int) -> dict[str, Any]:
    """To the owner, `days` before the last day the evidence is valid."""
    assert item.valid_until is not None
    title, name = escape(item.title), escape(engagement.name)
    when = "today is its last valid day" if days == 0 else f"in {_days(days)}"
    text = (
        f"🗓️ *{title}* for *{name}* is valid until *{day(item.valid_until)}*: {when}. "
        "Provide its renewal before then: once that day passes it expires and a security "
        "concern is raised."
    )
    return message(
        fit_text(text, 2900), [section(fit_text(text)), context(_where(item, engagement))]
    )


def owed(item: AssuranceItem, engagement: Engagement, working_days: int) -> dict[str, Any]:
    """To the owner: the evidence is owed and the engagement's window has passed."""
    title, name = escape(item.title), escape(engagement.name)
    said = OWED_WORDS.get(AssuranceStatus(item.status), "was requested")
    text = (
        f"⏳ *{title}* for *{name}* {said} {_days(working_days, 'working day')} ago and is "
        "still not provided. You own it: provide it, or tell the leads why it cannot be."
    )
    if item.status == AssuranceStatus.REJECTED and item.reason:
        text += f"\nWhy it was sent back: {escape(item.reason)}"
    return message(
        fit_text(text, 2900), [section(fit_text(text)), context(_where(item, engagement))]
    )


def escalated(item: AssuranceItem, engagement: Engagement, working_days: int) -> dict[str, Any]:
    """To each lead: still owed after the window twice over."""
    title, name = escape(item.title), escape(engagement.name)
    said = OWED_WORDS.get(AssuranceStatus(item.status), "was requested")
    due = "due diligence" if item.required else "evidence"
    text = (
        f"🔺 *{title}* for *{name}* {said} {_days(working_days, 'working day')} ago and "
        f"<@{item.owner_user_id}> has still not provided it ({due}): escalated to you. "
        "Chase the vendor, or waive it with a reason."
    )
    return message(
        fit_text(text, 2900), [section(fit_text(text)), context(_where(item, engagement))]
    )
