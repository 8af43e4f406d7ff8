"""Block Kit for cadences: the schedule form with its live preview, and the list with buttons."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    DatePickerElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
    TimePickerElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.common import channel_link, context, escape, mentions, message, section
from bot.domain import moments
from bot.domain.cadences import (
    AUDIENCES,
    DELIVERIES,
    KINDS,
    MAX_AUDIENCE,
    MAX_ESCALATION,
    RULE_KINDS,
    CadenceStatus,
)
from bot.domain.recurrence import Occurrence

CADENCE_MODAL = "cadence_form"
RULE_ACTION_PREFIX = "rule_"  # inputs whose change refreshes the preview
CADENCE_BUTTON = "cadence_button"
MAX_LISTED = 24  # a section and a row of buttons each, plus header and footer: 50 blocks
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NTH = {"1": "1st", "2": "2nd", "3": "3rd", "4": "4th", "-1": "last"}


def _options(choices: Mapping[str, str]) -> list[Option]:
    return [Option(value=value, text=label) for value, label in choices.items()]


def _initial(choices: Mapping[str, str], value: Any) -> Option | None:
    value = None if value is None else str(value)
    return Option(value=value, text=choices[value]) if value in choices else None


def _select(action_id: str, label: str, choices: Mapping[str, str], value: Any, *, dispatch=False):
    return InputBlock(
        block_id=action_id,
        label=label,
        dispatch_action=dispatch or None,
        element=StaticSelectElement(
            action_id=action_id,
            placeholder="Choose",
            options=_options(choices),
            initial_option=_initial(choices, value),
        ),
    )


def _number(action_id: str, label: str, value: Any, *, optional=False, hint=None, dispatch=False):
    return InputBlock(
        block_id=action_id,
        label=label,
        optional=optional or None,
        hint=hint,
        dispatch_action=dispatch or None,
        element=NumberInputElement(
            action_id=action_id,
            is_decimal_allowed=False,
            min_value=0,
            initial_value=value if value not in (None, "") else None,
        ),
    )


def rule_blocks(values: Mapping[str, Any]) -> list:
    """The fields of the chosen kind of rule (the form changes when the kind changes)."""
    kind = values.get("rule_kind") or "weekly"
    blocks: list = [
        _select(f"{RULE_ACTION_PREFIX}kind", "Repeats", RULE_KINDS, kind, dispatch=True)
    ]
    days = {str(i): name for i, name in enumerate(WEEKDAY_NAMES)}
    if kind in ("weekly", "every_n_weeks"):
        chosen = [str(d) for d in values.get("weekdays") or []]
        blocks.append(
            InputBlock(
                block_id=f"{RULE_ACTION_PREFIX}weekdays",
                label="On",
                dispatch_action=True,
                element=CheckboxesElement(
                    action_id=f"{RULE_ACTION_PREFIX}weekdays",
                    options=_options(days),
                    initial_options=[_initial(days, d) for d in chosen if d in days] or None,
                ),
            )
        )
    if kind == "every_n_weeks":
        blocks.append(
            _number(
                f"{RULE_ACTION_PREFIX}interval",
                "Every how many weeks",
                values.get("interval"),
                dispatch=True,
            )
        )
        blocks.append(
            InputBlock(
                block_id=f"{RULE_ACTION_PREFIX}start_date",
                label="Counting from the week of",
                dispatch_action=True,
                element=DatePickerElement(
                    action_id=f"{RULE_ACTION_PREFIX}start_date",
                    initial_date=values.get("start_date") or None,
                ),
            )
        )
    if kind == "monthly_day":
        blocks.append(
            _number(
                f"{RULE_ACTION_PREFIX}month_day",
                "Day of the month",
                values.get("month_day"),
                hint="29, 30 or 31 fall on the last day in shorter months.",
                dispatch=True,
            )
        )
    if kind == "monthly_weekday":
        blocks.append(
            _select(f"{RULE_ACTION_PREFIX}nth", "Which", NTH, values.get("nth"), dispatch=True)
        )
        blocks.append(
            _select(
                f"{RULE_ACTION_PREFIX}weekday",
                "Weekday",
                days,
                values.get("weekday"),
                dispatch=True,
            )
        )
    if kind == "cron":
        blocks.append(
            InputBlock(
                block_id=f"{RULE_ACTION_PREFIX}cron",
                label="Cron expression",
                hint="minute hour day-of-month month day-of-week, e.g. 0 9 * * 1-5 (weekdays at "
                "09:00); Sunday is 0 or 7. At most once an hour: name one minute. Press Enter "
                "to see the next runs.",
                dispatch_action=True,
                element=PlainTextInputElement(
                    action_id=f"{RULE_ACTION_PREFIX}cron",
                    initial_value=values.get("cron") or None,
                    placeholder="0 9 * * 1",
                ),
            )
        )
    else:
        blocks.append(
            InputBlock(
                block_id=f"{RULE_ACTION_PREFIX}local_time",
                label="At (local time)",
                dispatch_action=True,
                element=TimePickerElement(
                    action_id=f"{RULE_ACTION_PREFIX}local_time",
                    initial_time=values.get("local_time") or "09:00",
                ),
            )
        )
    blocks.append(
        InputBlock(
            block_id=f"{RULE_ACTION_PREFIX}timezone",
            label="Time zone",
            hint="IANA name; press Enter to see the next runs in it.",
            dispatch_action=True,
            element=PlainTextInputElement(
                action_id=f"{RULE_ACTION_PREFIX}timezone",
                initial_value=values.get("timezone") or None,
                max_length=64,
            ),
        )
    )
    return blocks


def preview_text(occurrences: Sequence[Occurrence] | None, tz: str, problem: str | None) -> str:
    if problem:
        return f":warning: {problem}"
    if not occurrences:
        return "Fill in the rule to see the next runs."
    lines = [f"• {moments.moment(o.at, tz)}" for o in occurrences]
    return "*Next runs*\n" + "\n".join(lines)


def cadence_modal(
    *,
    private_metadata: dict[str, Any],
    values: Mapping[str, Any],
    preview: str,
    editing: bool = False,
    engagement_name: str = "",
) -> dict[str, Any]:
    """The schedule form. `values` are by field name (as `handlers.forms.read_state` gives them,
    with the `rule_` prefix removed), so the form can be rebuilt as the person fills it in."""
    kind = values.get("kind") or "status_update"
    options = {
        "recipient_local_time": "Deliver at each person's own local time (from their Slack profile)"
    }
    blocks = [
        section(f"Check-ins for *{escape(engagement_name)}*") if engagement_name else None,
        _select("kind", "Check-in", KINDS, kind),
        *rule_blocks(values),
        section(preview),
        _number("window_hours", "Response window (hours)", values.get("window_hours") or 48),
        _number(
            "reminder_hours",
            "Reminder (hours before the window closes)",
            values.get("reminder_hours"),
            optional=True,
            hint="Only people who have not answered get it. Leave empty for none.",
        ),
        _number(
            "escalation_hours",
            "Escalate (hours after it is overdue)",
            values.get("escalation_hours"),
            optional=True,
            hint="Leave empty for no escalation.",
        ),
        InputBlock(
            block_id="escalation_to",
            label="Escalate to",
            optional=True,
            hint=f"Default: the engagement's leads. Up to {MAX_ESCALATION} people.",
            element=UserMultiSelectElement(
                action_id="escalation_to",
                placeholder="Choose people",
                max_selected_items=MAX_ESCALATION,
                initial_users=list(values.get("escalation_to") or []) or None,
            ),
        ),
        _select("audience", "Who is asked", AUDIENCES, values.get("audience") or "vendor"),
        InputBlock(
            block_id="audience_users",
            label="Chosen people",
            optional=True,
            hint=f"Only when “Who is asked” is Chosen people: up to {MAX_AUDIENCE} of the "
            "engagement's leads, vendor contacts and stakeholders.",
            element=UserMultiSelectElement(
                action_id="audience_users",
                placeholder="Choose people",
                max_selected_items=MAX_AUDIENCE,
                initial_users=list(values.get("audience_users") or []) or None,
            ),
        ),
        InputBlock(
            block_id="delivery",
            label="Delivered as",
            element=RadioButtonsElement(
                action_id="delivery",
                options=_options(DELIVERIES),
                initial_option=_initial(DELIVERIES, values.get("delivery") or "dm"),
            ),
        ),
        InputBlock(
            block_id="options",
            label="Options",
            optional=True,
            element=CheckboxesElement(
                action_id="options",
                options=_options(options),
                initial_options=[_initial(options, o) for o in values.get("options") or []] or None,
            ),
        ),
    ]
    view = View(
        type="modal",
        callback_id=CADENCE_MODAL,
        title="Edit cadence" if editing else "New cadence",
        submit="Save" if editing else "Add cadence",
        close="Cancel",
        private_metadata=json.dumps(private_metadata),
        blocks=[b for b in blocks if b is not None],
    )
    return view.to_dict()


def cadence_line(cadence, engagement, now: datetime) -> str:
    from bot.domain.cadences import rule_of

    status = "" if cadence.status == CadenceStatus.ACTIVE else f" _({cadence.status})_"
    when = (
        f"cron `{cadence.rule}`"
        if cadence.rule_kind == "cron"
        else f"{rule_of(cadence).describe()} at {cadence.local_time}"
    )
    nxt = (
        f"next {moments.moment(cadence.next_run_at, cadence.timezone)}"
        if cadence.next_run_at and cadence.status == CadenceStatus.ACTIVE
        else "no next run"
    )
    reminder = (
        f" · reminder {cadence.reminder_hours} h before close" if cadence.reminder_hours else ""
    )
    escalation = (
        f" · escalation {cadence.escalation_hours} h after overdue"
        f" → {mentions(cadence.escalation_user_ids) if cadence.escalation_user_ids else 'leads'}"
        if cadence.escalation_hours is not None
        else ""
    )
    audience = (
        mentions(cadence.audience_user_ids)
        if cadence.audience == "chosen"
        else AUDIENCES[cadence.audience].lower()
    )
    via = "by DM" if cadence.delivery == "dm" else f"in {channel_link(engagement.channel_id)}"
    return (
        f"*#{cadence.id} {KINDS[cadence.kind]}* · {escape(engagement.name)} `{engagement.handle}`"
        f"{status}\n{when} ({cadence.timezone}) · {nxt}\n"
        f"window {cadence.window_hours} h{reminder}{escalation} · asks {audience} {via}"
    )


def cadence_buttons(cadence) -> ActionsBlock:
    value = str(cadence.id)
    pause_or_resume = (
        ButtonElement(text="Resume", action_id=f"{CADENCE_BUTTON}:resume", value=value)
        if cadence.status == CadenceStatus.PAUSED
        else ButtonElement(text="Pause", action_id=f"{CADENCE_BUTTON}:pause", value=value)
    )
    return ActionsBlock(
        block_id=f"cadence-{cadence.id}",
        elements=[
            pause_or_resume,
            ButtonElement(
                text="Skip next",
                action_id=f"{CADENCE_BUTTON}:skip",
                value=value,
                confirm=ConfirmObject(
                    title="Skip the next one?",
                    text="The next occurrence will not be sent; the one after it will.",
                    confirm="Skip it",
                    deny="Keep it",
                ),
            ),
            ButtonElement(text="Edit", action_id=f"{CADENCE_BUTTON}:edit", value=value),
            ButtonElement(text="Questions", action_id=f"{CADENCE_BUTTON}:questions", value=value),
            ButtonElement(
                text="Delete",
                action_id=f"{CADENCE_BUTTON}:delete",
                value=value,
                style="danger",
                confirm=ConfirmObject(
                    title="Delete this cadence?",
                    text="No more check-ins from it; its history is kept.",
                    confirm="Delete",
                    deny="Keep it",
                ),
            ),
        ],
    )


def cadence_list(
    rows: Sequence[tuple], now: datetime, *, scope: str, total: int | None = None
) -> dict[str, Any]:
    """The first cadences of `total` (default: those given), each with its buttons; the rest
    counted, with the way to narrow the list."""
    total = len(rows) if total is None else total
    if not rows:
        text = f"No cadences {scope} yet. Add one with `/cadence schedule <engagement>`."
        return message(text, [section(text)])
    shown = rows[:MAX_LISTED]
    header = f"*{total} cadence{'s' if total != 1 else ''} {scope}*"
    blocks: list = [section(header)]
    for cadence, engagement in shown:
        blocks.append(section(cadence_line(cadence, engagement, now)))
        blocks.append(cadence_buttons(cadence))
    if total > len(shown):
        blocks.append(
            context(
                f"Showing {len(shown)} of {total}: `/cadence cadences <engagement>` narrows "
                "the list."
            )
        )
    else:
        blocks.append(context("`/cadence pause|resume|skip|delete <number>` does the same."))
    return message(header.strip("*"), blocks)


def delete_confirmation(cadence, engagement, now: datetime) -> dict[str, Any]:
    """`/cadence delete <n>` asks first: the cadence, and Delete (confirmed) or Cancel."""
    text = f"Delete this cadence? {cadence_line(cadence, engagement, now)}"
    buttons = cadence_buttons(cadence).elements[-1]  # the list's Delete, with its dialog
    return message(
        f"Delete cadence #{cadence.id}?",
        [
            section(text),
            ActionsBlock(
                block_id=f"delete-{cadence.id}",
                elements=[
                    buttons,
                    ButtonElement(
                        text="Cancel", action_id=f"{CADENCE_BUTTON}:cancel", value=str(cadence.id)
                    ),
                ],
            ),
        ],
    )
