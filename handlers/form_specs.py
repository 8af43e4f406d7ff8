"""One spec per modal form: the registry every form is bound, opened and checked from.

A form's spec names its modal's `callback_id` (where Slack sends its submission), the listener
that validates and saves it, who may submit it (in words; the listener checks it on the
server, `tests/test_authorization.py` tries it as every kind of person: the matrix fails for a
form bound here that has no row), and, for a form that answers check-ins, the form family its
kinds name (`bot/domain/checkin_kinds.py`) and how it opens from the prompt's button. What a
family means to the figures and the export (counts in the on-time rate, its CSV file) is the
domain's part, `bot/domain/form_families.py`.

A new form is its module (domain rules, a Block Kit builder, its listener) and one line here.
`handlers/__init__.py` binds every spec's callback id; the prompt's button reads the family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from sqlmodel import Session

from bot.blocks.assurance import ACCEPT_MODAL as ASSURANCE_ACCEPT_MODAL
from bot.blocks.assurance import ADD_MODAL as ASSURANCE_ADD_MODAL
from bot.blocks.assurance import PROVIDE_MODAL as ASSURANCE_PROVIDE_MODAL
from bot.blocks.assurance import REJECT_MODAL as ASSURANCE_REJECT_MODAL
from bot.blocks.assurance import WAIVE_MODAL as ASSURANCE_WAIVE_MODAL
from bot.blocks.assurance_requirements import REQUIREMENTS_MODAL
from bot.blocks.cadences import CADENCE_MODAL
from bot.blocks.concerns import COMMENT_MODAL, CONCERN_MODAL, REASSIGN_MODAL, RESOLVE_MODAL
from bot.blocks.deliverables import (
    ACCEPT_MODAL,
    CANCEL_MODAL,
    DELIVERABLE_MODAL,
    REJECT_MODAL,
    REPLAN_MODAL,
    SUBMIT_MODAL,
)
from bot.blocks.digest_schedule import DIGEST_SCHEDULE_VIEW
from bot.blocks.engagements import ENGAGEMENT_MODAL
from bot.blocks.feedback import FEEDBACK_MODAL
from bot.blocks.question_editor import QUESTION_MODAL
from bot.blocks.risk_reviews import RISK_REVIEW_MODAL
from bot.blocks.updates import UPDATE_MODAL
from bot.domain import checkin_kinds, checkins
from bot.domain.checkin_kinds import FormFamily
from bot.domain.errors import UserError
from handlers import (
    answers,
    assurance,
    assurance_requirements,
    cadences,
    concerns,
    deliverables,
    digest_schedule,
    engagements,
    questions,
    risk_reviews,
)
from handlers.context import Request
from handlers.forms import button_id, open_view

Listener = Callable[..., Any]
CheckInOpener = Callable[[Session, checkins.CheckInContext, Request], dict[str, Any]]


@dataclass(frozen=True)
class FormSpec:
    callback_id: str
    submitted: Listener  # validation and save, within the request's one transaction
    who_may: str  # the permission rule its listener checks, in words
    family: FormFamily | None = None  # the family of check-in kinds it answers, if any
    open_for_checkin: CheckInOpener | None = None  # its form for one check-in (the prompt)


FORMS: tuple[FormSpec, ...] = (
    FormSpec(
        ENGAGEMENT_MODAL,
        engagements.engagement_form,
        "create: members of the installed workspace and Cadence admins; edit: its leads "
        "and Cadence admins",
    ),
    FormSpec(CADENCE_MODAL, cadences.cadence_form, "the engagement's leads and Cadence admins"),
    FormSpec(QUESTION_MODAL, questions.question_form, "the engagement's leads and Cadence admins"),
    FormSpec(
        UPDATE_MODAL,
        answers.status_update_form,
        "the check-in's recipients; ad hoc: vendor contacts, leads and Cadence admins; an "
        "edit: its author, leads and Cadence admins",
        family=FormFamily.UPDATE,
        open_for_checkin=answers.update_form,
    ),
    FormSpec(
        FEEDBACK_MODAL,
        answers.feedback_form,
        "the survey's recipients; ad hoc: stakeholders, leads and Cadence admins",
        family=FormFamily.FEEDBACK,
        open_for_checkin=answers.feedback_form_for,
    ),
    FormSpec(
        RISK_REVIEW_MODAL,
        risk_reviews.risk_review_submitted,
        "the review's recipients, for the concerns each may change",
        family=FormFamily.RISK_REVIEW,
        open_for_checkin=risk_reviews.review_form,
    ),
    FormSpec(CONCERN_MODAL, concerns.concern_form, "the engagement's people and Cadence admins"),
    FormSpec(
        COMMENT_MODAL, concerns.concern_action_form, "the engagement's people and Cadence admins"
    ),
    FormSpec(
        RESOLVE_MODAL,
        concerns.concern_action_form,
        "the concern's owner, the engagement's leads and Cadence admins",
    ),
    FormSpec(
        REASSIGN_MODAL,
        concerns.concern_action_form,
        "the concern's owner, the engagement's leads and Cadence admins",
    ),
    FormSpec(
        DELIVERABLE_MODAL,
        deliverables.deliverable_form,
        "the engagement's leads and Cadence admins (the owner one of its vendor contacts)",
    ),
    FormSpec(SUBMIT_MODAL, deliverables.step_form, "the deliverable's owner"),
    FormSpec(
        ACCEPT_MODAL,
        deliverables.step_form,
        "the deliverable's acceptors (none named: the engagement's leads)",
    ),
    FormSpec(
        REJECT_MODAL,
        deliverables.step_form,
        "the deliverable's acceptors (none named: the engagement's leads)",
    ),
    FormSpec(
        REPLAN_MODAL,
        deliverables.step_form,
        "the deliverable's owner, the engagement's leads and Cadence admins",
    ),
    FormSpec(CANCEL_MODAL, deliverables.step_form, "the engagement's leads and Cadence admins"),
    FormSpec(
        ASSURANCE_ADD_MODAL,
        assurance.add_form,
        "the engagement's leads and Cadence admins (the owner one of its vendor contacts)",
    ),
    FormSpec(ASSURANCE_PROVIDE_MODAL, assurance.step_form, "the evidence item's owner"),
    FormSpec(
        ASSURANCE_ACCEPT_MODAL,
        assurance.step_form,
        "the evidence item's reviewers (none named: the engagement's leads)",
    ),
    FormSpec(
        ASSURANCE_REJECT_MODAL,
        assurance.step_form,
        "the evidence item's reviewers (none named: the engagement's leads)",
    ),
    FormSpec(
        ASSURANCE_WAIVE_MODAL, assurance.step_form, "the engagement's leads and Cadence admins"
    ),
    FormSpec(
        REQUIREMENTS_MODAL,
        assurance_requirements.requirements_submitted,
        "the workspace's stewards: Cadence admins, Slack admins and owners",
    ),
    FormSpec(
        DIGEST_SCHEDULE_VIEW,
        digest_schedule.schedule_submitted,
        "the workspace's stewards: Cadence admins, Slack admins and owners",
    ),
)
VIEWS: dict[str, Listener] = {spec.callback_id: spec.submitted for spec in FORMS}
BY_FAMILY: dict[FormFamily, FormSpec] = {spec.family: spec for spec in FORMS if spec.family}


def checkin_answer(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """The prompt's button: open the form of the family the check-in's kind names (who may:
    the check-in's recipients, checked by `checkins.load`)."""
    ack()
    req = Request.of(context)
    checkin_id = button_id(body, "That check-in button is out of date.")
    with req.read() as session:
        found = checkins.load(
            session=session,
            team_id=req.team_id,
            checkin_id=checkin_id,
            user_id=req.user_id,
            brief=True,  # what the forms read of the engagement and cadence: `checkins.BRIEF`
        )
        kind = checkin_kinds.spec_of(found.kind)
        form = BY_FAMILY.get(kind.answered_with) if kind is not None else None
        if form is None or form.open_for_checkin is None:
            raise UserError("Cadence does not know how to answer that kind of check-in.")
        view = form.open_for_checkin(session, found, req)
    open_view(client, body, view)


def _check() -> None:
    """Every form family has exactly one form that opens for a check-in, and no callback id is
    bound twice (Bolt would answer with the first one only)."""
    if len(VIEWS) != len(FORMS):
        raise RuntimeError("two form specs share a callback_id")
    missing = [f for f in FormFamily if f not in BY_FAMILY or not BY_FAMILY[f].open_for_checkin]
    if missing:
        raise RuntimeError(f"form families with no form to open for a check-in: {missing}")


_check()
