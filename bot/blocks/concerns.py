"""Block Kit for the concern register: the form to raise one, its card in the engagement
channel (edited in place on each change, with a line in its thread), the resolve and reassign
forms, the DMs and alerts, and the list."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    DatePickerElement,
    InputBlock,
    Option,
    OverflowMenuElement,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.blocks.common import context, escape, fit_text, message, section
from bot.blocks.kit import MAX_SELECT_OPTIONS
from bot.domain import moments
from bot.domain.command_reference import shorten
from bot.domain.concerns import (
    CATEGORIES,
    MAX_TEXT,
    MAX_TITLE,
    ConcernPage,
    ConcernStatus,
    Stage,
)
from bot.domain.engagements import SEVERITIES
from storage.models import Concern, ConcernEvent, Engagement

RAISE_SHORTCUT = "raise_concern_from_message"  # the message shortcut in manifest.yml
CONCERN_MODAL = "concern_form"
RESOLVE_MODAL = "concern_resolve_form"
REASSIGN_MODAL = "concern_reassign_form"
COMMENT_MODAL = "concern_comment_form"
CONCERN_BUTTON = "concern"  # action ids `concern:<what>`, the concern id as value
LIST_MENU = "concern_menu"  # the list's overflow menu: values `<what>:<concern id>`
SEVERITY_EMOJI = {"critical": "🟥", "high": "🟧", "medium": "🟨", "low": "⬜"}
STATUS_WORDS = {
    ConcernStatus.OPEN: "open, not yet acknowledged",
    ConcernStatus.ACKNOWLEDGED: "acknowledged",
    ConcernStatus.RESOLVED: "resolved",
    ConcernStatus.REOPENED: "reopened, not yet acknowledged",
}
ACTION_WORDS = {
    "raised": "raised it",
    "acknowledged": "acknowledged it",
    "resolved": "resolved it",
    "reopened": "reopened it",
    "reassigned": "gave it to",
    "commented": "commented",
    "mitigated": "mitigated it",
}
MAX_QUOTE = 1500  # of the message a concern was raised from, kept in the form's metadata
MAX_LISTED = 40  # a list message: a header, this many concerns, a line counting the rest
MAX_CHOICES = MAX_SELECT_OPTIONS  # a static_select's (views.open refuses more)


def _options(values: Sequence[str]) -> list[Option]:
    return [Option(value=v, label=v.capitalize()) for v in values]


def _initial(values: Sequence[str], value: str | None) -> Option | None:
    return Option(value=value, label=value.capitalize()) if value in values else None


def concern_modal(
    *,
    private_metadata: dict[str, Any],
    engagement_name: str | None,
    choices: Sequence[tuple[int, str]] = (),
    more_choices: int = 0,
    title: str = "",
    description: str = "",
    owner: str | None = None,
    quote: str = "",
    severity: str | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    """The form to raise a concern. With `choices` (engagement id, name) it asks which
    engagement; a concern from a message shows the message it quotes.

    A select holds at most MAX_CHOICES options: with `more_choices` engagements left out (or
    more choices than fit), the form says so and names the command that reaches any one."""
    blocks: list[Any] = []
    if engagement_name:
        blocks.append(section(f"A concern about *{escape(engagement_name)}*."))
    if choices:
        blocks.append(
            InputBlock(
                block_id="engagement",
                label="Engagement",
                element=StaticSelectElement(
                    action_id="engagement",
                    placeholder="Which engagement is it about?",
                    options=[
                        Option(value=str(i), label=shorten(name, 75))
                        for i, name in choices[:MAX_CHOICES]
                    ],
                ),
            )
        )
        left_out = more_choices + max(0, len(choices) - MAX_CHOICES)
        if left_out:
            blocks.append(
                context(
                    f"The first {MAX_CHOICES} engagements by name; "
                    f"{'1 more is' if left_out == 1 else f'{left_out} more are'} not listed. "
                    "For one of those, use `/cadence concern <engagement>`."
                )
            )
    if quote:
        blocks.append(section(fit_text("> " + escape(quote).replace("\n", "\n> "), 2900)))
    blocks += [
        InputBlock(
            block_id="title",
            label="Title",
            element=PlainTextInputElement(
                action_id="title",
                placeholder="VPN keys shared by email",
                max_length=MAX_TITLE,
                initial_value=shorten(title, MAX_TITLE) or None,
            ),
        ),
        InputBlock(
            block_id="severity",
            label="Severity",
            element=StaticSelectElement(
                action_id="severity",
                options=_options(SEVERITIES),
                initial_option=_initial(SEVERITIES, severity),
            ),
        ),
        InputBlock(
            block_id="category",
            label="Category",
            element=StaticSelectElement(
                action_id="category",
                options=_options(CATEGORIES),
                initial_option=_initial(CATEGORIES, category),
            ),
        ),
        InputBlock(
            block_id="description",
            label="What is going on",
            optional=True,
            element=PlainTextInputElement(
                action_id="description",
                multiline=True,
                max_length=MAX_TEXT,
                initial_value=shorten(description, MAX_TEXT) or None,
            ),
        ),
        InputBlock(
            block_id="owner",
            label="Owner",
            optional=True,
            hint="Who should act on it. Empty: the engagement's first vendor contact.",
            element=UserSelectElement(action_id="owner", initial_user=owner),
        ),
        InputBlock(
            block_id="due_on",
            label="Needed by",
            optional=True,
            element=DatePickerElement(action_id="due_on"),
        ),
    ]
    view = View(
        type="modal",
        callback_id=CONCERN_MODAL,
        title="Raise a concern",
        submit="Raise",
        close="Cancel",
        private_metadata=json.dumps(private_metadata),
        blocks=blocks,
    )
    return view.to_dict()


def _deadline(concern: Concern, tz: str) -> str:
    if concern.status == ConcernStatus.RESOLVED:
        when = moments.moment(concern.resolved_at, tz) if concern.resolved_at else "—"
        return f"Resolved {when}"
    parts = []
    if (
        concern.status in (ConcernStatus.OPEN, ConcernStatus.REOPENED)
        and concern.acknowledge_due_at
    ):
        parts.append(f"acknowledge by {moments.moment(concern.acknowledge_due_at, tz)}")
    if concern.resolve_due_at:
        parts.append(f"resolve by {moments.moment(concern.resolve_due_at, tz)}")
    return "SLA: " + ", ".join(parts) if parts else ""


def headline(concern: Concern) -> str:
    emoji = SEVERITY_EMOJI.get(concern.severity, "⬜")
    return (
        f"{emoji} *#{concern.id} {escape(concern.title)}* · {concern.severity} · {concern.category}"
    )


def concern_card(concern: Concern, engagement: Engagement, permalink: str | None) -> dict[str, Any]:
    """The concern as its channel shows it, with the buttons its state allows."""
    tz = engagement.timezone
    status = STATUS_WORDS.get(ConcernStatus(concern.status), concern.status)
    lines = [
        headline(concern),
        f"Owner <@{concern.owner_user_id}> · raised by <@{concern.raised_by}>"
        + (f" ({concern.raised_side} side)" if concern.raised_side in ("client", "vendor") else "")
        + f" · *{status}*",
    ]
    if concern.description:
        lines.append(escape(concern.description))
    if concern.quote:
        source = f" (<{permalink}|the message>)" if permalink else ""
        lines.append(
            f"Raised from a message{source}:\n> "
            + escape(shorten(concern.quote, 600)).replace("\n", "\n> ")
        )
    if concern.source == "update":
        lines.append("Raised from the blockers of a status update.")
    if concern.status == ConcernStatus.RESOLVED and concern.resolution_note:
        lines.append(f"*Resolution:* {escape(concern.resolution_note)}")
    blocks: list[Any] = [section(fit_text("\n".join(lines)))]
    facts = [_deadline(concern, tz)]
    if concern.due_on:
        facts.append(f"needed by {moments.day(concern.due_on)}")
    blocks.append(context(" · ".join(f for f in facts if f) or "—"))
    buttons = card_buttons(concern)
    if buttons:
        blocks.append(ActionsBlock(block_id="concern_actions", elements=buttons))
    text = f"Concern #{concern.id} ({concern.severity}): {escape(concern.title)} — {status}"
    return message(text, blocks)


def card_buttons(concern: Concern) -> list[ButtonElement]:
    value = str(concern.id)

    def button(what: str, label: str, style: str | None = None) -> ButtonElement:
        return ButtonElement(
            text=label, action_id=f"{CONCERN_BUTTON}:{what}", value=value, style=style
        )

    status = ConcernStatus(concern.status)
    if status == ConcernStatus.RESOLVED:
        return [button("reopen", "Reopen"), button("comment", "Comment")]
    buttons = []
    if status in (ConcernStatus.OPEN, ConcernStatus.REOPENED):
        buttons.append(button("acknowledge", "Acknowledge", "primary"))
    buttons += [button("resolve", "Resolve"), button("reassign", "Reassign")]
    return [*buttons, button("comment", "Comment")]


def thread_line(event: ConcernEvent, tz: str) -> dict[str, Any]:
    """One line in the card's thread: who did what, when (and the note that came with it)."""
    did = ACTION_WORDS.get(event.action, event.action)
    text = f"<@{event.actor_user_id}> {did}"
    if event.action == "reassigned":
        text += f" {event.note}"
    elif event.note:
        text += f": {escape(event.note)}"
    text += f" · {moments.moment(event.at, tz)}"
    return message(fit_text(text, 2900), [section(fit_text(text))])


