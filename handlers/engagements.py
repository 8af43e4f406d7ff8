"""Engagement listeners: `/cadence engagement new|list|edit|archive`, the engagement form and
the archive confirmation's buttons.

What a change causes in Slack (the welcome in the channel, the lead's notice, the archive
notice) goes through the outbox, planned in the change's own transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import escape, plain_message
from bot.blocks.engagements import (
    MAX_LISTED,
    archive_confirmation,
    engagement_list,
    engagement_modal,
    refused_modal,
)
from bot.blocks.help import usage_reply
from bot.domain import engagements, roles
from bot.domain.assurance import diligence
from bot.domain.errors import NotAllowed, UserError
from bot.engine import outbox
from bot.platform.slack import quick_user_info
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

log = logging.getLogger(__name__)


# --- commands ----------------------------------------------------------------------------------


def new_command(cmd: Command) -> None:
    """Open the form at once, then check with Slack that the person may create engagements
    (`roles`: members of this workspace, not guests) and fill in their time zone; a person
    of another organisation is refused before anything opens (their payload says so)."""
    cmd.ack()
    body, client, req = cmd.body, cmd.client, cmd.req
    user_id = req.user_id
    if req.from_elsewhere:
        roles.require_creator(roles.Actor(user_id, req.is_admin, True, None))

    def form(timezone: str) -> dict[str, Any]:
        return engagement_modal(
            private_metadata={"mode": "create"},
            creator=user_id,
            current_channel=body.get("channel_id"),
            timezone=timezone,
        )

    opened = open_view(client, body, form(""))
    if opened is None:
        return
    # One users.info for both what the form needs: the standing and the time zone.
    user = quick_user_info(client, user_id)
    actor = req.actor(client, user=user)
    try:
        roles.require_creator(actor)
    except NotAllowed as refusal:
        client.views_update(
            view_id=opened["id"], hash=opened["hash"], view=refused_modal(refusal.message)
        )
        return
    timezone = (user or {}).get("tz") or "UTC"
    try:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=form(timezone))
    except SlackApiError as e:  # the person already changed the form: leave it alone
        log.info("could not fill in the time zone: %s", e.response.get("error"))


def list_command(cmd: Command) -> None:
    """`/cadence engagement list [<word>]`: one page read with a fixed number of queries (the
    rest counted), so the answer costs the same with ten engagements or ten thousand."""
    cmd.ack()
    with cmd.req.read() as session:
        found = engagements.list_page(
            session=session,
            team_id=cmd.req.team_id,
            limit=MAX_LISTED,
            matching=cmd.rest,
            only_for=cmd.req.only_for,  # another organisation's person: only theirs
        )
    payload = engagement_list(found.rows, total=found.total, matching=cmd.rest)
    cmd.respond(**payload, response_type="ephemeral")


def edit_command(cmd: Command) -> None:
    details = _named(cmd, "edit")
    if details is None:
        return
    open_view(
        cmd.client,
        cmd.body,
        engagement_modal(
            private_metadata={"mode": "edit", "engagement_id": details.id},
            initial=details.as_input(),
        ),
    )


def archive_command(cmd: Command) -> None:
    details = _named(cmd, "archive")
    if details is not None:
        cmd.respond(**archive_confirmation(details), response_type="ephemeral")


def _named(cmd: Command, action: str) -> engagements.EngagementDetails | None:
    """The engagement the command names, which the person may manage; None when answered."""
    if not cmd.rest:
        cmd.ack(**usage_reply(f"Say which engagement to {action}.", cmd.spec))
        return None
    cmd.ack()
    req = cmd.req
    with req.read() as session:
        details = engagements.find(
            session=session, team_id=req.team_id, handle=cmd.rest, only_for=req.only_for
        )
    engagements.require_manager(details, req.user_id, req.admins)
    return details


# --- the form ----------------------------------------------------------------------------------


def engagement_form(
    ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext
) -> None:
    req = Request.of(context)
    values, blocks = read_state(state_of(view))
    metadata = metadata_of(view.get("private_metadata"))

    def save() -> bool:
        data = engagements.validate(values)
        if metadata.get("mode") != "edit":  # who may create: checked again at submit
            roles.require_creator(req.actor(client))
        with req.change() as session:
            if metadata.get("mode") != "edit":
                before = None
                after = engagements.create(
                    session=session, team_id=req.team_id, actor=req.user_id, data=data,
                    now=req.now,
                )  # fmt: skip
            else:
                engagement_id = metadata_id(metadata, "engagement_id")
                if engagement_id is None:
                    raise UserError("This form is damaged; open it again.")
                before, after = engagements.update(
                    session=session,
                    team_id=req.team_id,
                    actor=req.user_id,
                    engagement_id=engagement_id,
                    data=data,
                    now=req.now,
                    admins=req.admins,
                )
            diligence.follow_engagement(session, before, after, req.user_id, req.now)
            outbox.engagement_saved(
                session, before=before, after=after, actor=req.user_id, request=req.delivery,
                now=req.now,
            )  # fmt: skip
        return True

    if save_form(ack, blocks, "name", save):
        ack()


# --- the archive confirmation --------------------------------------------------------------------


def archive_confirm(ack: Ack, body: dict, respond: Respond, context: BoltContext) -> None:
    ack()
    req = Request.of(context)
    engagement_id = button_id(body, "That button is out of date; run the command again.")
    with req.change() as session:
        details = engagements.archive(
            session=session,
            team_id=req.team_id,
            actor=req.user_id,
            engagement_id=engagement_id,
            now=req.now,
            admins=req.admins,
        )
        outbox.engagement_archived(session, details=details, actor=req.user_id, now=req.now)
    respond(
        **plain_message(
            f"Archived {escape(details.engagement.name)} (`{details.engagement.handle}`)."
        ),
        replace_original=True,
    )


def archive_cancel(ack: Ack, respond: Respond) -> None:
    ack()
    respond(delete_original=True)
