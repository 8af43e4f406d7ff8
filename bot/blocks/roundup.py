"""A person's daily round-up: the notices held for them that day (`bot/domain/notifications.py`),
one DM instead of one each; and the Home tab's choice of how they hear of answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.blocks import kit
from bot.blocks.common import MAX_MESSAGE_BLOCKS, context, message, section
from bot.domain import moments

NOTIFY_ACTION = "notify_mode"  # the Home tab's select: how the person hears of answers
MAX_ROUNDUP_ITEMS = MAX_MESSAGE_BLOCKS - 3  # a section each, the heading and the footer


def roundup(lines: Sequence[str], *, day: date) -> dict[str, Any]:
    """The round-up DM: its heading, one section per notice (as its own DM would have said it,
    in short), and how to change the choice. Past Slack's 50 blocks, the rest are counted."""
    count = moments.counted(len(lines), "answer that needs you", "answers that need you")
    heading = f"*Your round-up for {moments.day(day)}*: {count}."
    shown = list(lines[:MAX_ROUNDUP_ITEMS])
    blocks: list[Any] = [section(heading), *(section(line) for line in shown)]
    if len(lines) > len(shown):
        blocks.append(section(f"…and {len(lines) - len(shown)} more in the channels' summaries."))
    blocks.append(
        context(
            "You get one round-up a day; choose each answer or only summaries on "
            "Cadence's Home tab."
        )
    )
    return message(heading.replace("*", ""), blocks)


def notify_choice(modes: dict[str, str], chosen: str) -> list[kit.Block]:
    """Home: how the person hears of answers that need a lead (a select, acted on at once), as
    plain dicts (`bot/blocks/kit.py`)."""
    options = [kit.option(value, label) for value, label in modes.items()]
    current = next(o for o in options if o["value"] == chosen)
    return [
        kit.section(
            "*Answers that need you* (a red update, a missed KPI, a question's rule): "
            "how should Cadence tell you?",
            accessory=kit.static_select(NOTIFY_ACTION, options, initial=current),
        ),
        kit.context(
            "A daily round-up comes at 17:00 your time on a day something arrived. "
            "Survey results, overdue alerts and security concerns always come at once."
        ),
    ]