def notice(concern: Concern, engagement: Engagement, reason: str) -> dict[str, Any]:
    """A DM about a concern: to its (new) owner, or to a lead for a serious security concern."""
    where = f"in <#{engagement.channel_id}>"
    if reason == "security":
        text = (
            f"🔐 A *{concern.severity} security* concern was raised on "
            f"*{escape(engagement.name)}* {where}. As one of its leads, you hear of a "
            "security concern this serious at once."
        )
    else:
        text = (
            f"You own concern #{concern.id} on *{escape(engagement.name)}* {where}: please "
            "acknowledge it, and resolve it with a note when it is dealt with."
        )
    body = f"{text}\n{headline(concern)}\n{_deadline(concern, engagement.timezone)}"
    return message(fit_text(body, 2900), [section(fit_text(body))])


def due_alert(concern: Concern, engagement: Engagement, stage: Stage) -> dict[str, Any]:
    """A deadline passed unmet: said once, to the owner and leads (or upwards, escalated)."""
    tz = engagement.timezone
    if stage == Stage.ACKNOWLEDGE:
        what = f"has not been acknowledged; it was due by {moments.moment(concern.acknowledge_due_at, tz)}"
    elif stage == Stage.RESOLVE:
        what = f"is not resolved; it was due by {moments.moment(concern.resolve_due_at, tz)}"
    else:
        what = (
            f"is still not resolved, past its deadline of {moments.moment(concern.resolve_due_at, tz)}: "
            "escalated"
        )
    text = (
        f"⏰ Concern #{concern.id} on *{escape(engagement.name)}* {what}. "
        f"Owner <@{concern.owner_user_id}>; see it in <#{engagement.channel_id}>."
    )
    body = f"{text}\n{headline(concern)}"
    return message(fit_text(body, 2900), [section(fit_text(body))])


