"""The App Home tab: a person's engagements and what to do next."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import DividerBlock, HeaderBlock
from slack_sdk.models.views import View

from bot.blocks.common import context, pack_sections, section
from bot.blocks.engagements import engagement_lines
from bot.engagements import EngagementDetails

MAX_HOME_BLOCKS = 100


def home_view(
    user_id: str, mine: Sequence[tuple[EngagementDetails, tuple[str, ...]]]
) -> dict[str, Any]:
    blocks: list = [HeaderBlock(text="Cadence")]
    if not mine:
        blocks.append(
            section(
                "You are not part of any engagement yet. A project lead creates one with "
                "`/cadence engagement new`; `/cadence help` lists every command."
            )
        )
    else:
        blocks.append(section(f"*Your engagements* ({len(mine)})"))
        lines = [f"{engagement_lines(d)} · you: {', '.join(roles)}" for d, roles in mine]
        blocks.extend(pack_sections(lines))
    blocks.append(DividerBlock())
    blocks.append(context("`/cadence help` lists every command."))
    return View(type="home", blocks=blocks[:MAX_HOME_BLOCKS]).to_dict()
