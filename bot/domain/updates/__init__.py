"""Structured status updates: who may send one, what a valid one is, saving
it with its revision history and KPI figures, and reading it back for the channel summary.

Independent of Slack payload shapes: the handlers hand in the form's values keyed by action_id
and get back ids, or a `FieldErrors` naming the fields to fix. Nothing is written unless all of
it is valid; an answer to a check-in is recorded in the same transaction as the update.

One module per job: `evidence` (RAG, KPI outcomes, blocker lines; pure), `validation` (the
form's values to an `UpdateInput`; pure), `deliverable_answers` (the author's deliverables due
soon, asked about: on track, at risk, will be late; pure), `records` (stored reads the others
share, the previous update among them), `form` (who may open which form, filled in how), `save`
(new update or edit, each "will be late" re-planned, and the leads' alert), `summary` (read
back for the channel). This package re-exports their public names, so callers write
`updates.save(...)` and need not know which.
"""

from bot.domain.updates.evidence import (
    LONG_OPEN_AFTER,
    MAX_CARRIED_CHOICES,
    RAG_EMOJI,
    RAGS,
    Blocker,
    KpiField,
    KpiOutcome,
    KpiResult,
    blocker_texts,
    blockers_now,
    blockers_of,
    kpi_action_id,
    kpi_outcome,
    outcome_of_content,
)
from bot.domain.updates.form import (
    UpdateForm,
    form_for_checkin,
    form_for_edit,
    form_for_person,
    may_edit,
    may_send_ad_hoc,
)
from bot.domain.updates.records import (
    STATUS_UPDATE,
    UPDATE_KINDS,
    kpis_of,
    previous_update,
)
from bot.domain.updates.save import (
    LeadsAlert,
    Saved,
    alerting,
    channel_of,
    save,
    set_message,
)
from bot.domain.updates.summary import UpdateSummary, load_summary
from bot.domain.updates.validation import (
    CONFIDENCE_LEVELS,
    MAX_TEXT,
    NEEDS_REASON,
    TEXT_FIELDS,
    UpdateInput,
    parse_number,
    validate,
)

__all__ = [
    "CONFIDENCE_LEVELS",
    "LONG_OPEN_AFTER",
    "MAX_CARRIED_CHOICES",
    "MAX_TEXT",
    "NEEDS_REASON",
    "RAGS",
    "RAG_EMOJI",
    "STATUS_UPDATE",
    "TEXT_FIELDS",
    "UPDATE_KINDS",
    "Blocker",
    "KpiField",
    "KpiOutcome",
    "KpiResult",
    "LeadsAlert",
    "Saved",
    "UpdateForm",
    "UpdateInput",
    "UpdateSummary",
    "alerting",
    "blocker_texts",
    "blockers_now",
    "blockers_of",
    "channel_of",
    "form_for_checkin",
    "form_for_edit",
    "form_for_person",
    "kpi_action_id",
    "kpi_outcome",
    "kpis_of",
    "load_summary",
    "may_edit",
    "may_send_ad_hoc",
    "outcome_of_content",
    "parse_number",
    "previous_update",
    "save",
    "set_message",
    "validate",
]
