"""Answer forms: the check-in prompt's button, `/cadence update|feedback <eng>`, the Edit button
under an update's summary, and the two modal submissions.

Every id in a button value or in private_metadata is only a hint: bot/updates.py and
bot/feedback.py re-check it against the database (workspace, engagement, who may answer) on
open and again on submit. Modals are opened first (a trigger_id works once, for 3 s); posting
and DMs happen after the submission was acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.checkins import ANSWER_ACTION
from bot.blocks.common import plain_message
from bot.blocks.feedback import FEEDBACK_MODAL, feedback_modal, leads_summary, thanks_message
from bot.blocks.help import usage_reply
from bot.blocks.updates import EDIT_ACTION, UPDATE_MODAL, not_posted_notice, update_modal
from bot.blocks.updates import update_summary as render_summary
from bot.domain import checkins, feedback, updates
from bot.domain.command_reference import spec_for
from bot.domain.errors import UserError
from bot.engine.channels import direct_message
from bot.platform import clock
from bot.platform.services import Services
from handlers.forms import metadata_id, metadata_of, open_view, read_state, save_form
from handlers.guard import guarded
from handlers.workspace import workspace_id

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.action(ANSWER_ACTION)
    @guarded
    def checkin_answer(ack: Ack, body: dict, client: WebClient, respond: Respond, context) -> None:
        ack()
        team_id = workspace_id(context, body)
        user_id = body["user"]["id"]
        checkin_id = _button_id(body, "That check-in button is out of date.")
        with services.db.read_session() as session:
            found = checkins.load(
                session=session, team_id=team_id, checkin_id=checkin_id, user_id=user_id
            )
            if found.kind in updates.UPDATE_KINDS:
                view = update_modal(
                    updates.form_for_checkin(
                        session=session, context=found, user_id=user_id, now=clock.now()
                    )
                )
            elif found.kind == feedback.FEEDBACK_SURVEY:
                view = feedback_modal(feedback.form_for_checkin(context=found, user_id=user_id))
            else:
                raise UserError("Cadence does not know how to answer that kind of check-in.")
        open_view(client, body, view)

    @app.action(EDIT_ACTION)
    @guarded
    def status_update_edit(
        ack: Ack, body: dict, client: WebClient, respond: Respond, context
    ) -> None:
        ack()
        team_id = workspace_id(context, body)
        update_id = _button_id(body, "That Edit button is out of date.")
        with services.db.read_session() as session:
            form = updates.form_for_edit(
                session=session,
                team_id=team_id,
                update_id=update_id,
                user_id=body["user"]["id"],
                admins=services.admins,
            )
        open_view(client, body, update_modal(form))

    @app.view(UPDATE_MODAL)
    @guarded
    def status_update_form(ack: Ack, body: dict, view: dict, client: WebClient, context) -> None:
        team_id = workspace_id(context, body)
        user_id = body["user"]["id"]
        values, blocks = read_state(view["state"]["values"])
        metadata = metadata_of(view.get("private_metadata"))

        def save():
            with services.db.session() as session:
                saved = updates.save(
                    session=session,
                    team_id=team_id,
                    actor=user_id,
                    raw=values,
                    engagement_id=metadata_id(metadata, "engagement_id"),
                    checkin_id=metadata_id(metadata, "checkin_id"),
                    update_id=metadata_id(metadata, "update_id"),
                    admins=services.admins,
                    now=clock.now(),
                )
                return updates.load_summary(
                    session=session, team_id=team_id, update_id=saved.update_id
                )

        summary = save_form(ack, blocks, "rag", save)
        if summary is None:
            return
        ack()
        publish_summary(client, services, team_id=team_id, summary=summary, author=user_id)

    @app.view(FEEDBACK_MODAL)
    @guarded
    def feedback_form(ack: Ack, body: dict, view: dict, client: WebClient, context) -> None:
        team_id = workspace_id(context, body)
        user_id = body["user"]["id"]
        values, blocks = read_state(view["state"]["values"])
        metadata = metadata_of(view.get("private_metadata"))

        def save():
            with services.db.session() as session:
                return feedback.save(
                    session=session,
                    team_id=team_id,
                    actor=user_id,
                    raw=values,
                    engagement_id=metadata_id(metadata, "engagement_id"),
                    checkin_id=metadata_id(metadata, "checkin_id"),
                    admins=services.admins,
                    now=clock.now(),
                )

        saved = save_form(ack, blocks, "communication", save)
        if saved is None:
            return
        ack()
        # Never in the engagement channel: the vendor reads it. The leads get it by DM.
        direct_message(client, user_id, thanks_message(saved))
        for lead in saved.leads:
            direct_message(client, lead, leads_summary(saved))


# --- /cadence update <eng> and /cadence feedback <eng> (routed from handlers/commands.py) ------


def update_command(args: tuple[str, ...], *, services: Services, **request: Any) -> None:
    """Open the status-update form: for the person's pending check-in, else ad hoc."""

    def build(session, *, team_id: str, handle: str, user_id: str) -> dict[str, Any]:
        return update_modal(
            updates.form_for_person(
                session=session,
                team_id=team_id,
                handle=handle,
                user_id=user_id,
                admins=services.admins,
                now=clock.now(),
            )
        )

    _form_command(
        args, "update", "Say which engagement the update is for.", build, services, **request
    )


