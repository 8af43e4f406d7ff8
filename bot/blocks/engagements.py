"""Block Kit for engagements: the create/edit modal, the list, archive confirmation, welcome."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ConversationFilter,
    ConversationSelectElement,
    DatePickerElement,
    HeaderBlock,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.common import (
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION_TEXT,
    channel_link,
    context,
    escape,
    fit_text,
    mentions,
    message,
    section,
    timezone_input,
)
from bot.domain.assurance.types import CRITICALITIES, CRITICALITY_LABELS, DEFAULT_CRITICALITY
from bot.domain.command_reference import echo
from bot.domain.engagements import (
    CONTRACT_RENEWS,
    DEFAULT_ACCEPTANCE_DAYS,
    DEFAULT_DUE_SOON_DAYS,
    DEFAULT_EXPIRY_DAYS,
    DEFAULT_RESOLVE_HOURS,
    DEFAULT_SLA_HOURS,
    DEFAULT_WINDOW_DAYS,
    KPI_EXAMPLE,
    KPI_TOLERANCE_EXAMPLE,
    MAX_ACCEPTANCE_DAYS,
    MAX_DUE_SOON_DAYS,
    MAX_NAME,
    MAX_NOTICE_DAYS,
    MAX_SLA_HOURS,
    MAX_VENDOR,
    MAX_WINDOW_DAYS,
    PAUSE_CONCERN_CLOCK,
    SEVERITIES,
    SUMMARIES_IN_CHANNEL,
    EngagementDetails,
    EngagementInput,
    EngagementLine,
)

ENGAGEMENT_MODAL = "engagement_form"
ARCHIVE_CONFIRM = "engagement_archive_confirm"
ARCHIVE_CANCEL = "engagement_archive_cancel"
CHANNEL_FILTER = ConversationFilter(include=["public", "private"], exclude_bot_users=True)
MAX_LISTED = 100
"""The most engagements `/cadence engagement list` reads (by name): more than a person scans in
one message, and at most what 48 sections hold (fewer when long names and many leads fill them
first); the rest are counted, and a word narrows the list."""


def engagement_modal(
    *,
    private_metadata: dict[str, Any],
    initial: EngagementInput | None = None,
    creator: str | None = None,
    current_channel: str | None = None,
    timezone: str = "",
) -> dict[str, Any]:
    """The create/edit form. `initial` fills it for an edit; otherwise defaults for a new one."""
    editing = initial is not None
    leads = list(initial.leads) if initial else ([creator] if creator else [])
    channel = initial.channel_id if initial else current_channel
    if channel and not channel.startswith(("C", "G")):
        channel = None
    zone = initial.timezone if initial else timezone
    sla = dict(initial.sla_hours) if initial else dict(DEFAULT_SLA_HOURS)
    resolve = dict(initial.resolve_hours) if initial else dict(DEFAULT_RESOLVE_HOURS)

    def people(action_id: str, label: str, users: Sequence[str], hint: str, optional=True):
        return InputBlock(
            block_id=action_id,
            label=label,
            optional=optional,
            hint=hint,
            element=UserMultiSelectElement(
                action_id=action_id,
                placeholder="Choose people",
                initial_users=list(users) or None,
            ),
        )

    blocks = [
        InputBlock(
            block_id="name",
            label="Engagement name",
            hint="Its handle for commands is made from it, e.g. Acme Payments → acme-payments.",
            element=PlainTextInputElement(
                action_id="name",
                placeholder="Acme Payments",
                max_length=MAX_NAME,
                initial_value=initial.name if initial else None,
            ),
        ),
        InputBlock(
            block_id="vendor",
            label="Vendor",
            element=PlainTextInputElement(
                action_id="vendor",
                placeholder="Globex Consulting",
                max_length=MAX_VENDOR,
                initial_value=initial.vendor if initial else None,
            ),
        ),
        InputBlock(
            block_id="channel",
            label="Engagement channel",
            hint="Updates, concerns and reminders are posted here. Cadence joins public channels "
            "itself; invite it to a private one with /invite @Cadence.",
            element=ConversationSelectElement(
                action_id="channel",
                placeholder="Choose a channel",
                initial_conversation=channel or None,
                filter=CHANNEL_FILTER,
            ),
        ),
        people(
            "leads",
            "Leads",
            leads,
            "Leads configure the engagement, get alerts, and acknowledge and resolve concerns.",
            optional=False,
        ),
        people(
            "vendor_contacts",
            "Vendor contacts",
            initial.vendor_contacts if initial else (),
            "They get the status-update check-ins. People from another organisation in a Slack "
            "Connect channel can be chosen too.",
        ),
        people(
            "stakeholders",
            "Client stakeholders",
            initial.stakeholders if initial else (),
            "They answer the feedback surveys and can raise concerns.",
        ),
        InputBlock(
            block_id="digest_channel",
            label="Executive digest channel",
            optional=True,
            hint="Where the weekly digest for executives goes (optional).",
            element=ConversationSelectElement(
                action_id="digest_channel",
                placeholder="Choose a channel",
                initial_conversation=initial.digest_channel_id if initial else None,
                filter=CHANNEL_FILTER,
            ),
        ),
        InputBlock(
            block_id="escalation_contact",
            label="Escalation contact",
            optional=True,
            hint="Who hears of a concern still unresolved a day past its deadline. Empty: the "
            "executive digest channel, else the leads.",
            element=UserSelectElement(
                action_id="escalation_contact",
                placeholder="Choose a person",
                initial_user=initial.escalation_user_id if initial else None,
            ),
        ),
        timezone_input(
            zone, hint=" Check-ins are scheduled in it unless a cadence says otherwise."
        ),
        InputBlock(
            block_id="kpis",
            label="KPIs and targets",
            optional=True,
            hint="One per line: Name (unit) >= target when higher is better, <= target when "
            "lower is better. Add (amber N) when a figure short of the target is still "
            f"tolerable: {KPI_TOLERANCE_EXAMPLE}.",
            element=PlainTextInputElement(
                action_id="kpis",
                multiline=True,
                placeholder=f"{KPI_EXAMPLE}\nMean time to resolve (hours) <= 8",
                max_length=2000,
                initial_value="\n".join(k.render() for k in initial.kpis)
                if initial and initial.kpis
                else None,
            ),
        ),
        InputBlock(
            block_id="holidays",
            label="Holidays",
            optional=True,
            hint="Dates with no check-ins, as YYYY-MM-DD separated by commas or lines.",
            element=PlainTextInputElement(
                action_id="holidays",
                multiline=True,
                placeholder="2026-12-24, 2026-12-25, 2027-01-01",
                max_length=3000,
                initial_value=", ".join(initial.holidays) if initial and initial.holidays else None,
            ),
        ),
        HeaderBlock(text="Concern response SLA (hours)"),
    ]
    for severity in SEVERITIES:
        for prefix, verb, hours, defaults in (
            ("sla_", "acknowledge", sla, DEFAULT_SLA_HOURS),
            ("sla_resolve_", "resolve", resolve, DEFAULT_RESOLVE_HOURS),
        ):
            blocks.append(
                InputBlock(
                    block_id=f"{prefix}{severity}",
                    label=f"{severity.capitalize()} concerns: {verb} within (hours)",
                    element=NumberInputElement(
                        action_id=f"{prefix}{severity}",
                        is_decimal_allowed=False,
                        min_value=1,
                        max_value=MAX_SLA_HOURS,
                        initial_value=hours.get(severity, defaults[severity]),
                    ),
                )
            )
    pause = Option(
        value=PAUSE_CONCERN_CLOCK,
        label="Concern clocks run in working hours only",
        description="Mon–Fri 09:00–17:00 in its time zone, not the holidays above. Otherwise "
        "every hour counts: a security hole does not wait.",
    )
    blocks.append(
        InputBlock(
            block_id="concern_clock",
            label="Concern clocks",
            optional=True,
            element=CheckboxesElement(
                action_id="concern_clock",
                options=[pause],
                initial_options=[pause] if initial and initial.concern_clock_pauses else None,
            ),
        )
    )
    in_channel = Option(
        value=SUMMARIES_IN_CHANNEL,
        label="Post update summaries in the channel itself",
        description="Otherwise they go in the thread of their check-in's message: a quiet channel.",
    )
    blocks.append(
        InputBlock(
            block_id="summaries",
            label="Status update summaries",
            optional=True,
            element=CheckboxesElement(
                action_id="summaries",
                options=[in_channel],
                initial_options=[in_channel] if initial and initial.summaries_in_channel else None,
            ),
        )
    )
    blocks += _deliverable_windows(initial)
    blocks += _contract_fields(initial)
    blocks += _evidence_fields(initial)
    view = View(
        type="modal",
        callback_id=ENGAGEMENT_MODAL,
        title="Edit engagement" if editing else "New engagement",
        submit="Save" if editing else "Create",
        close="Cancel",
        private_metadata=json.dumps(private_metadata),
        blocks=blocks,
    )
    return view.to_dict()


def _deliverable_windows(initial: EngagementInput | None) -> list[Any]:
    """The deliverables' clocks, in working days: the owner's reminder before the due date, and
    how long a submission waits for acceptance before its acceptors are reminded."""
    fields = (
        ("deliverable_due_soon_days", "Remind a deliverable's owner (working days before due)",
         initial.deliverable_due_soon_days if initial else DEFAULT_DUE_SOON_DAYS,
         MAX_DUE_SOON_DAYS),
        ("deliverable_acceptance_days", "Remind its acceptors after (working days waiting)",
         initial.deliverable_acceptance_days if initial else DEFAULT_ACCEPTANCE_DAYS,
         MAX_ACCEPTANCE_DAYS),
    )  # fmt: skip
    blocks: list[Any] = [HeaderBlock(text="Deliverables")]
    for key, label, days, most in fields:
        blocks.append(
            InputBlock(
                block_id=key,
                label=label,
                element=NumberInputElement(
                    action_id=key,
                    is_decimal_allowed=False,
                    min_value=1,
                    max_value=most,
                    initial_value=days,
                ),
            )
        )
    return blocks


def _contract_fields(initial: EngagementInput | None) -> list[Any]:
    """The contract's term, renewal and notice period: the leads are reminded before the last
    day to give notice, and on the end date."""
    renews = Option(
        value=CONTRACT_RENEWS,
        label="It renews by itself unless notice is given",
        description="Otherwise it ends on its end date.",
    )
    start, end = (initial.contract_start, initial.contract_end) if initial else (None, None)
    return [
        HeaderBlock(text="Contract"),
        InputBlock(
            block_id="contract_start",
            label="Contract start",
            optional=True,
            element=DatePickerElement(
                action_id="contract_start", initial_date=start.isoformat() if start else None
            ),
        ),
        InputBlock(
            block_id="contract_end",
            label="Contract end",
            optional=True,
            hint="The leads hear 90, 30 and 7 days before the last day to give notice, and on "
            "this day.",
            element=DatePickerElement(
                action_id="contract_end", initial_date=end.isoformat() if end else None
            ),
        ),
        InputBlock(
            block_id="contract_renews",
            label="Renewal",
            optional=True,
            element=CheckboxesElement(
                action_id="contract_renews",
                options=[renews],
                initial_options=[renews] if initial and initial.contract_renews else None,
            ),
        ),
        InputBlock(
            block_id="notice_days",
            label="Notice period (days before the end)",
            optional=True,
            element=NumberInputElement(
                action_id="notice_days",
                is_decimal_allowed=False,
                min_value=0,
                max_value=MAX_NOTICE_DAYS,
                initial_value=initial.notice_days
                if initial and initial.notice_days is not None
                else None,
            ),
        ),
    ]


def _evidence_fields(initial: EngagementInput | None) -> list[Any]:
    """The vendor's security evidence: the criticality (which evidence is requested at the
    start), the reminders before an item expires, and the window to provide an owed one."""
    options = {c: Option(value=c, label=CRITICALITY_LABELS[c]) for c in CRITICALITIES}
    chosen = initial.criticality if initial else DEFAULT_CRITICALITY
    days = initial.assurance_expiry_days if initial else DEFAULT_EXPIRY_DAYS
    window = initial.assurance_window_days if initial else DEFAULT_WINDOW_DAYS
    return [
        HeaderBlock(text="Security evidence"),
        InputBlock(
            block_id="criticality",
            label="Criticality",
            hint="What the vendor must provide at the start (due diligence) follows from it.",
            element=StaticSelectElement(
                action_id="criticality",
                options=list(options.values()),
                initial_option=options.get(chosen, options[DEFAULT_CRITICALITY]),
            ),
        ),
        InputBlock(
            block_id="assurance_expiry_days",
            label="Remind an item's owner before it expires (days)",
            optional=True,
            hint="Days before the evidence's last valid day, separated by commas.",
            element=PlainTextInputElement(
                action_id="assurance_expiry_days",
                initial_value=", ".join(str(d) for d in days) if days else None,
                max_length=40,
            ),
        ),
        InputBlock(
            block_id="assurance_window_days",
            label="Window to provide requested evidence (working days)",
            hint="Then its owner is reminded; after the same again, the leads.",
            element=NumberInputElement(
                action_id="assurance_window_days",
                is_decimal_allowed=False,
                min_value=1,
                max_value=MAX_WINDOW_DAYS,
                initial_value=window,
            ),
        ),
    ]


def refused_modal(text: str) -> dict[str, Any]:
    """What replaces the engagement form when Slack says the person may not create one (the
    form opens first: a trigger_id lasts 3 s, the check asks Slack)."""
    return View(
        type="modal",
        callback_id="engagement_refused",
        title="New engagement",
        close="Close",
        blocks=[section(text)],
    ).to_dict()


def engagement_lines(e: EngagementLine) -> str:
    archived = " _(archived)_" if e.archived_at else ""
    return (
        f"*{escape(e.name)}* `{e.handle}`{archived} · vendor {escape(e.vendor)} · "
        f"{channel_link(e.channel_id)} · leads {mentions(e.leads)}"
    )


def fit_sections(lines: Sequence[str], budget: int) -> tuple[list[SectionBlock], int]:
    """As many of `lines`, from the first, as pack into `budget` section blocks of at most
    3,000 characters each; and how many that is."""
    texts, shown = fit_texts(lines, budget)
    return [section(t) for t in texts], shown


def fit_texts(lines: Sequence[str], budget: int) -> tuple[list[str], int]:
    """The texts of `fit_sections`, for builders of plain-dict blocks (`bot/blocks/kit.py`)."""
    if budget < 1:
        return [], 0
    texts: list[str] = []
    current = ""
    shown = 0
    for line in lines:
        line = fit_text(line)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > MAX_SECTION_TEXT:
            if len(texts) + 2 > budget:  # the sections so far, and one more for this line
                break
            texts.append(current)
            candidate = line
        current = candidate
        shown += 1
    if current:
        texts.append(current)
    return texts, shown


def engagement_list(
    engagements: Sequence[EngagementLine], *, total: int | None = None, matching: str = ""
) -> dict[str, Any]:
    """A page of the workspace's engagements (`total` in all, default: those given): as many
    as fit in one message, the rest counted with the way to narrow the list."""
    total = len(engagements) if total is None else total
    word = f" matching “{escape(echo(matching))}”" if matching else ""
    if not engagements:
        text = (
            f"No engagement{word}. `/cadence engagement list` shows them all."
            if matching
            else "No engagements yet. Create the first with `/cadence engagement new`: name, "
            "vendor, channel and people; KPIs and SLAs can follow."
        )
        return message(text, [section(text)])
    header = f"{total} engagement{'s' if total != 1 else ''}{word}"
    lines = [engagement_lines(d) for d in engagements]
    sections, shown = fit_sections(lines, MAX_MESSAGE_BLOCKS - 2)  # with the header and footer
    more = total - shown
    footer = (
        f"Showing {shown} of {total} by name. `/cadence engagement list <word>` shows only "
        "those whose name, handle or vendor holds the word."
        if more > 0
        else "`/cadence engagement edit <handle>` to edit."
    )
    return message(header, [section(f"*{header}*"), *sections, context(footer)])


def archive_confirmation(details: EngagementDetails) -> dict[str, Any]:
    """The ephemeral "are you sure?" with a danger button (and Slack's own confirm dialog)."""
    e = details.engagement
    text = (
        f"Archive *{escape(e.name)}* (`{e.handle}`)? Its cadences stop, nothing more is "
        "prompted, and it leaves the digest. Its history (updates, feedback, concerns, audit "
        "trail) is kept."
    )
    return message(
        f"Archive {e.name}?",
        [
            section(text),
            ActionsBlock(
                block_id="archive",
                elements=[
                    ButtonElement(
                        text="Archive",
                        action_id=ARCHIVE_CONFIRM,
                        value=str(details.id),
                        style="danger",
                        confirm=ConfirmObject(
                            title="Archive engagement?",
                            text=f"Archive {e.name}? This stops its check-ins.",
                            confirm="Archive",
                            deny="Keep it",
                        ),
                    ),
                    ButtonElement(text="Cancel", action_id=ARCHIVE_CANCEL, value=str(details.id)),
                ],
            ),
        ],
    )


def welcome_message(details: EngagementDetails) -> dict[str, Any]:
    """Posted in the engagement channel on create: what will happen here, and who is who."""
    e = details.engagement
    text = (
        f"Cadence now keeps *{escape(e.name)}* with {escape(e.vendor)} on a steady rhythm in "
        "this channel."
    )
    what = (
        "*What will happen here*\n"
        "• Check-ins on the schedule the leads set; the people asked get a button that opens a "
        "short form.\n"
        "• Each status update is posted here as a summary (RAG, progress, KPIs against target).\n"
        "• Concerns are tracked with response SLAs until they are resolved."
    )
    who = (
        f"*Leads* {mentions(details.leads)}\n*Vendor contacts* {mentions(details.vendor_contacts)}"
        f"\n*Stakeholders* {mentions(details.stakeholders)}"
    )
    return message(
        text,
        [
            section(text),
            section(what),
            section(who),
            context(f"Handle `{e.handle}` · time zone {e.timezone} · `/cadence help` for commands"),
        ],
    )


def created_notice(details: EngagementDetails, channel_note: str | None) -> dict[str, Any]:
    """The DM to the person who created (or edited) the engagement."""
    e = details.engagement
    text = f"*{escape(e.name)}* is set up with handle `{e.handle}` in {channel_link(e.channel_id)}."
    blocks = [section(text)]
    if channel_note:
        blocks.append(section(channel_note))
    blocks.append(
        context(
            f"Next: `/cadence schedule {e.handle}` adds check-ins; "
            f"`/cadence engagement edit {e.handle}` changes it."
        )
    )
    return message(text, blocks)


def saved_notice(details: EngagementDetails, changed: Sequence[str]) -> dict[str, Any]:
    e = details.engagement
    what = ", ".join(changed) if changed else "nothing changed"
    text = f"Saved *{escape(e.name)}* (`{e.handle}`): {what}."
    return message(text, [section(text)])


def archived_notice(details: EngagementDetails, actor: str) -> dict[str, Any]:
    e = details.engagement
    text = (
        f"<@{actor}> archived *{escape(e.name)}*. Cadence will send no more check-ins here; "
        "its history is kept."
    )
    return message(text, [section(text)])
