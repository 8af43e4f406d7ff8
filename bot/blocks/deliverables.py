"""Block Kit for deliverables: the form to add one, its card in the engagement channel (edited
in place on each change, with a line in its thread), the small forms of its lifecycle (submit
with evidence, accept, reject, re-plan, cancel), and the list, paged within Slack's limits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
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
    UserMultiSelectElement,
    UserSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from bot.blocks.common import context, escape, fit_text, message, section
from bot.domain import moments
from bot.domain.command_reference import shorten
from bot.domain.deliverables import (
    DUE_SOON,
    MAX_LINK,
    MAX_MILESTONE,
    MAX_TEXT,
    MAX_TITLE,
    DeliverablePage,
    Milestone,
)
from storage.deliverable_statuses import CLOSED, DeliverableStatus
from storage.models import Deliverable, DeliverableEvent, Engagement

DELIVERABLE_MODAL = "deliverable_form"
SUBMIT_MODAL = "deliverable_submit_form"
ACCEPT_MODAL = "deliverable_accept_form"
REJECT_MODAL = "deliverable_reject_form"
REPLAN_MODAL = "deliverable_replan_form"
CANCEL_MODAL = "deliverable_cancel_form"
DELIVERABLE_BUTTON = "deliverable"  # action ids `deliverable:<what>`, the deliverable id as value
LIST_MENU = "deliverable_menu"  # the list's overflow menu: values `<what>:<deliverable id>`
MORE_BUTTON = "deliverables_more"  # the list's next page: value `<offset>|<eng id>|<filter>`
# A list message: a header, this many rows (one block each), the footer and the page button;
# well within Slack's 50 blocks a message.
PAGE_SIZE = 20
STATUS_WORDS = {
    DeliverableStatus.PLANNED: "planned",
    DeliverableStatus.IN_PROGRESS: "in progress",
    DeliverableStatus.SUBMITTED: "submitted, waiting for acceptance",
    DeliverableStatus.ACCEPTED: "accepted",
    DeliverableStatus.CANCELLED: "cancelled",
}
STATUS_EMOJI = {
    DeliverableStatus.PLANNED: "🗓️",
    DeliverableStatus.IN_PROGRESS: "🔧",
    DeliverableStatus.SUBMITTED: "📬",
    DeliverableStatus.ACCEPTED: "✅",
    DeliverableStatus.CANCELLED: "✖️",
}
ACTION_WORDS = {
    "created": "added it",
    "started": "started it",
    "submitted": "submitted it",
    "accepted": "accepted it",
    "rejected": "sent it back",
    "replanned": "re-planned it",
    "cancelled": "cancelled it",
}
# What each step is called on a button and in the list's menu, in the order shown.
STEPS = {
    "start": "Start",
    "submit": "Submit",
    "accept": "Accept",
    "reject": "Reject",
    "replan": "Re-plan",
    "cancel": "Cancel",
}


def steps_for(deliverable: Deliverable) -> list[str]:
    """The steps its status allows (who may take each is checked on the server)."""
    status = DeliverableStatus(deliverable.status)
    if status in CLOSED:
        return []
    if status == DeliverableStatus.SUBMITTED:
        return ["accept", "reject", "replan", "cancel"]
    first = ["start", "submit"] if status == DeliverableStatus.PLANNED else ["submit"]
    return [*first, "replan", "cancel"]


# --- the form to add one -----------------------------------------------------------------------


def deliverable_modal(
    *,
    engagement_id: int,
    engagement_name: str,
    title: str = "",
    owner: str | None = None,
) -> dict[str, Any]:
    """The form to add a deliverable to an engagement (its leads and Cadence admins)."""

    def text(
        block: str,
        label: str,
        limit: int,
        *,
        multiline: bool = False,
        initial: str = "",
        placeholder: str | None = None,
        optional: bool = True,
        hint: str | None = None,
    ) -> InputBlock:
        return InputBlock(
            block_id=block,
            label=label,
            optional=optional,
            hint=hint,
            element=PlainTextInputElement(
                action_id=block,
                multiline=multiline,
                max_length=limit,
                initial_value=shorten(initial, limit) or None,
                placeholder=placeholder,
            ),
        )

    blocks = [
        section(
            f"A deliverable of *{escape(engagement_name)}*: what the vendor delivers, by "
            "when, and what “accepted” means."
        ),
        text(
            "title",
            "Title",
            MAX_TITLE,
            initial=title,
            optional=False,
            placeholder="Cutover runbook",
        ),
        text("description", "What it is", MAX_TEXT, multiline=True),
        text(
            "acceptance",
            "Acceptance criteria",
            MAX_TEXT,
            multiline=True,
            hint="What must be true for it to be accepted.",
        ),
        InputBlock(
            block_id="due_on",
            label="Due",
            hint="Due by the end of that day, in the engagement's time zone.",
            element=DatePickerElement(action_id="due_on"),
        ),
        InputBlock(
            block_id="owner",
            label="Owner",
            hint="One of the vendor contacts: they start it and submit it.",
            element=UserSelectElement(action_id="owner", initial_user=owner),
        ),
        InputBlock(
            block_id="acceptors",
            label="Acceptors",
            optional=True,
            hint="Leads or stakeholders who accept it. Empty: the engagement's leads.",
            element=UserMultiSelectElement(action_id="acceptors"),
        ),
        text(
            "milestone",
            "Milestone",
            MAX_MILESTONE,
            placeholder="Go-live",
            hint="Deliverables with the same milestone are grouped under it.",
        ),
    ]
    view = View(
        type="modal",
        callback_id=DELIVERABLE_MODAL,
        title="Add a deliverable",
        submit="Add",
        close="Cancel",
        private_metadata=json.dumps({"engagement_id": engagement_id}),
        blocks=blocks,
    )
    return view.to_dict()


# --- the card ----------------------------------------------------------------------------------


def headline(deliverable: Deliverable) -> str:
    emoji = STATUS_EMOJI.get(DeliverableStatus(deliverable.status), "")
    milestone = f" · {escape(deliverable.milestone)}" if deliverable.milestone else ""
    return f"{emoji} *#{deliverable.id} {escape(deliverable.title)}*{milestone}"


def due_words(deliverable: Deliverable, now: datetime | None = None) -> str:
    """When it is due, and (given `now`, for an open one not yet submitted) whether it is late
    or due soon."""
    text = f"due {moments.day(deliverable.due_on)}"
    status = DeliverableStatus(deliverable.status)
    if now is not None and status in (DeliverableStatus.PLANNED, DeliverableStatus.IN_PROGRESS):
        if deliverable.due_at <= now:
            days = (now - deliverable.due_at).days + 1
            text += f", *overdue by {days} day{'s' if days != 1 else ''}*"
        elif deliverable.due_at - now <= DUE_SOON:
            text += ", *due soon*"
    return text


def history_words(deliverable: Deliverable) -> str:
    """How it slipped and how often it was reworked: what a lead reads at a glance."""
    parts = []
    if deliverable.slip_count:
        times = "once" if deliverable.slip_count == 1 else f"{deliverable.slip_count} times"
        parts.append(
            f"slipped {times} ({moments.counted(deliverable.days_slipped, 'day')}; first due "
            f"{moments.day(deliverable.original_due_on)})"
        )
    if deliverable.rework_count:
        times = "once" if deliverable.rework_count == 1 else f"{deliverable.rework_count} times"
        parts.append(f"rejected {times}")
    return " · ".join(parts)


def deliverable_card(
    deliverable: Deliverable, engagement: Engagement, acceptors: Sequence[str]
) -> dict[str, Any]:
    """The deliverable as its channel shows it, with the buttons its status allows."""
    status = STATUS_WORDS.get(DeliverableStatus(deliverable.status), deliverable.status)
    lines = [
        headline(deliverable),
        f"Owner <@{deliverable.owner_user_id}> · accepted by "
        + (", ".join(f"<@{u}>" for u in acceptors) or "the leads")
        + f" · *{status}*",
    ]
    if deliverable.description:
        lines.append(escape(shorten(deliverable.description, 1000)))
    if deliverable.acceptance_criteria:
        lines.append("*Accepted when:* " + escape(shorten(deliverable.acceptance_criteria, 1000)))
    if deliverable.status in (DeliverableStatus.SUBMITTED, DeliverableStatus.ACCEPTED):
        shared = deliverable.evidence_file_permalink
        evidence = [
            escape(deliverable.evidence_link),
            f"<{shared}|the file in Slack>" if shared else "",
            escape(shorten(deliverable.evidence_note, 600)),
        ]
        lines.append("*Evidence:* " + " · ".join(e for e in evidence if e))
    blocks: list[Any] = [section(fit_text("\n".join(lines)))]
    facts = [due_words(deliverable), history_words(deliverable)]
    blocks.append(context(" · ".join(f for f in facts if f)))
    buttons = [
        ButtonElement(
            text=STEPS[what],
            action_id=f"{DELIVERABLE_BUTTON}:{what}",
            value=str(deliverable.id),
            style="primary" if what in ("submit", "accept") else None,
        )
        for what in steps_for(deliverable)
    ]
    if buttons:
        blocks.append(ActionsBlock(block_id="deliverable_actions", elements=buttons))
    text = (
        f"Deliverable #{deliverable.id}: {escape(deliverable.title)} — {status}, "
        f"due {moments.day(deliverable.due_on)}"
    )
    return message(text, blocks)


def thread_line(event: DeliverableEvent, tz: str) -> dict[str, Any]:
    """One line in the card's thread: who did what, when, with the reason or evidence."""
    text = f"<@{event.actor_user_id}> {ACTION_WORDS.get(event.action, event.action)}"
    data = event.data or {}
    if event.action == "replanned" and data.get("from") and data.get("to"):
        old, new = date.fromisoformat(data["from"]), date.fromisoformat(data["to"])
        text += f" from {moments.short_day(old)} to {moments.day(new)}"
    if event.action == "rejected" and data.get("rework"):
        text += f" (rework {data['rework']})"
    if event.note:
        text += f": {escape(event.note)}"
    text += f" · {moments.moment(event.at, tz)}"
    return message(fit_text(text, 2900), [section(fit_text(text))])