def feedback_command(args: tuple[str, ...], *, services: Services, **request: Any) -> None:
    """Open the feedback survey: for the person's pending survey, else ad hoc."""

    def build(session, *, team_id: str, handle: str, user_id: str) -> dict[str, Any]:
        return feedback_modal(
            feedback.form_for_person(
                session=session,
                team_id=team_id,
                handle=handle,
                user_id=user_id,
                admins=services.admins,
            )
        )

    _form_command(
        args, "feedback", "Say which engagement the feedback is about.", build, services, **request
    )


def _form_command(
    args: tuple[str, ...],
    name: str,
    missing: str,
    build: Callable[..., dict[str, Any]],
    services: Services,
    *,
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    team_id: str,
    user_id: str,
    **_: Any,
) -> None:
    """`/cadence <name> <eng>`: a missing or unknown engagement is answered in the ack; the
    form is built from the database first (fast), then opened with the trigger."""
    handle = " ".join(args).strip()
    if not handle:
        ack(**usage_reply(missing, spec_for(name)))
        return
    try:
        with services.db.read_session() as session:
            view = build(session, team_id=team_id, handle=handle, user_id=user_id)
    except UserError as e:
        ack(**plain_message(e.message))
        return
    ack()
    open_view(client, body, view)


# --- after the modal closed --------------------------------------------------------------------


def publish_summary(
    client: WebClient,
    services: Services,
    *,
    team_id: str,
    summary: updates.UpdateSummary,
    author: str,
) -> None:
    """Post the summary in the engagement channel, or update it in place after an edit.

    The update is saved whatever Slack says; when the summary cannot be posted, the author is
    told by DM.
    """
    payload = render_summary(summary)
    if summary.channel_id and summary.message_ts:
        try:
            client.chat_update(channel=summary.channel_id, ts=summary.message_ts, **payload)
            return
        except SlackApiError as e:  # deleted, or the bot left: post it anew below
            log.info("chat.update of update %s failed: %s", summary.update_id, _error(e))
    try:
        posted = _post_in_channel(client, summary.engagement_channel_id, payload)
    except SlackApiError as e:
        log.warning("summary of update %s not posted: %s", summary.update_id, _error(e))
        if not direct_message(client, author, not_posted_notice(summary, _error(e))):
            log.warning("could not tell %s that their update was not posted", author)
        return
    with services.db.session() as session:
        updates.set_message(
            session=session,
            team_id=team_id,
            update_id=summary.update_id,
            channel_id=posted["channel"],
            message_ts=posted["ts"],
        )


def _post_in_channel(client: WebClient, channel_id: str, payload: dict[str, Any]):
    """chat.postMessage; when the bot was removed from a public channel, rejoin once."""
    try:
        return client.chat_postMessage(channel=channel_id, **payload)
    except SlackApiError as e:
        if _error(e) != "not_in_channel":
            raise
    client.conversations_join(channel=channel_id)
    return client.chat_postMessage(channel=channel_id, **payload)


# --- parsing what Slack sent -------------------------------------------------------------------


def _error(e: SlackApiError) -> str | None:
    return e.response.get("error") if e.response is not None else None


def _button_id(body: dict[str, Any], problem: str) -> int:
    try:
        return int(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise UserError(f"{problem} Run the command again.") from e
