"""Block Kit for the assurance register: an evidence item's card in the engagement channel
(edited in place on each change, with a line in its thread), the DM asking its owner to provide
it, the forms (add, provide with one Slack file, accept, reject, waive), the register's list
(worst first, paged within Slack's limits, each engagement's due diligence counted) and the
Home tab's two sections (evidence you owe, evidence to review)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    DatePickerElement,
    InputBlock,
    NumberInputElement,
    Option,
    OverflowMenuElement,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
    UserSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from bot.blocks import kit
from bot.blocks.common import (
    context,
    escape,
    fit_text,
    message,
    pack_texts,
    section,
)
from bot.domain import moments
from bot.domain.assurance.queries import (
    DueDiligence,
    RegisterPage,
    Waiting,
    WaitingItem,
    expiring_soon,
)
from bot.domain.assurance.register import MAX_TEXT, MAX_TITLE
from bot.domain.assurance.types import EvidenceType
from bot.domain.command_reference import shorten
from bot.domain.deliverables import MAX_LINK
from storage.assurance_statuses import OWED, AssuranceStatus
from storage.models import AssuranceEvent, AssuranceItem, Engagement

ADD_MODAL = "assurance_form"
PROVIDE_MODAL = "assurance_provide_form"
ACCEPT_MODAL = "assurance_accept_form"
REJECT_MODAL = "assurance_reject_form"
WAIVE_MODAL = "assurance_waive_form"
ASSURANCE_BUTTON = "assurance"  # action ids `assurance:<what>`, the item's id as value
LIST_MENU = "assurance_menu"  # the list's overflow menu: values `<what>:<item id>`
MORE_BUTTON = "assurance_more"  # the list's next page: value `<offset>|<engagement id>`
PAGE_SIZE = 20  # a header, due diligence, 20 rows, the count and the button: within 50 blocks
MAX_KINDS = 100  # a static select holds 100 options
MAX_HOME_ITEMS = 10

STATUS_WORDS = {
    AssuranceStatus.REQUESTED: "requested",
    AssuranceStatus.RECEIVED: "received, waiting for review",
    AssuranceStatus.ACCEPTED: "accepted",
    AssuranceStatus.REJECTED: "rejected, to provide again",
    AssuranceStatus.EXPIRED: "expired, to provide again",
    AssuranceStatus.WAIVED: "waived",
}
STATUS_EMOJI = {
    AssuranceStatus.REQUESTED: "📨",
    AssuranceStatus.RECEIVED: "📬",
    AssuranceStatus.ACCEPTED: "✅",
    AssuranceStatus.REJECTED: "↩️",
    AssuranceStatus.EXPIRED: "⛔",
    AssuranceStatus.WAIVED: "➖",
}
ACTION_WORDS = {
    "requested": "requested it",
    "provided": "provided it",
    "accepted": "accepted it",
    "rejected": "sent it back",
    "waived": "waived it",
    "expired": "marked it expired",
}
STEPS = {"provide": "Provide", "accept": "Accept", "reject": "Reject", "waive": "Waive"}


def steps_for(item: AssuranceItem) -> list[str]:
    """The steps its status allows (who may take each is checked on the server)."""
    status = AssuranceStatus(item.status)
    if status in OWED:
        return ["provide", "waive"]
    if status == AssuranceStatus.RECEIVED:
        return ["accept", "reject", "waive"]
    return []


def headline(item: AssuranceItem) -> str:
    emoji = STATUS_EMOJI.get(AssuranceStatus(item.status), "")
    required = " · due diligence" if item.required else ""
    return f"{emoji} *#{item.id} {escape(item.title)}*{required}"


def validity(item: AssuranceItem, today: date | None = None) -> str:
    """`valid until Fri 30 Apr 2027` (expiring soon, given today), or nothing known yet."""
    if item.valid_until is None:
        return "no expiry" if item.status == AssuranceStatus.ACCEPTED else ""
    text = f"valid until {moments.day(item.valid_until)}"
    if today is not None and expiring_soon(item, today):
        text += ", *expiring soon*"
    return text


def evidence_words(item: AssuranceItem) -> str:
    """The evidence as given: its link, "the file in Slack", a note (never the file itself)."""
    shared = item.evidence_file_permalink
    parts = [
        escape(item.evidence_link),
        f"<{escape(shared)}|the file in Slack>" if shared else "",  # a forged link mentions nobody
        escape(shorten(item.evidence_note, 600)),
    ]
    return " · ".join(p for p in parts if p)


# --- the card and its thread -------------------------------------------------------------------


def item_card(
    item: AssuranceItem, engagement: Engagement, kind: EvidenceType, reviewers: Sequence[str]
) -> dict[str, Any]:
    """The item as its channel shows it, with the buttons its status allows."""
    status = STATUS_WORDS.get(AssuranceStatus(item.status), item.status)
    lines = [
        headline(item),
        f"{escape(kind.name)} · owner <@{item.owner_user_id}> · reviewed by "
        + (", ".join(f"<@{u}>" for u in reviewers) or "the leads")
        + f" · *{status}*",
    ]
    if item.rounds and item.status != AssuranceStatus.WAIVED:
        evidence = evidence_words(item)
        if evidence:
            lines.append(f"*Evidence:* {evidence}")
    if item.open_findings is not None:
        lines.append(f"*Open findings:* {item.open_findings}")
    if item.reason and item.status in (AssuranceStatus.REJECTED, AssuranceStatus.WAIVED):
        lines.append(f"*Why:* {escape(shorten(item.reason, 1000))}")
    blocks: list[Any] = [section(fit_text("\n".join(lines)))]
    facts = [validity(item), f"provided {item.rounds} times" if item.rounds > 1 else ""]
    facts = [f for f in facts if f]
    if facts:
        blocks.append(context(" · ".join(facts)))
    buttons = [
        ButtonElement(
            text=STEPS[what],
            action_id=f"{ASSURANCE_BUTTON}:{what}",
            value=str(item.id),
            style="primary" if what in ("provide", "accept") else None,
        )
        for what in steps_for(item)
    ]
    if buttons:
        blocks.append(ActionsBlock(block_id="assurance_actions", elements=buttons))
    text = f"Evidence #{item.id}: {escape(item.title)} ({escape(engagement.name)}) — {status}"
    return message(text, blocks)


def thread_line(event: AssuranceEvent, tz: str) -> dict[str, Any]:
    """One line in the card's thread: who did what, when, with the reason or the evidence."""
    text = f"<@{event.actor_user_id}> {ACTION_WORDS.get(event.action, event.action)}"
    if event.note:
        text += f": {escape(event.note)}"
    text += f" · {moments.moment(event.at, tz)}"
    return message(fit_text(text, 2900), [section(fit_text(text))])


