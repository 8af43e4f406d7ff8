"""The App Home tab: a person's engagements and what to do next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ButtonElement,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.checkins import ANSWER_ACTION, button_label, local
from bot.blocks.common import context, escape, fit_text, pack_sections, section
from bot.blocks.concerns import concern_age, headline
from bot.blocks.engagements import engagement_lines
from bot.domain.checkin_kinds import title as kind_title
from bot.domain.checkins import CheckInStatus
from bot.domain.concerns import ConcernPage
from bot.domain.engagements import EngagementDetails
from storage.models import Cadence, CheckIn, Engagement

MAX_HOME_BLOCKS = 100


def waiting_blocks(waiting: Sequence[tuple[CheckIn, Cadence, Engagement]]) -> list:
    """Each check-in waiting for the person, with the button that opens its form."""
    blocks: list = [section(f"*Waiting for your answer* ({len(waiting)})")]
    for checkin, cadence, engagement in waiting:
        late = " _(overdue)_" if checkin.status == CheckInStatus.OVERDUE else ""
        text = (
            f"{kind_title(cadence.kind)} for "
            f"*{escape(engagement.name)}*{late} · due {local(checkin.window_closes_at, cadence.timezone)}"
        )
        blocks.append(
            SectionBlock(
                block_id=f"waiting-{checkin.id}",
                text=MarkdownTextObject(text=text),
                accessory=ButtonElement(
                    text=button_label(cadence.kind),
                    action_id=ANSWER_ACTION,
                    value=str(checkin.id),
                ),
            )
        )
    return blocks


MAX_HOME_CONCERNS = 15


def concern_blocks(page: ConcernPage, now: datetime) -> list:
    """The open concerns a person owns or raised, worst first; the rest counted."""
    blocks: list = [section(f"*Your open concerns* ({page.total}): owned or raised by you")]
    for concern, engagement in page.rows[:MAX_HOME_CONCERNS]:
        blocks.append(
            section(
                fit_text(
                    f"{headline(concern)}\n{escape(engagement.name)} · owner "
                    f"<@{concern.owner_user_id}> · {concern_age(concern, now)}"
                )
            )
        )
    rest = page.total - min(page.total, MAX_HOME_CONCERNS)
    if rest:
        blocks.append(context(f"…and {rest} more: `/cadence concerns mine` lists them all."))
    return blocks


def home_view(
    user_id: str,
    mine: Sequence[tuple[EngagementDetails, tuple[str, ...]]],
    waiting: Sequence[tuple[CheckIn, Cadence, Engagement]] = (),
    concerns: ConcernPage | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    blocks: list = [HeaderBlock(text="Cadence")]
    if waiting:
        blocks.extend(waiting_blocks(waiting))
        blocks.append(DividerBlock())
    if concerns is not None and concerns.total and now is not None:
        blocks.extend(concern_blocks(concerns, now))
        blocks.append(DividerBlock())
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
