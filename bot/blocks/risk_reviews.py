"""Block Kit for risk reviews: the form (each open concern with still open / mitigated /
resolved and a note, then "raise a new one") and the summary in the engagement channel that
says what changed."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    DividerBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.common import context, escape, fit_text, message, pack_sections, section
from bot.blocks.concerns import STATUS_WORDS, headline
from bot.blocks.questions import answer_sections, question_blocks
from bot.domain.command_reference import shorten
from bot.domain.concerns import CATEGORIES, MAX_TEXT, MAX_TITLE, ConcernStatus
from bot.domain.engagements import SEVERITIES
from bot.domain.risk_reviews import (
    CHOICE_LABELS,
    NEW_FIELDS,
    Choice,
    ReviewItem,
    RiskReviewForm,
    SavedReview,
    choice_id,
    note_id,
)

RISK_REVIEW_MODAL = "risk_review_form"
SUMMARY_NOTE = 300  # a note in the channel's summary; the whole note is in the concern's thread
CHOICE_EMOJI = {Choice.RESOLVED: "✅", Choice.MITIGATED: "🩹", Choice.STILL_OPEN: "•"}


def risk_review_modal(form: RiskReviewForm) -> dict[str, Any]:
    """The review: per open concern its headline, the choice (only what this person may do)
    and a note; the concerns that do not fit counted; then the fields to raise a new one."""
    late = " The review's window has closed; your answer is recorded as late." if form.late else ""
    if form.items:
        intro = (
            f"The open concerns of *{escape(form.engagement_name)}*, worst first. For each, say "
            "whether it is still open, mitigated or resolved; mitigating or resolving one needs "
            f"a note. Each concern's card changes with your answer.{late}"
        )
    else:
        intro = f"*{escape(form.engagement_name)}* has no open concerns.{late}"
    blocks: list[Any] = [section(intro)]
    for item in form.items:
        blocks += _concern_blocks(item)
    if form.more > 0:
        rest = f"…and {form.more} more open concerns that do not fit here (less severe, or newer)"
        blocks.append(context(f"{rest}; `/cadence concerns` lists them all."))
    blocks += [
        DividerBlock(),
        section("*Raise a new one* (optional)"),
        InputBlock(
            block_id=NEW_FIELDS["title"],
            label="New concern",
            optional=True,
            element=PlainTextInputElement(
                action_id=NEW_FIELDS["title"],
                placeholder="VPN keys shared by email",
                max_length=MAX_TITLE,
            ),
        ),
        InputBlock(
            block_id=NEW_FIELDS["severity"],
            label="Its severity",
            optional=True,
            element=StaticSelectElement(
                action_id=NEW_FIELDS["severity"],
                options=[Option(value=s, label=s.capitalize()) for s in SEVERITIES],
            ),
        ),
        InputBlock(
            block_id=NEW_FIELDS["category"],
            label="Its category",
            optional=True,
            element=StaticSelectElement(
                action_id=NEW_FIELDS["category"],
                options=[Option(value=c, label=c.capitalize()) for c in CATEGORIES],
            ),
        ),
        *question_blocks(form.questions),
    ]
    view = View(
        type="modal",
        callback_id=RISK_REVIEW_MODAL,
        title="Risk review",
        submit="Send",
        close="Cancel",
        private_metadata=json.dumps(form.metadata()),
        blocks=blocks,
    )
    return view.to_dict()  # refuses more than 100 blocks


def _concern_blocks(item: ReviewItem) -> list[Any]:
    concern = item.concern
    status = STATUS_WORDS.get(ConcernStatus(concern.status), concern.status)
    owner = f"<@{concern.owner_user_id}>" if concern.owner_user_id else "nobody"
    choices = list(Choice) if item.may_change else [Choice.STILL_OPEN]
    options = [Option(value=c.value, label=CHOICE_LABELS[c]) for c in choices]
    return [
        section(fit_text(f"{headline(concern)}\nOwner {owner} · {status}")),
        InputBlock(
            block_id=choice_id(item.id),
            label=f"Concern #{item.id} is",
            hint=None
            if item.may_change
            else "Only its owner or a lead can mark it mitigated or resolved.",
            element=RadioButtonsElement(
                action_id=choice_id(item.id), options=options, initial_option=options[0]
            ),
        ),
        InputBlock(
            block_id=note_id(item.id),
            label=f"Note on #{item.id}",
            optional=True,
            element=PlainTextInputElement(
                action_id=note_id(item.id),
                multiline=True,
                max_length=MAX_TEXT,
                placeholder="What was done, or what is still in the way",
            ),
        ),
    ]


def risk_review_summary(saved: SavedReview) -> dict[str, Any]:
    """The channel's record of the review: each concern it changed (resolved, mitigated, a note
    on one still open) and the one it raised; the rest counted."""
    late = " (after the review window)" if saved.late else ""
    title = f"🛡️ <@{saved.author}> reviewed the risks of *{escape(saved.engagement_name)}*{late}"
    lines: list[str] = []
    for answer in saved.changed:
        line = (
            f"{CHOICE_EMOJI[answer.choice]} *#{answer.concern_id} {escape(answer.title)}* "
            f"{CHOICE_LABELS[answer.choice].lower()}"
        )
        if answer.note:
            line += f": {escape(shorten(answer.note, SUMMARY_NOTE))}"
        lines.append(line)
    if saved.raised is not None:
        r = saved.raised
        lines.append(f"🆕 *#{r.concern_id} {escape(r.title)}* raised ({r.severity}, {r.category})")
    facts = []
    if saved.unchanged:
        facts.append(f"{_count(saved.unchanged, 'other open concern')}: still open, no note")
    if saved.more:
        facts.append(f"{_count(saved.more, 'more open concern')} not in the form")
    if not lines:
        lines.append("No change to the register." if saved.answers else "No open concerns.")
    blocks: list[Any] = [section(title), *pack_sections(lines)]
    blocks += answer_sections(saved.answered)
    if facts:
        blocks.append(context(" · ".join(facts)))
    changed = len(saved.changed) + (saved.raised is not None)
    text = f"Risk review of {escape(saved.engagement_name)}: {_count(changed, 'change')}"
    return message(text, blocks)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