def _concern_form(
    concern: Concern, *, callback_id: str, title: str, submit: str, intro: str, field: InputBlock
) -> dict[str, Any]:
    """A small form about one concern (resolve, comment, reassign): what it is, one field."""
    view = View(
        type="modal",
        callback_id=callback_id,
        title=title,
        submit=submit,
        close="Cancel",
        private_metadata=json.dumps({"concern_id": concern.id}),
        blocks=[section(intro), field],
    )
    return view.to_dict()


def _note(label: str) -> InputBlock:
    return InputBlock(
        block_id="note",
        label=label,
        element=PlainTextInputElement(action_id="note", multiline=True, max_length=MAX_TEXT),
    )


def resolve_modal(concern: Concern) -> dict[str, Any]:
    return _concern_form(
        concern, callback_id=RESOLVE_MODAL, title="Resolve concern", submit="Resolve",
        intro=headline(concern), field=_note("How was it resolved?"),
    )  # fmt: skip


def comment_modal(concern: Concern) -> dict[str, Any]:
    return _concern_form(
        concern, callback_id=COMMENT_MODAL, title="Comment on concern", submit="Comment",
        intro=headline(concern), field=_note("Comment"),
    )  # fmt: skip


def reassign_modal(concern: Concern) -> dict[str, Any]:
    owner = InputBlock(
        block_id="owner", label="New owner", element=UserSelectElement(action_id="owner")
    )
    return _concern_form(
        concern, callback_id=REASSIGN_MODAL, title="Reassign concern", submit="Reassign",
        intro=f"{headline(concern)}\nOwned by <@{concern.owner_user_id}> now.", field=owner,
    )  # fmt: skip