def request_dm(item: AssuranceItem, engagement: Engagement) -> dict[str, Any]:
    """To the owner: this evidence is asked of you (again, with the reason), and a Provide
    button that opens its form."""
    title, name = escape(item.title), escape(engagement.name)
    if item.status == AssuranceStatus.REJECTED:
        text = f"↩️ *{title}* for *{name}* was sent back: provide it again."
        if item.reason:
            text += f"\nWhy: {escape(shorten(item.reason, 1500))}"
    else:
        why = " (due diligence)" if item.required else ""
        text = f"📨 *{title}* for *{name}* is requested of you{why}: provide it when you can."
    blocks = [
        section(fit_text(text)),
        ActionsBlock(
            block_id="assurance_request",
            elements=[
                ButtonElement(
                    text="Provide",
                    action_id=f"{ASSURANCE_BUTTON}:provide",
                    value=str(item.id),
                    style="primary",
                )
            ],
        ),
        context(f"`/cadence assurance {escape(engagement.handle)}` lists its evidence."),
    ]
    return message(fit_text(text, 2900), blocks)


# --- the forms ---------------------------------------------------------------------------------


def _text(
    block: str, label: str, limit: int, *, optional: bool = True, multiline: bool = False,
    placeholder: str | None = None, hint: str | None = None,
) -> InputBlock:  # fmt: skip
    return InputBlock(
        block_id=block,
        label=label,
        optional=optional,
        hint=hint,
        element=PlainTextInputElement(
            action_id=block, multiline=multiline, max_length=limit, placeholder=placeholder
        ),
    )


