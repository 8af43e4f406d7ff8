"""Answer forms: `/cadence update|feedback <eng>`, the Edit button under an update's summary,
the two forms for a check-in (opened by the prompt's button through `handlers/form_specs.py`)
and the two modal submissions.

Every id in a button value or in private_metadata is only a hint: bot/domain/updates/ and
bot/domain/feedback.py re-check it against the database (workspace, engagement, who may answer)
on open and again on submit. Modals are opened first (a trigger_id works once, for 3 s). Which
form answers a check-in comes from its form spec (`handlers/form_specs.py`, by form family);
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
from bot.domain import checkins, feedback, updates
from bot.domain.errors import UserError
from bot.engine import outbox
from handlers.context import Command, Request
from handlers.forms import button_id, metadata_id, open_view, submit

log = logging.getLogger(__name__)


def update_form(session: Session, found: checkins.CheckInContext, req: Request) -> dict:
    """The status-update form for a check-in (the prompt's button)."""
    return update_modal(
        updates.form_for_checkin(session=session, context=found, user_id=req.user_id, now=req.now)
    )


def feedback_form_for(session: Session, found: checkins.CheckInContext, req: Request) -> dict:
    """The feedback survey for a check-in (the prompt's button)."""
    return feedback_modal(
        feedback.form_for_checkin(context=found, user_id=req.user_id, session=session)
    )


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

    def save(session: Session, values: dict[str, Any], metadata: dict[str, Any]) -> bool:
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
            question_ids=metadata.get("questions"),
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

    if submit(ack, view, req.change, "rag", save):
        ack()


def feedback_form(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    req = Request.of(context)

    def save(
        session: Session, values: dict[str, Any], metadata: dict[str, Any]
    ) -> feedback.SavedFeedback:
        return feedback.save(
            session=session,
            team_id=req.team_id,
            actor=req.user_id,
            raw=values,
            engagement_id=metadata_id(metadata, "engagement_id"),
            checkin_id=metadata_id(metadata, "checkin_id"),
            admins=req.admins,
            now=req.now,
            question_ids=metadata.get("questions"),
        )

    # Nobody is told of one answer (the leads learn a survey's aggregate when it closes), and
    # the thank-you is the form's own answer: a DM would be a stored trace of who answered.
    saved = submit(ack, view, req.change, "communication", save)
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
