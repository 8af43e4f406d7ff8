"""Answer forms: the check-in prompt's button, `/cadence update|feedback <eng>`, the Edit button
under an update's summary, and the two modal submissions.

Every id in a button value or in private_metadata is only a hint: bot/domain/updates/ and
bot/domain/feedback.py re-check it against the database (workspace, engagement, who may answer)
on open and again on submit. Modals are opened first (a trigger_id works once, for 3 s). Which
form answers a check-in comes from the registry of check-in kinds (`FORMS`, by form family);
an update's summary and DMs go through the outbox, planned with the answer; a feedback answer
plans nothing (no one is told of one answer) and is thanked on the form itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from sqlmodel import Session

from bot.blocks.common import plain_message
from bot.blocks.feedback import feedback_modal, thanks_view
from bot.blocks.help import usage_reply
from bot.blocks.updates import update_modal
from bot.domain import checkin_kinds, checkins, feedback, updates
from bot.domain.checkin_kinds import FormFamily
from bot.domain.errors import UserError
from bot.engine import outbox
from handlers.context import Command, Request
from handlers.forms import (
    button_id,
    metadata_id,
    metadata_of,
    open_view,
    read_state,
    save_form,
    state_of,
)
from handlers.risk_reviews import review_form

log = logging.getLogger(__name__)


def _update_form(session: Session, found: checkins.CheckInContext, req: Request) -> dict:
    return update_modal(
        updates.form_for_checkin(session=session, context=found, user_id=req.user_id, now=req.now)
    )


def _feedback_form(session: Session, found: checkins.CheckInContext, req: Request) -> dict:
    return feedback_modal(feedback.form_for_checkin(context=found, user_id=req.user_id))


# Which form answers a check-in, by the family its kind names in the registry of kinds.
FORMS: dict[FormFamily, Callable[[Session, checkins.CheckInContext, Request], dict]] = {
    FormFamily.UPDATE: _update_form,
    FormFamily.FEEDBACK: _feedback_form,
    FormFamily.RISK_REVIEW: review_form,
}


def checkin_answer(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    req = Request.of(context)
    checkin_id = button_id(body, "That check-in button is out of date.")
    with req.read() as session:
        found = checkins.load(
            session=session, team_id=req.team_id, checkin_id=checkin_id, user_id=req.user_id
        )
        spec = checkin_kinds.spec_of(found.kind)
        if spec is None:
            raise UserError("Cadence does not know how to answer that kind of check-in.")
        view = FORMS[spec.answered_with](session, found, req)
    open_view(client, body, view)


def status_update_edit(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    req = Request.of(context)
    update_id = button_id(body, "That Edit button is out of date.")
    with req.read() as session:
        form = updates.form_for_edit(
            session=session,
            team_id=req.team_id,
            update_id=update_id,
            user_id=req.user_id,
            admins=req.admins,
        )
    open_view(client, body, update_modal(form))


def status_update_form(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    req = Request.of(context)
    values, blocks = read_state(state_of(view))
    metadata = metadata_of(view.get("private_metadata"))

    def save() -> bool:
        with req.change() as session:
            saved = updates.save(
                session=session,
                team_id=req.team_id,
                actor=req.user_id,
                raw=values,
                engagement_id=metadata_id(metadata, "engagement_id"),
                checkin_id=metadata_id(metadata, "checkin_id"),
                update_id=metadata_id(metadata, "update_id"),
                admins=req.admins,
                now=req.now,
            )
            outbox.update_saved(
                session,
                team_id=req.team_id,
                saved=saved,
                channel_id=updates.channel_of(session=session, update_id=saved.update_id),
                now=req.now,
            )
            if saved.alert is not None:  # red, turned red, or a KPI missed: the leads hear
                outbox.update_alerted(session, team_id=req.team_id, alert=saved.alert, now=req.now)
        return True

    if save_form(ack, blocks, "rag", save):
        ack()


def feedback_form(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    req = Request.of(context)
    values, blocks = read_state(state_of(view))
    metadata = metadata_of(view.get("private_metadata"))

    def save() -> feedback.SavedFeedback:
        with req.change() as session:
            return feedback.save(
                session=session,
                team_id=req.team_id,
                actor=req.user_id,
                raw=values,
                engagement_id=metadata_id(metadata, "engagement_id"),
                checkin_id=metadata_id(metadata, "checkin_id"),
                admins=req.admins,
                now=req.now,
            )

    # Nobody is told of one answer (the leads learn a survey's aggregate when it closes), and
    # the thank-you is the form's own answer: a DM would be a stored trace of who answered.
    saved = save_form(ack, blocks, "communication", save)
    if saved is not None:
        ack(response_action="update", view=thanks_view(saved))


# --- /cadence update <eng> and /cadence feedback <eng> (routed from handlers/commands.py) ------


def update_command(cmd: Command) -> None:
    """Open the status-update form: for the person's pending check-in, else ad hoc."""

    def build(session: Session, req: Request) -> dict[str, Any]:
        return update_modal(
            updates.form_for_person(
                session=session,
                team_id=req.team_id,
                handle=cmd.rest,
                only_for=req.only_for,
                user_id=req.user_id,
                admins=req.admins,
                now=req.now,
            )
        )

    _form_command(cmd, "Say which engagement the update is for.", build)


def feedback_command(cmd: Command) -> None:
    """Open the feedback survey: for the person's pending survey, else ad hoc."""

    def build(session: Session, req: Request) -> dict[str, Any]:
        return feedback_modal(
            feedback.form_for_person(
                session=session,
                team_id=req.team_id,
                handle=cmd.rest,
                only_for=req.only_for,
                user_id=req.user_id,
                admins=req.admins,
            )
        )

    _form_command(cmd, "Say which engagement the feedback is about.", build)


def _form_command(
    cmd: Command, missing: str, build: Callable[[Session, Request], dict[str, Any]]
) -> None:
    """A missing or unknown engagement is answered in the ack; the form is built from the
    database first (fast), then opened with the trigger."""
    if not cmd.rest:
        cmd.ack(**usage_reply(missing, cmd.spec))
        return
    try:
        with cmd.req.read() as session:
            view = build(session, cmd.req)
    except UserError as e:
        cmd.ack(**plain_message(e.message))
        return
    cmd.ack()
    open_view(cmd.client, cmd.body, view)
