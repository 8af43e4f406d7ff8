"""Block Kit for status updates: the form (new, for a check-in, or an edit) and the summary
posted in the engagement channel."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    HeaderBlock,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.common import context, escape, mentions, message, pack_sections, section
from bot.domain import checkin_kinds
from bot.domain.engagements import format_number
from bot.domain.updates import (
    MAX_TEXT,
    RAG_EMOJI,
    UpdateForm,
    UpdateSummary,
)

UPDATE_MODAL = "status_update_form"
EDIT_ACTION = "status_update_edit"
BLOCKER_CONCERN_ACTION = "status_update_blocker_concern"  # raise the blockers as a concern
RAG_OPTIONS = {
    "green": f"{RAG_EMOJI['green']} Green — on track",
    "amber": f"{RAG_EMOJI['amber']} Amber — at risk",
    "red": f"{RAG_EMOJI['red']} Red — off track",
}
CONFIDENCE_OPTIONS = {
    1: "1 — very low",
    2: "2 — low",
    3: "3 — moderate",
    4: "4 — high",
    5: "5 — very high",
}


def _kind_title(kind: str) -> str:
    return checkin_kinds.title(kind)


def _summary_label(kind: str) -> str:
    spec = checkin_kinds.spec_of(kind)
    return spec.summary_label if spec else "Progress summary"


def _summary_placeholder(kind: str) -> str:
    spec = checkin_kinds.spec_of(kind)
    return spec.summary_placeholder if spec else "Where things stand, in a few sentences"


def _text_input(
    action_id: str, label: str, initial: str | None, *, optional: bool, placeholder: str, hint=None
) -> InputBlock:
    return InputBlock(
        block_id=action_id,
        label=label,
        optional=optional,
        hint=hint,
        element=PlainTextInputElement(
            action_id=action_id,
            multiline=True,
            max_length=MAX_TEXT,
            placeholder=placeholder,
            initial_value=initial or None,
        ),
    )


def update_modal(form: UpdateForm) -> dict[str, Any]:
    """The status-update (or risk-review) form; filled in when `form.initial` is an edit."""
    initial = form.initial
    editing = form.update_id is not None
    title = _kind_title(form.kind)
    if editing:
        intro = f"Editing this {title.lower()} for *{escape(form.engagement_name)}*. "
        intro += "The earlier version is kept in its history."
    elif form.checkin_id is not None:
        intro = f"Your {title.lower()} for *{escape(form.engagement_name)}*, for the check-in."
        if form.late:
            intro += " Its window has closed: it is still welcome, and will be marked late."
    else:
        intro = f"A {title.lower()} for *{escape(form.engagement_name)}*, posted in its channel."
    rag_initial = (
        Option(value=initial.rag, label=RAG_OPTIONS[initial.rag])
        if initial and initial.rag in RAG_OPTIONS
        else None
    )
    confidence_initial = (
        Option(value=str(initial.confidence), label=CONFIDENCE_OPTIONS[initial.confidence])
        if initial and initial.confidence in CONFIDENCE_OPTIONS
        else None
    )
    blocks: list[Any] = [
        section(intro),
        InputBlock(
            block_id="rag",
            label="Status",
            element=StaticSelectElement(
                action_id="rag",
                placeholder="Green, amber or red",
                options=[Option(value=v, label=t) for v, t in RAG_OPTIONS.items()],
                initial_option=rag_initial,
            ),
        ),
        _text_input(
            "summary",
            _summary_label(form.kind),
            initial.summary if initial else None,
            optional=False,
            placeholder=_summary_placeholder(form.kind),
        ),
        _text_input(
            "accomplishments",
            "Accomplishments",
            initial.accomplishments if initial else None,
            optional=True,
            placeholder="What was done since the last update",
        ),
        _text_input(
            "next_steps",
            "Next steps",
            initial.next_steps if initial else None,
            optional=True,
            placeholder="What comes next, and when",
        ),
        _text_input(
            "blockers",
            "Blockers",
            initial.blockers if initial else None,
            optional=True,
            placeholder="What is in the way, and who can unblock it",
        ),
        InputBlock(
            block_id="confidence",
            label="Confidence in the plan",
            optional=True,
            element=StaticSelectElement(
                action_id="confidence",
                placeholder="1 (very low) to 5 (very high)",
                options=[Option(value=str(v), label=t) for v, t in CONFIDENCE_OPTIONS.items()],
                initial_option=confidence_initial,
            ),
        ),
    ]
    if form.kpis:
        blocks.append(HeaderBlock(text="KPIs"))
        for kpi in form.kpis:
            value = initial.kpi_values.get(kpi.id) if initial else None
            blocks.append(
                InputBlock(
                    block_id=kpi.action_id,
                    label=kpi.label()[:2000],
                    optional=True,
                    element=NumberInputElement(
                        action_id=kpi.action_id,
                        is_decimal_allowed=True,
                        initial_value=format_number(value) if value is not None else None,
                        placeholder="Leave empty if not measured",
                    ),
                )
            )
    view = View(
        type="modal",
        callback_id=UPDATE_MODAL,
        title=f"Edit {title.lower()}" if editing else title,
        submit="Save" if editing else "Send",
        close="Cancel",
        private_metadata=json.dumps(form.metadata()),
        blocks=blocks,
    )
    return view.to_dict()


def _titled(title: str, body: str) -> list:
    lines = [line.rstrip() for line in escape(body).splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return pack_sections([f"*{title}*", *lines])


def kpi_line(result) -> str:
    """`✅ Uptime: 99.95% (target ≥ 99.9%)` or `⚠️ …` when the target is missed; a KPI retired
    since the update was sent says so, so nobody looks for it on the next form."""
    kpi = result.kpi
    mark = "✅" if result.met else "⚠️"
    unit = kpi.unit if kpi.unit == "%" else (f" {kpi.unit}" if kpi.unit else "")
    retired = " · _retired_" if kpi.retired else ""
    return (
        f"{mark} {escape(kpi.name)}: *{format_number(result.value)}{escape(unit)}* "
        f"(target {escape(kpi.target_text())}){retired}"
    )


def update_summary(summary: UpdateSummary) -> dict[str, Any]:
    """The tidy summary in the engagement channel, with its Edit button."""
    emoji = RAG_EMOJI.get(summary.rag, "⚪")
    kind = _kind_title(summary.kind).lower()
    late = " · _late_" if summary.late else ""
    edited = " · _edited_" if summary.revision > 1 else ""
    headline = (
        f"{emoji} *{escape(summary.engagement_name)}* — {kind} from <@{summary.author}>: "
        f"*{summary.rag.upper()}*{late}{edited}"
    )
    blocks: list[Any] = [section(headline)]
    blocks += _titled(_summary_label(summary.kind), summary.summary)
    for title, body in (
        ("Accomplishments", summary.accomplishments),
        ("Next steps", summary.next_steps),
        ("Blockers", summary.blockers),
    ):
        if body.strip():
            blocks += _titled(title, body)
    if summary.kpis:
        blocks += pack_sections(["*KPIs*", *[kpi_line(r) for r in summary.kpis]])
    facts = []
    if summary.confidence is not None:
        facts.append(f"Confidence {summary.confidence}/5")
    if summary.late:
        facts.append("sent after the check-in window closed")
    if summary.revision > 1:
        facts.append(
            f"edited (revision {summary.revision}, last by {mentions([summary.last_editor])})"
        )
    if facts:
        blocks.append(context(" · ".join(facts)))
    blocks.append(
        ActionsBlock(
            block_id="update_actions",
            elements=[
                ButtonElement(text="Edit", action_id=EDIT_ACTION, value=str(summary.update_id)),
                *(
                    [
                        ButtonElement(
                            text="Raise blocker as a concern",
                            action_id=BLOCKER_CONCERN_ACTION,
                            value=str(summary.update_id),
                        )
                    ]
                    if summary.blockers.strip()
                    else []
                ),
            ],
        )
    )
    text = (
        f"{emoji} {summary.engagement_name}: {kind} from <@{summary.author}> — "
        f"{summary.rag.upper()}{' (late)' if summary.late else ''}"
        f"{' (edited)' if summary.revision > 1 else ''}"
    )
    return message(text, blocks)


def not_posted_notice(summary: UpdateSummary, error: str | None) -> dict[str, Any]:
    """DM to the author when the summary could not be posted: the update itself is saved."""
    channel = f"<#{summary.engagement_channel_id}>"
    text = (
        f"Your {_kind_title(summary.kind).lower()} for *{escape(summary.engagement_name)}* is "
        f"saved, but Cadence could not post it in {channel} ({error or 'unknown error'}). If the "
        "channel is private, open it and type `/invite @Cadence`. The update counts all the "
        "same."
    )
    return message(text, [section(text)])