# --- the small forms of its lifecycle ----------------------------------------------------------


def _reason(block: str, label: str, *, optional: bool = False) -> InputBlock:
    return InputBlock(
        block_id=block,
        label=label,
        optional=optional,
        element=PlainTextInputElement(action_id=block, multiline=True, max_length=MAX_TEXT),
    )


def _step_form(
    deliverable: Deliverable,
    callback_id: str,
    title: str,
    submit: str,
    fields: Sequence[InputBlock],
    intro: str = "",
) -> dict[str, Any]:
    lines = [headline(deliverable), due_words(deliverable)]
    if intro:
        lines.append(intro)
    view = View(
        type="modal",
        callback_id=callback_id,
        title=title,
        submit=submit,
        close="Back",
        private_metadata=json.dumps({"deliverable_id": deliverable.id}),
        blocks=[section(fit_text("\n".join(lines))), *fields],
    )
    return view.to_dict()


def submit_modal(deliverable: Deliverable) -> dict[str, Any]:
    link = InputBlock(
        block_id="link",
        label="Link to what was delivered",
        optional=True,
        element=PlainTextInputElement(
            action_id="link", max_length=MAX_LINK, placeholder="https://…"
        ),
    )
    shared = InputBlock(
        block_id="file",
        label="Or a file shared in Slack",
        optional=True,
        hint="Cadence keeps the file's link, never a copy.",
        element=FileInputElement(action_id="file", max_files=1),
    )
    criteria = deliverable.acceptance_criteria
    intro = f"*Accepted when:* {escape(shorten(criteria, 1500))}" if criteria else ""
    return _step_form(
        deliverable,
        SUBMIT_MODAL,
        "Submit deliverable",
        "Submit",
        [link, shared, _reason("note", "Note", optional=True)],
        intro + "\nGive a link, a file, a note, or several.",
    )