def add_modal(
    *,
    engagement_id: int,
    engagement_name: str,
    kinds: Sequence[EvidenceType],
    owner: str | None,
) -> dict[str, Any]:
    """The form to add an item to an engagement (its leads and Cadence admins)."""
    blocks = [
        section(
            f"Evidence *{escape(engagement_name)}*'s vendor provides: its owner is asked for it "
            "by DM, and a reviewer accepts or rejects it."
        ),
        InputBlock(
            block_id="type",
            label="Kind",
            element=StaticSelectElement(
                action_id="type",
                placeholder="Choose",
                options=[Option(value=k.key, label=shorten(k.name, 75)) for k in kinds[:MAX_KINDS]],
            ),
        ),
        _text("title", "Title", MAX_TITLE, hint="Empty: the kind's name."),
        InputBlock(
            block_id="owner",
            label="Owner",
            hint="One of the vendor contacts: they provide it.",
            element=UserSelectElement(action_id="owner", initial_user=owner),
        ),
        InputBlock(
            block_id="reviewers",
            label="Reviewers",
            optional=True,
            hint="Leads or stakeholders who accept or reject it. Empty: the engagement's leads.",
            element=UserMultiSelectElement(action_id="reviewers"),
        ),
    ]
    return View(
        type="modal",
        callback_id=ADD_MODAL,
        title="Add evidence",
        submit="Add",
        close="Cancel",
        private_metadata=json.dumps({"engagement_id": engagement_id}),
        blocks=blocks,
    ).to_dict()


def _step_form(
    item: AssuranceItem,
    callback_id: str,
    title: str,
    submit: str,
    fields: Sequence[InputBlock],
    intro: str = "",
) -> dict[str, Any]:
    lines = [headline(item), validity(item)]
    if intro:
        lines.append(intro)
    return View(
        type="modal",
        callback_id=callback_id,
        title=title,
        submit=submit,
        close="Back",
        private_metadata=json.dumps({"item_id": item.id}),
        blocks=[section(fit_text("\n".join(line for line in lines if line))), *fields],
    ).to_dict()


def provide_modal(item: AssuranceItem, kind: EvidenceType) -> dict[str, Any]:
    """Its owner's form: a link, one Slack file, a note (at least one), the dates it is valid
    (until required for a kind that expires) and, for a penetration test, open findings."""
    fields: list[InputBlock] = [
        _text("link", "Link to the evidence", MAX_LINK, placeholder="https://…"),
        InputBlock(
            block_id="file",
            label="Or a file shared in Slack",
            optional=True,
            hint="Cadence keeps the file's link, never a copy.",
            element=FileInputElement(action_id="file", max_files=1),
        ),
        _text("note", "Note", MAX_TEXT, multiline=True),
        InputBlock(
            block_id="valid_from",
            label="Valid from",
            optional=True,
            element=DatePickerElement(action_id="valid_from"),
        ),
        InputBlock(
            block_id="valid_until",
            label="Valid until",
            optional=not kind.expires,
            hint="The last day it is valid: Cadence reminds its owner before, and marks it "
            "expired after."
            if kind.expires
            else "Empty: it does not expire.",
            element=DatePickerElement(action_id="valid_until"),
        ),
    ]
    if kind.findings:
        fields.append(
            InputBlock(
                block_id="findings",
                label="Findings still open",
                hint="0 when every finding is fixed.",
                element=NumberInputElement(
                    action_id="findings", is_decimal_allowed=False, min_value=0
                ),
            )
        )
    intro = "Give a link, a file, a note, or several."
    if item.status == AssuranceStatus.REJECTED and item.reason:
        intro = f"*Sent back:* {escape(shorten(item.reason, 1500))}\n{intro}"
    return _step_form(item, PROVIDE_MODAL, "Provide evidence", "Provide", fields, intro)


def _reason(block: str, label: str, *, optional: bool = False) -> InputBlock:
    return _text(block, label, MAX_TEXT, optional=optional, multiline=True)


