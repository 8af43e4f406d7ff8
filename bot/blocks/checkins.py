"""Block Kit for check-ins: the prompt, the reminder, and what leads are told."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.blocks.common import channel_link, context, escape, mentions, message, section
from bot.domain import moments
from bot.domain.checkin_kinds import label as kind_label
from bot.domain.checkin_kinds import spec_of

ANSWER_ACTION = "checkin_answer"


def button_label(kind: str) -> str:
    spec = spec_of(kind)
    return spec.button if spec else "Answer"


def _answer_button(checkin_id: int, kind: str) -> ActionsBlock:
    return ActionsBlock(
        block_id="answer",
        elements=[
            ButtonElement(
                text=button_label(kind),
                action_id=ANSWER_ACTION,
                value=str(checkin_id),
                style="primary",
            )
        ],
    )


def prompt(
    *,
    checkin_id: int,
    kind: str,
    engagement_name: str,
    closes_at: datetime,
    tz: str,
    user_ids: Sequence[str] = (),
    reminder: bool = False,
) -> dict[str, Any]:
    """The check-in prompt (or its reminder). In a channel it mentions the people asked."""
    label = kind_label(kind)
    who = f"{mentions(user_ids)}: " if user_ids else ""
    if reminder:
        text = (
            f"{who}Reminder: your {label} for *{escape(engagement_name)}* is due by "
            f"{moments.moment(closes_at, tz)}."
        )
    else:
        text = (
            f"{who}Time for the {label} for *{escape(engagement_name)}*. "
            f"It takes two minutes; please answer by {moments.moment(closes_at, tz)}."
        )
    return message(
        text,
        [section(text), _answer_button(checkin_id, kind), context("Sent by Cadence on schedule.")],
    )


def overdue_alert(
    *,
    engagement_name: str,
    handle: str,
    kind: str,
    slot: str,
    missing: Sequence[str],
    away: Sequence[str],
    answered: Sequence[str],
    via_channel: Sequence[str],
    escalation: bool = False,
) -> dict[str, Any]:
    """What a lead (or the escalation target) reads when answers did not arrive in time."""
    label = kind_label(kind)
    head = "Escalation" if escalation else "Overdue"
    text = (
        f"{head}: the {label} for *{escape(engagement_name)}* ({slot}) is missing from "
        f"{mentions(missing)}."
    )
    lines = [text]
    if answered:
        lines.append(f"Answered: {mentions(answered)}")
    if away:
        lines.append(f"Away (not missing): {mentions(away)}")
    if via_channel:
        lines.append(
            f"Could not be reached by DM, so they were mentioned in the engagement channel: "
            f"{mentions(via_channel)}"
        )
    blocks = [section("\n".join(lines)), context(f"`/cadence status {handle}` for the health card")]
    return message(text, blocks)


def survey_overdue_alert(
    *,
    engagement_name: str,
    handle: str,
    kind: str,
    slot: str,
    asked: int,
    answered: int,
    away: int,
    escalation: bool = False,
) -> dict[str, Any]:
    """A survey's overdue alert (or escalation): counts only, never names. Whoever is named
    as missing or away, the rest answered, and an answer may be anonymous."""
    label = kind_label(kind)
    head = "Escalation" if escalation else "Overdue"
    missing = asked - answered - away
    text = (
        f"{head}: the {label} for *{escape(engagement_name)}* ({slot}) has {answered} of "
        f"{moments.counted(asked, 'answer')}; {missing} not yet."
    )
    lines = [text]
    if away:
        lines.append(f"{away} {'was' if away == 1 else 'were'} away (not missing).")
    blocks = [
        section("\n".join(lines)),
        context(
            "Survey answers may be anonymous, so who answered is never listed; the reminders "
            f"went to those who had not. `/cadence status {handle}` for the health card"
        ),
    ]
    return message(text, blocks)


def missed_summary(*, engagement_name: str, kind: str, slots: Sequence[str]) -> dict[str, Any]:
    """After downtime: one summary of the occurrences whose window closed unprompted (`slots`
    as the reader reads them, `bot.domain.moments.slot`)."""
    label = kind_label(kind)
    shown = ", ".join(slots[:20]) + (f" and {len(slots) - 20} more" if len(slots) > 20 else "")
    text = (
        f"Cadence was not running when {moments.counted(len(slots), f'{label} check-in')} "
        f"for *{escape(engagement_name)}* fell due, and their "
        f"windows have closed, so they were recorded as missed rather than sent late: {shown}."
    )
    return message(text, [section(text)])


def failure_notice(*, engagement_name: str, target: str, error: str) -> dict[str, Any]:
    """Told once per cause: Slack refused a message for good."""
    where = channel_link(target) if target[:1] in "CG" else f"<@{target}>"
    fixes = {
        "not_in_channel": "invite Cadence to the channel with `/invite @Cadence`",
        "channel_not_found": "check that the channel still exists and that Cadence is in it",
        "is_archived": "the channel is archived: pick another with `/cadence engagement edit`",
        "account_inactive": "the person's account is deactivated: update the engagement's people",
        "user_not_found": "the person is not in this workspace: update the engagement's people",
    }
    fix = fixes.get(error, "check the engagement's channel and people")
    text = (
        f"Cadence could not deliver a message for *{escape(engagement_name)}* to {where} "
        f"(Slack said `{error}`). To fix: {fix}. You will not be told again for this cause."
    )
    return message(text, [section(text)])


def thread_starter(*, kind: str, engagement_name: str, slot: str) -> dict[str, Any]:
    """A check-in asked by DM, as its channel shows it: one message whose thread holds the
    answers' summaries. `slot` as its readers read it (`bot.domain.moments`)."""
    text = (
        f"📋 *{escape(engagement_name)}*: {kind_label(kind)}s for {slot}. "
        "The answers are in this thread."
    )
    return message(text, [section(text)])