def accept_modal(deliverable: Deliverable) -> dict[str, Any]:
    return _step_form(
        deliverable,
        ACCEPT_MODAL,
        "Accept deliverable",
        "Accept",
        [_reason("note", "Note", optional=True)],
    )


def reject_modal(deliverable: Deliverable) -> dict[str, Any]:
    return _step_form(
        deliverable,
        REJECT_MODAL,
        "Reject deliverable",
        "Reject",
        [_reason("reason", "What is missing?")],
        "It goes back to its owner, in progress.",
    )


def replan_modal(deliverable: Deliverable) -> dict[str, Any]:
    due = InputBlock(
        block_id="due_on",
        label="New due date",
        element=DatePickerElement(action_id="due_on"),
    )
    return _step_form(
        deliverable,
        REPLAN_MODAL,
        "Re-plan deliverable",
        "Re-plan",
        [due, _reason("reason", "Why does the date move?")],
    )


def cancel_modal(deliverable: Deliverable) -> dict[str, Any]:
    return _step_form(
        deliverable,
        CANCEL_MODAL,
        "Cancel deliverable",
        "Cancel it",
        [_reason("reason", "Why is it cancelled?")],
    )


# --- the list ----------------------------------------------------------------------------------


MILESTONE_EMOJI = {"late": "🔴", "at risk": "🟠", "on track": "🟢", "done": "✅"}