def concern_age(concern: Concern, now: datetime) -> str:
    """How long it has been open, against its SLA (what the list and the Home tab show).

    A Home job runs with the moment of the request that planned it, and may read a concern a
    later request raised a moment after: its age is then a few milliseconds below zero, said
    as 0 h (floored, it read "open -1 h")."""
    hours = max(0, int((now - concern.raised_at).total_seconds() // 3600))
    age = f"{hours // 24} d" if hours >= 48 else f"{hours} h"
    due = concern.sla_due_at
    if due is None:
        return f"open {age}"
    late = now - due
    if late.total_seconds() > 0:
        over = int(late.total_seconds() // 3600)
        return f"open {age}, *{over} h past its SLA*"
    left = int((due - now).total_seconds() // 3600)
    return f"open {age}, {left} h left on its SLA"


def concern_list(page: ConcernPage, now: datetime, *, scope: str) -> dict[str, Any]:
    """Open concerns, worst first, each with its age against its SLA and a menu of actions;
    those that do not fit are counted, never cut off by Slack."""
    if not page.rows:
        text = f"No open concerns {scope}."
        return message(text, [section(text)])
    shown = page.rows[:MAX_LISTED]
    blocks: list[Any] = [section(f"*Open concerns {scope}* ({page.total})")]
    for concern, engagement in shown:
        line = (
            f"{headline(concern)}\n{escape(engagement.name)} · owner <@{concern.owner_user_id}> · "
            f"{concern_age(concern, now)}"
        )
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=fit_text(line)),
                accessory=OverflowMenuElement(
                    action_id=LIST_MENU,
                    options=[
                        Option(value=f"{what}:{concern.id}", label=label)
                        for what, label in _menu(concern)
                    ],
                ),
            )
        )
    rest = page.total - len(shown)
    if rest > 0:
        blocks.append(context(f"…and {rest} more. Narrow the list: `/cadence concerns <eng> "
                              "[severity] [category] [mine]`."))  # fmt: skip
    return message(f"Open concerns {scope}: {page.total}", blocks)


def _menu(concern: Concern) -> list[tuple[str, str]]:
    items = []
    if concern.status in (ConcernStatus.OPEN, ConcernStatus.REOPENED):
        items.append(("acknowledge", "Acknowledge"))
    return [*items, ("resolve", "Resolve"), ("reassign", "Reassign")]
