"""The registry of check-in kinds: what each kind is called, who it asks by default, how its
prompt reads and which form answers it.

One entry per kind. A kind names the form family that answers it (`answered_with`); each
family's form is a spec in `handlers/form_specs.py` and its part of the export a line in
`bot/domain/form_families.py`. A new kind that an existing form answers is one entry here; a
kind with a form of its own is one entry plus that form (docs/architecture.md, "How to add").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CheckInKind(StrEnum):
    STATUS_UPDATE = "status_update"
    FEEDBACK_SURVEY = "feedback_survey"
    RISK_REVIEW = "risk_review"
    SECURITY_REVIEW = "security_review"


class FormFamily(StrEnum):
    """Which form answers a kind of check-in."""

    UPDATE = "update"  # RAG, summary, accomplishments, next steps, blockers, KPIs, confidence
    FEEDBACK = "feedback"  # ratings and a comment, optionally anonymous to the vendor
    RISK_REVIEW = "risk_review"  # each open concern: still open, mitigated or resolved; a new one


@dataclass(frozen=True)
class KindSpec:
    kind: CheckInKind
    title: str  # "Status update": lists, modal titles (at most 24 characters)
    label: str  # "status update": in sentences
    default_audience: str  # who the schedule form proposes: vendor, stakeholders or leads
    answered_with: FormFamily
    button: str  # the prompt's button
    # Its check-ins count in the on-time rate (answers by the window's close, of those asked):
    # a status update is a commitment; a survey or a risk review answered late is not a miss.
    counts_on_time: bool = False
    summary_label: str = "Progress summary"  # the form's main text field
    summary_placeholder: str = "Where things stand, in a few sentences"
    # The question template (`bot/domain/questions/templates.py`) a new cadence of this kind
    # starts with when its engagement has no default questions for it to copy: a security
    # review without its questions and their rules would ask nothing about security.
    template: str | None = None


CHECKIN_KINDS: dict[CheckInKind, KindSpec] = {
    CheckInKind.STATUS_UPDATE: KindSpec(
        CheckInKind.STATUS_UPDATE,
        title="Status update",
        label="status update",
        default_audience="vendor",
        answered_with=FormFamily.UPDATE,
        button="Give update",
        counts_on_time=True,
    ),
    CheckInKind.FEEDBACK_SURVEY: KindSpec(
        CheckInKind.FEEDBACK_SURVEY,
        title="Feedback survey",
        label="feedback survey",
        default_audience="stakeholders",
        answered_with=FormFamily.FEEDBACK,
        button="Give feedback",
    ),
    CheckInKind.RISK_REVIEW: KindSpec(
        CheckInKind.RISK_REVIEW,
        title="Risk review",
        label="risk review",
        default_audience="vendor",
        answered_with=FormFamily.RISK_REVIEW,
        button="Review risks",
    ),
    # The vendor's periodic security attestation: the update form (RAG, summary, KPIs) with
    # the security-review questions after it, whose rules raise a security concern on a "no"
    # to access reviews or patching and a "yes" to incidents. Like a risk review, a late one
    # is not a missed commitment in the on-time rate.
    CheckInKind.SECURITY_REVIEW: KindSpec(
        CheckInKind.SECURITY_REVIEW,
        title="Security review",
        label="security review",
        default_audience="vendor",
        answered_with=FormFamily.UPDATE,
        button="Answer the review",
        summary_label="Security posture",
        summary_placeholder=(
            "How secure the service is now: open risks, audits and findings, what changed"
        ),
        template="security_review",
    ),
}


def spec_of(kind: str) -> KindSpec | None:
    """The entry for a stored kind, or None for a kind this version does not know."""
    try:
        return CHECKIN_KINDS[CheckInKind(kind)]
    except ValueError:
        return None


def kinds_answered_with(family: FormFamily) -> tuple[CheckInKind, ...]:
    return tuple(k for k, spec in CHECKIN_KINDS.items() if spec.answered_with == family)


def kinds_counted_on_time() -> tuple[CheckInKind, ...]:
    """The check-in kinds whose answers count in the on-time rate."""
    return tuple(k for k, spec in CHECKIN_KINDS.items() if spec.counts_on_time)


def label(kind: str) -> str:
    spec = spec_of(kind)
    return spec.label if spec else kind.replace("_", " ")


def title(kind: str) -> str:
    spec = spec_of(kind)
    return spec.title if spec else kind.replace("_", " ").capitalize()
