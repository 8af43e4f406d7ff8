"""Block Kit for status updates: the form (new, for a check-in, or an edit; with the author's
deliverables due soon), the summary posted in the engagement channel, and the leads' DM when an
update is red or misses a KPI."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.blocks import kit
from bot.blocks.common import context, escape, mentions, message, pack_sections, section
from bot.blocks.questions import answer_sections, question_blocks
from bot.domain import checkin_kinds
from bot.domain.engagements import format_number
from bot.domain.moments import day
from bot.domain.updates.deliverable_answers import (
    ANSWERS,
    AT_RISK,
    LATE,
    ON_TRACK,
    DeliverableAnswer,
    DeliverableField,
)
from bot.domain.updates.evidence import RAG_EMOJI, Blocker, KpiOutcome, KpiResult
from bot.domain.updates.form import UpdateForm
from bot.domain.updates.save import LeadsAlert
from bot.domain.updates.summary import UpdateSummary
from bot.domain.updates.validation import MAX_TEXT

UPDATE_MODAL = "status_update_form"
EDIT_ACTION = "status_update_edit"
BLOCKER_CONCERN_ACTION = "status_update_blocker_concern"  # raise the blockers as a concern
RAG_OPTIONS = {
    "green": f"{RAG_EMOJI['green']} Green — on track",
    "amber": f"{RAG_EMOJI['amber']} Amber — at risk",
    "red": f"{RAG_EMOJI['red']} Red — off track",
}
OUTCOME_MARKS = {KpiOutcome.MET: "✅", KpiOutcome.WITHIN: "🟡", KpiOutcome.MISSED: "⚠️"}
MAX_OPTION_TEXT = 75  # Slack's limit for an option's text and description
ANSWER_MARKS = {ON_TRACK: "✅", AT_RISK: "🟡", LATE: "⏰"}
MAX_SHOWN_REASON = 500  # a reason in the summary line; the revision keeps it whole
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
) -> kit.Block:
    return kit.input_block(
        action_id,
        label,
        kit.text_input(
            action_id,
            multiline=True,
            max_length=MAX_TEXT,
            placeholder=placeholder,
            initial_value=initial or None,
        ),
        optional=optional,
        hint=hint,
    )


def _fit(text: str, limit: int = MAX_OPTION_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _blocker_option(blocker: Blocker) -> dict[str, Any]:
    carried = f" · carried over {blocker.carried}×" if blocker.carried else ""
    return kit.option(
        blocker.choice, _fit(blocker.text), _fit(f"reported {day(blocker.since)}{carried}")
    )


def _still_blocking(form: UpdateForm) -> kit.Block | None:
    """Last time's blockers, each to tick if it still blocks (ticked as it stands, for an
    edit; unticked on a new form, so a blocker stays open only when someone says so)."""
    if not form.previous_blockers:
        return None
    options = [_blocker_option(b) for b in form.previous_blockers]
    ticked = set(form.initial.still_blocking) if form.initial else set()
    initial = [o for o, b in zip(options, form.previous_blockers, strict=True) if b.text in ticked]
    return kit.input_block(
        "still_blocking",
        "Last time's blockers: tick those that still block",
        kit.checkboxes("still_blocking", options, initial=initial),
        optional=True,
    )


def _answer_options() -> list[dict[str, Any]]:
    return [kit.option(v, f"{ANSWER_MARKS[v]} {t}") for v, t in ANSWERS.items()]


def _deliverable_inputs(field: DeliverableField, given: DeliverableAnswer | None) -> list:
    """One deliverable asked about: on track, at risk or will be late, and for a late one
    the new date and the reason (both optional to Slack; required by the save when late)."""
    options = _answer_options()
    chosen = next((o for o in options if given and o["value"] == given.answer), None)
    due = f"due {day(field.due_on)}" + (", overdue" if field.overdue else "")
    return [
        kit.input_block(
            field.action_id,
            _fit(f"#{field.id} {field.title} — {due}", kit.MAX_LABEL),
            kit.radio_buttons(field.action_id, options, initial=chosen),
            optional=True,
        ),
        kit.input_block(
            field.due_action_id,
            "New date, if it will be late",
            kit.datepicker(
                field.due_action_id,
                initial_date=given.new_due_on.isoformat() if given and given.new_due_on else None,
            ),
            optional=True,
        ),
        _text_input(
            field.reason_action_id,
            "Why? (needed if it will be late)",
            given.reason if given else None,
            optional=True,
            placeholder="What puts it at risk, or why it moves",
        ),
    ]


def _deliverables_asked(form: UpdateForm) -> list:
    """The author's deliverables due within two weeks or overdue, each asked about; a long
    list is capped (three blocks each) and says how many more there are."""
    asked = form.asked
    if not asked.fields:
        return []
    given = {a.deliverable_id: a for a in (form.initial.deliverables if form.initial else ())}
    blocks: list[kit.Block] = [kit.header("Your deliverables due soon")]
    for field in asked.fields:
        blocks += _deliverable_inputs(field, given.get(field.id))
    if asked.more:
        blocks.append(
            kit.context(
                f"And {asked.more} more due soon: see `/cadence deliverables mine`. A will-be-"
                "late one is re-planned with your date and reason when you send this."
            )
        )
    else:
        blocks.append(
            kit.context(
                "A will-be-late one is re-planned with your date and reason when you send this."
            )
        )
    return blocks


def update_modal(form: UpdateForm) -> dict[str, Any]:
    """The status-update (or risk-review) form; filled in when `form.initial` is an edit, or
    from the author's previous update on a new form (all but the status). Plain dicts
    (`bot/blocks/kit.py`): the prompt's button opens it on every answer."""
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
    if form.prefilled_on is not None and not editing:
        intro += (
            f"\nFilled in from your update of {day(form.prefilled_on)}: change what changed, "
            "and choose the status afresh."
        )
    still_blocking = _still_blocking(form)
    rag_initial = (
        kit.option(initial.rag, RAG_OPTIONS[initial.rag])
        if initial and initial.rag in RAG_OPTIONS
        else None
    )
    confidence_initial = (
        kit.option(str(initial.confidence), CONFIDENCE_OPTIONS[initial.confidence])
        if initial and initial.confidence in CONFIDENCE_OPTIONS
        else None
    )
    blocks: list[kit.Block] = [
        kit.section(intro),
        kit.input_block(
            "rag",
            "Status",
            kit.static_select(
                "rag",
                [kit.option(v, t) for v, t in RAG_OPTIONS.items()],
                placeholder="Green, amber or red",
                initial=rag_initial,
            ),
        ),
        _text_input(
            "reason",
            "What would make it green?",
            initial.reason if initial else None,
            optional=True,
            placeholder="What has to happen, and who can make it happen",
            hint="Needed for amber or red.",
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
        *([still_blocking] if still_blocking else []),
        _text_input(
            "blockers",
            "New blockers" if still_blocking else "Blockers",
            initial.blockers if initial else None,
            optional=True,
            placeholder="One per line: what is in the way, and who can unblock it",
        ),
        kit.input_block(
            "confidence",
            "Confidence in the plan",
            kit.static_select(
                "confidence",
                [kit.option(str(v), t) for v, t in CONFIDENCE_OPTIONS.items()],
                placeholder="1 (very low) to 5 (very high)",
                initial=confidence_initial,
            ),
            optional=True,
        ),
    ]
    blocks += _deliverables_asked(form)
    if form.kpis:
        blocks.append(kit.header("KPIs"))
        for kpi in form.kpis:
            value = initial.kpi_values.get(kpi.id) if initial else None
            blocks.append(
                kit.input_block(
                    kpi.action_id,
                    kpi.label()[: kit.MAX_LABEL],
                    kit.number_input(
                        kpi.action_id,
                        decimal=True,
                        initial_value=format_number(value) if value is not None else None,
                        placeholder="Leave empty if not measured",
                    ),
                    optional=True,
                )
            )
    blocks += question_blocks(form.questions)
    return kit.modal(
        callback_id=UPDATE_MODAL,
        title=f"Edit {title.lower()}" if editing else title,
        submit="Save" if editing else "Send",
        close="Cancel",
        private_metadata=json.dumps(form.metadata()),
        blocks=blocks,
    )


def _titled(title: str, body: str) -> list:
    lines = [line.rstrip() for line in escape(body).splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return pack_sections([f"*{title}*", *lines])


def kpi_line(result: KpiResult) -> str:
    """`✅ Uptime: 99.95% (target ≥ 99.9%)`, `🟡 …` when short of the target but within its
    amber tolerance, `⚠️ …` when missed; a KPI retired since the update was sent says so, so
    nobody looks for it on the next form."""
    kpi = result.kpi
    mark = OUTCOME_MARKS[result.outcome]
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
    if summary.reason.strip():
        blocks += _titled("What would make it green", summary.reason)
    blocks += _titled(_summary_label(summary.kind), summary.summary)
    for title, body in (
        ("Accomplishments", summary.accomplishments),
        ("Next steps", summary.next_steps),
    ):
        if body.strip():
            blocks += _titled(title, body)
    blocks += _blockers(summary)
    if summary.deliverables:
        blocks += pack_sections(
            ["*Deliverables*", *(deliverable_line(a) for a in summary.deliverables)]
        )
    if summary.kpis:
        blocks += pack_sections(["*KPIs*", *[kpi_line(r) for r in summary.kpis]])
    blocks += answer_sections(summary.answers)
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
        f"{emoji} {escape(summary.engagement_name)}: {kind} from <@{summary.author}> — "
        f"{summary.rag.upper()}{' (late)' if summary.late else ''}"
        f"{' (edited)' if summary.revision > 1 else ''}"
    )
    return message(text, blocks)


def deliverable_line(answer: DeliverableAnswer) -> str:
    """`🟡 At risk: #12 Cutover runbook (due 11 Dec 2026) — the reason`; a late one with its
    new date and the date it had."""
    mark, label = ANSWER_MARKS[answer.answer], ANSWERS[answer.answer]
    what = f"#{answer.deliverable_id} {escape(answer.title)}"
    if answer.answer == LATE and answer.new_due_on is not None:
        line = (
            f"{mark} {label}: {what}, now due *{day(answer.new_due_on)}* (was {day(answer.due_on)})"
        )
    else:
        line = f"{mark} {label}: {what} (due {day(answer.due_on)})"
    if answer.reason:
        line += f" — {escape(_fit(' '.join(answer.reason.split()), MAX_SHOWN_REASON))}"
    return line


def _blocker_line(blocker: Blocker) -> str:
    if blocker.long_open:
        return f"• {escape(blocker.text)} — ⏳ *open since {day(blocker.since)}*"
    if blocker.carried:
        return f"• {escape(blocker.text)} _(since {day(blocker.since)})_"
    return f"• {escape(blocker.text)}"


def _blockers(summary: UpdateSummary) -> list:
    """The blockers line by line; those carried over at least twice are marked "open since"
    and pointed out to the leads."""
    if not summary.blocker_lines:
        return _titled("Blockers", summary.blockers) if summary.blockers.strip() else []
    lines = ["*Blockers*", *(_blocker_line(b) for b in summary.blocker_lines)]
    long_open = summary.long_open
    if long_open and summary.leads:
        count = "1 blocker is" if len(long_open) == 1 else f"{len(long_open)} blockers are"
        lines.append(f"{mentions(summary.leads)}: {count} still open after two updates.")
    return pack_sections(lines)


def leads_alert(alert: LeadsAlert) -> dict[str, Any]:
    """The leads' DM when an update is red, turned red, or misses a KPI (what is new in it)."""
    lines = alert_lines(alert)
    fallback = lines[0].replace("*", "")
    return message(fallback, pack_sections(lines))


def alert_line(alert: LeadsAlert) -> str:
    """The same alert as one entry of a lead's daily round-up."""
    return "\n".join(alert_lines(alert))


def alert_lines(alert: LeadsAlert) -> list[str]:
    name = escape(alert.engagement_name)
    kind = _kind_title(alert.kind).lower()
    if alert.red and alert.was:
        was = f", from {alert.was} on {day(alert.was_on)}" if alert.was_on else ""
        headline = f"🔴 *{name}* turned *red*{was}: {kind} from <@{alert.author}>."
    elif alert.red:
        headline = f"🔴 *{name}* is *red*: {kind} from <@{alert.author}>."
    else:
        count = "a KPI" if len(alert.missed) == 1 else f"{len(alert.missed)} KPIs"
        headline = (
            f"⚠️ *{name}* missed {count}: {kind} from <@{alert.author}> "
            f"({RAG_EMOJI.get(alert.rag, '')} {alert.rag})."
        )
    lines = [headline]
    if alert.reason.strip():
        lines.append(f"*What would make it green:* {escape(alert.reason)}")
    if alert.missed:
        lines += ["*Missed*", *(kpi_line(r) for r in alert.missed)]
    lines.append(f"The summary is in <#{alert.channel_id}>.")
    return lines


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
