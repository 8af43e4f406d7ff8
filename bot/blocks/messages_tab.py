"""The answer to a message typed to Cadence in its Messages tab (pure: text in, dict out)."""

from __future__ import annotations

from typing import Any

from bot.blocks.common import plain_message

DIRECT_MESSAGE_ANSWER = (
    "Hi! I don't read messages typed here: everything Cadence does starts with `/cadence`. "
    "Type `/cadence help` in any channel for the whole list, with examples (for instance "
    "`/cadence update <engagement>` to send a status update now). Your check-ins and "
    "engagements are on my *Home* tab."
)


def direct_message_answer() -> dict[str, Any]:
    return plain_message(DIRECT_MESSAGE_ANSWER)
