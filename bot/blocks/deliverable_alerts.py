"""What a deliverable's clocks say: due soon (to the owner), overdue (owner and leads), waiting
for acceptance (the acceptors) and escalated (the leads), each with the way to its card.

Dates are in the reader's terms: the due date as the engagement agreed it (a day in its zone)
and, for a reader in another zone, the moment it falls in theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.blocks.common import context, escape, fit_text, message, section
from bot.domain import moments
from bot.domain.deliverable_clocks import Stage
from bot.domain.moments import day
from storage.models import Deliverable, Engagement


@dataclass(frozen=True)
class Reading:
    """Who reads it and where they can act: their id and zone (None: unknown), the card's link, the
    working days the clock counted (left before the due date, or waited since submission)."""

    reader: str
    reader_tz: str | None
    card_link: str | None
    working_days: int


def due_in_reader_terms(deliverable: Deliverable, engagement: Engagement, reader_tz: str | None):
    """`Wed 28 Oct 2026 (the end of that day in Europe/Berlin: Wed 28 Oct 19:00 EDT for you)`."""
    said = f"*{day(deliverable.due_on)}* (the end of that day in {engagement.timezone}"
    if reader_tz and reader_tz != engagement.timezone:
        said += f": {moments.moment(deliverable.due_at, reader_tz)} for you"
    return said + ")"


def _days(count: int) -> str:
    return f"{count} working day{'' if count == 1 else 's'}"


def clock_alert(
    deliverable: Deliverable, engagement: Engagement, stage: Stage, reading: Reading
) -> dict[str, Any]:
    """One clock's message to one reader."""
    title, name = escape(deliverable.title), escape(engagement.name)
    due = due_in_reader_terms(deliverable, engagement, reading.reader_tz)
    owner = f"<@{deliverable.owner_user_id}>"
    yours = reading.reader == deliverable.owner_user_id
    if stage == Stage.DUE_SOON:
        left = reading.working_days
        when = "today" if left <= 1 else f"in {_days(left)}"
        text = f"⏳ *{title}* on *{name}* is due {when}: {due}. You own it; submit it when done."
    elif stage == Stage.OVERDUE:
        who = "You own it: submit it, or re-plan it with a reason." if yours else f"Owner {owner}."
        text = f"⏰ *{title}* on *{name}* is overdue: it was due {due}. {who}"
    elif stage == Stage.ACCEPTANCE:
        text = (
            f"📥 *{title}* on *{name}* was submitted by {owner} and has waited "
            f"{_days(reading.working_days)} to be accepted or rejected. It was due {due}."
        )
    else:
        text = (
            f"🔺 *{title}* on *{name}* is still neither accepted nor rejected, "
            f"{_days(reading.working_days)} after {owner} submitted it: escalated. "
            f"It was due {due}."
        )
    # A link, not a URL button: Slack sends a URL button's click to the app, which has nothing
    # to do with it.
    where = (
        f"<{reading.card_link}|Open its card>"
        if reading.card_link
        else f"Its card is in <#{engagement.channel_id}>."
    )
    return message(fit_text(text, 2900), [section(fit_text(text)), context(where)])