def milestone_words(milestone: Milestone) -> str:
    """`🟠 *Cutover* Thu 10 Dec: at risk, 1 of 2 accepted`."""
    return (
        f"{MILESTONE_EMOJI.get(milestone.status, '')} *{escape(milestone.name)}* "
        f"{moments.short_day(milestone.on)}: {milestone.status}, "
        f"{milestone.accepted} of {milestone.total} accepted"
    )


def deliverable_list(
    page: DeliverablePage, now: datetime, *, scope: str, more_value: str
) -> dict[str, Any]:
    """A page of deliverables, overdue and due soon first, each with a menu of its steps; a
    button shows the next page (`more_value` names where it starts and what was asked)."""
    if not page.rows:
        text = f"No deliverables {scope}."
        return message(text, [section(text)])
    first, last = page.offset + 1, page.offset + len(page.rows)
    blocks: list[Any] = [section(f"*Deliverables {scope}* ({first}–{last} of {page.total})")]
    if page.milestones:
        blocks.append(context(fit_text(" · ".join(map(milestone_words, page.milestones)))))
    for deliverable, engagement in page.rows:
        status = STATUS_WORDS.get(DeliverableStatus(deliverable.status), deliverable.status)
        facts = [
            escape(engagement.name),
            f"owner <@{deliverable.owner_user_id}>",
            status,
            due_words(deliverable, now),
            history_words(deliverable),
        ]
        line = f"{headline(deliverable)}\n" + " · ".join(f for f in facts if f)
        steps = steps_for(deliverable)
        accessory = (
            OverflowMenuElement(
                action_id=LIST_MENU,
                options=[
                    Option(value=f"{what}:{deliverable.id}", label=STEPS[what]) for what in steps
                ],
            )
            if steps
            else None
        )
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=fit_text(line)), accessory=accessory)
        )
    rest = page.total - last
    if rest > 0:
        blocks.append(
            context(f"{rest} more. Narrow the list: `/cadence deliverables <eng> [mine|overdue]`.")
        )
        blocks.append(
            ActionsBlock(
                block_id="deliverables_page",
                elements=[ButtonElement(text="Next page", action_id=MORE_BUTTON, value=more_value)],
            )
        )
    return message(f"Deliverables {scope}: {page.total}", blocks)
