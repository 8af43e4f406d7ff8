"""Modal submissions: validate, answer with inline errors or close, then do the slow work."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.blocks.engagements import ENGAGEMENT_MODAL, created_notice, saved_notice, welcome_message
from bot.domain import audit, engagements
from bot.domain.errors import UserError
from bot.engine.channels import direct_message, join_and_post
from bot.platform import clock
from bot.platform.services import Services
from handlers.forms import metadata_id, metadata_of, read_state, save_form
from handlers.guard import guarded
from handlers.workspace import workspace_id

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.view(ENGAGEMENT_MODAL)
    @guarded
    def engagement_form(ack: Ack, body: dict, view: dict, client: WebClient, context) -> None:
        team_id = workspace_id(context, body)
        user_id = body["user"]["id"]
        values, blocks = read_state(view["state"]["values"])
        metadata = metadata_of(view.get("private_metadata"))

        def save() -> tuple[engagements.EngagementDetails | None, engagements.EngagementDetails]:
            data = engagements.validate(values)
            with services.db.session() as session:
                if metadata.get("mode") != "edit":
                    return None, engagements.create(
                        session=session, team_id=team_id, actor=user_id, data=data, now=clock.now()
                    )
                engagement_id = metadata_id(metadata, "engagement_id")
                if engagement_id is None:
                    raise UserError("This form is damaged; open it again.")
                return engagements.update(
                    session=session,
                    team_id=team_id,
                    actor=user_id,
                    engagement_id=engagement_id,
                    data=data,
                    now=clock.now(),
                    admins=services.admins,
                )

        saved = save_form(ack, blocks, "name", save)
        if saved is None:
            return
        before, after = saved
        ack()
        after_save(client, user_id, before, after)


def after_save(
    client: WebClient,
    user_id: str,
    before: engagements.EngagementDetails | None,
    after: engagements.EngagementDetails,
) -> None:
    """After the modal closed: get into the channel, greet it, and tell the person."""
    channel_id = after.engagement.channel_id
    if before is None or before.engagement.channel_id != channel_id:
        note = join_and_post(client, channel_id, welcome_message(after))
        direct_message(client, user_id, created_notice(after, note))
    else:
        _, changed = audit.changes(before.snapshot(), after.snapshot())
        direct_message(client, user_id, saved_notice(after, [k.replace("_", " ") for k in changed]))
