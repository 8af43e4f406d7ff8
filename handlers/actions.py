"""Buttons: every click re-checks who may do it; button values are never trusted alone."""

from __future__ import annotations

import contextlib

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import plain_message
from bot.blocks.engagements import ARCHIVE_CANCEL, ARCHIVE_CONFIRM, archived_notice
from bot.domain import engagements
from bot.domain.errors import UserError
from bot.platform import clock
from bot.platform.services import Services
from handlers.guard import guarded
from handlers.workspace import workspace_id


def _engagement_id(body: dict) -> int:
    try:
        return int(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise UserError("That button is out of date; run the command again.") from e


def register(app: App, services: Services) -> None:
    @app.action(ARCHIVE_CONFIRM)
    @guarded
    def archive_confirm(ack: Ack, body: dict, client: WebClient, respond: Respond, context):
        ack()
        team_id = workspace_id(context, body)
        user_id = body["user"]["id"]
        with services.db.session() as session:
            details = engagements.archive(
                session=session,
                team_id=team_id,
                actor=user_id,
                engagement_id=_engagement_id(body),
                now=clock.now(),
                admins=services.admins,
            )
        respond(
            **plain_message(f"Archived {details.engagement.name} (`{details.engagement.handle}`)."),
            replace_original=True,
        )
        # The channel may be gone or the bot removed from it; the archive itself stands.
        with contextlib.suppress(SlackApiError):
            client.chat_postMessage(
                channel=details.engagement.channel_id, **archived_notice(details, user_id)
            )

    @app.action(ARCHIVE_CANCEL)
    @guarded
    def archive_cancel(ack: Ack, body: dict, respond: Respond):
        ack()
        respond(delete_original=True)
