"""Block Kit for `/cadence digest schedule`: the form that says when the weekly executive digest
goes out and where, and the sentence that confirms it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    ConversationSelectElement,
    InputBlock,
    Option,
    TimePickerElement,
)
from slack_sdk.models.views import View

from bot.blocks.common import context, section, timezone_input
from bot.blocks.engagements import CHANNEL_FILTER
from bot.domain import moments
from bot.domain.workspaces import DigestSchedule
from storage.models import Workspace

DIGEST_SCHEDULE_VIEW = "digest_schedule"
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAYS = [Option(value=str(i), label=name) for i, name in enumerate(DAY_NAMES)]


def schedule_modal(
    workspace: Workspace,
    *,
    upcoming: Sequence[datetime] = (),
    timezone: str | None = None,
) -> dict[str, Any]:
    """The form, filled with what the workspace has stored (`timezone` replaces the stored zone
    as the default, e.g. the person's own while the schedule is still the default).
    `upcoming`: the next send times (UTC) under the schedule as the form shows it."""
    stored = DigestSchedule.of(workspace)
    zone = timezone or stored.timezone
    chosen = [_DAYS[d] for d in stored.weekdays if 0 <= d < len(_DAYS)]
    blocks = [
        section(
            "The weekly executive digest goes to the digest channels at this local day and time."
        ),
        InputBlock(
            block_id="weekdays",
            label="Days",
            element=CheckboxesElement(
                action_id="weekdays", options=_DAYS, initial_options=chosen or None
            ),
        ),
        InputBlock(
            block_id="local_time",
            label="At (local time)",
            element=TimePickerElement(action_id="local_time", initial_time=stored.local_time),
        ),
        timezone_input(zone, hint=""),
        InputBlock(
            block_id="channel",
            label="Default digest channel",
            optional=True,
            hint="Each engagement may name its own digest channel; engagements without one "
            "go here. Leave empty and only engagements with their own channel are sent.",
            element=ConversationSelectElement(
                action_id="channel",
                placeholder="Choose a channel",
                initial_conversation=stored.channel_id or None,
                filter=CHANNEL_FILTER,
            ),
        ),
        context(upcoming_text(upcoming, zone)),
    ]
    view = View(
        type="modal",
        callback_id=DIGEST_SCHEDULE_VIEW,
        title="Digest schedule",
        submit="Save",
        close="Cancel",
        blocks=blocks,
    )
    return view.to_dict()


def upcoming_text(upcoming: Sequence[datetime], timezone: str) -> str:
    if not upcoming:
        return "Choose at least one day to see when the digest goes out."
    try:
        times = " · ".join(moments.moment(at, timezone) for at in upcoming)
    except (ValueError, KeyError):  # an unknown zone: show UTC rather than fail
        times = " · ".join(moments.moment(at, "UTC") for at in upcoming)
    return f"Next digests as shown here: {times}"


def days_phrase(weekdays: Sequence[int]) -> str:
    """`Mondays`, `Tuesdays and Thursdays`, `every day`, `weekdays (Monday to Friday)`."""
    days = tuple(sorted(set(weekdays)))
    if days == (0, 1, 2, 3, 4, 5, 6):
        return "every day"
    if days == (0, 1, 2, 3, 4):
        return "on weekdays (Monday to Friday)"
    names = [f"{DAY_NAMES[d]}s" for d in days]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def schedule_summary(workspace: Workspace) -> str:
    """`The digest goes out Mondays at 09:00 Europe/Berlin, next on Mon 30 Nov 09:00 CET, to
    #exec.` for the confirmation after saving."""
    schedule = DigestSchedule.of(workspace)
    nxt = workspace.digest_next_run_at
    when = f", next on {moments.moment(nxt, schedule.timezone)}" if nxt else ""
    if schedule.channel_id:
        where = (
            f"to <#{schedule.channel_id}> (an engagement with a digest channel of its own goes "
            "there instead)"
        )
    else:
        where = (
            "to each engagement's own digest channel; engagements without one are in no "
            "scheduled digest until a default channel is chosen"
        )
    return (
        f"The digest goes out {days_phrase(schedule.weekdays)} at {schedule.local_time} "
        f"{schedule.timezone}{when}, {where}."
    )