def accept_modal(item: AssuranceItem) -> dict[str, Any]:
    evidence = evidence_words(item)
    return _step_form(
        item, ACCEPT_MODAL, "Accept evidence", "Accept",
        [_reason("note", "Note", optional=True)],
        f"*Evidence:* {evidence}" if evidence else "",
    )  # fmt: skip


def reject_modal(item: AssuranceItem) -> dict[str, Any]:
    return _step_form(
        item, REJECT_MODAL, "Reject evidence", "Reject",
        [_reason("reason", "What is wrong with it?")],
        "It goes back to its owner, who provides it again.",
    )  # fmt: skip


def waive_modal(item: AssuranceItem) -> dict[str, Any]:
    return _step_form(
        item, WAIVE_MODAL, "Waive evidence", "Waive",
        [_reason("reason", "Why is it not needed?")],
        "Nobody is asked for it any more.",
    )  # fmt: skip


# --- the register's list -----------------------------------------------------------------------


def diligence_words(name: str, found: DueDiligence) -> str:
    """`Acme payments: due diligence 4 of 6`."""
    return f"{escape(name)}: due diligence {found.valid} of {found.required}"


def register_list(
    page: RegisterPage, today: date, *, scope: str, more_value: str
) -> dict[str, Any]:
    """A page of items, worst first, each with a menu of the steps its status allows; each
    engagement's due diligence on the page; a button shows the next page."""
    if not page.rows:
        text = f"No evidence items {scope}."
        return message(text, [section(text)])
    first, last = page.offset + 1, page.offset + len(page.rows)
    blocks: list[Any] = [section(f"*Evidence {scope}* ({first}–{last} of {page.total})")]
    names = {e.id: e.name for _, e in page.rows}
    diligence = [
        diligence_words(names[e], found) for e, found in page.diligence.items() if e in names
    ]
    if diligence:
        blocks.append(context(fit_text(" · ".join(diligence), 2900)))
    for item, engagement in page.rows:
        status = STATUS_WORDS.get(AssuranceStatus(item.status), item.status)
        facts = [
            escape(engagement.name),
            f"owner <@{item.owner_user_id}>",
            status,
            validity(item, today),
        ]
        line = f"{headline(item)}\n" + " · ".join(f for f in facts if f)
        steps = steps_for(item)
        accessory = (
            OverflowMenuElement(
                action_id=LIST_MENU,
                options=[Option(value=f"{what}:{item.id}", label=STEPS[what]) for what in steps],
            )
            if steps
            else None
        )
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=fit_text(line)), accessory=accessory)
        )
    rest = page.total - last
    if rest > 0:
        blocks.append(context(f"{rest} more. Narrow the list: `/cadence assurance <eng>`."))
        blocks.append(
            ActionsBlock(
                block_id="assurance_page",
                elements=[ButtonElement(text="Next page", action_id=MORE_BUTTON, value=more_value)],
            )
        )
    return message(f"Evidence {scope}: {page.total}", blocks)


# --- the Home tab ------------------------------------------------------------------------------


def _home_section(
    title: str, rows: Sequence[WaitingItem], total: int, words: str
) -> list[kit.Block]:
    lines = [
        f"{headline(item)} · {escape(item.engagement_name)} · "
        f"{STATUS_WORDS.get(AssuranceStatus(item.status), item.status)}"
        for item in rows[:MAX_HOME_ITEMS]
    ]
    blocks = [kit.section(f"*{title}* ({total})"), *map(kit.section, pack_texts(lines))]
    rest = total - min(total, MAX_HOME_ITEMS)
    if rest:
        blocks.append(kit.context(f"…and {rest} more: `/cadence assurance` {words}."))
    return blocks


def home_blocks(waiting: Waiting) -> list[kit.Block]:
    """ "Evidence you owe" and "Evidence to review", each at most a header, two sections and
    a count, as plain dicts (`bot/blocks/kit.py`); nothing when nothing waits."""
    blocks: list[kit.Block] = []
    if waiting.owe_total:
        blocks += _home_section("Evidence you owe", waiting.owe, waiting.owe_total, "lists it all")
    if waiting.review_total:
        blocks += _home_section(
            "Evidence to review", waiting.review, waiting.review_total, "lists it all"
        )
    return blocks
