"""The `/cadence` router: parse the text, call the core in bot/, reply with a builder."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import engagements
from bot.blocks.engagements import archive_confirmation, engagement_list, engagement_modal
from bot.blocks.help import help_message, usage_reply
from bot.channels import user_timezone
from bot.command_reference import REFERENCE, Invocation, parse, spec_for
from bot.services import Services
from handlers.guard import guarded

log = logging.getLogger(__name__)
COMING = {spec.usage.split()[0].split("|")[0] for spec in REFERENCE if not spec.available} | {
    "resume",
    "skip",
    "delete",
}


def register(app: App, services: Services) -> None:
    @app.command("/cadence")
    @guarded
    def cadence(ack: Ack, body: dict, client: WebClient, respond: Respond, context) -> None:
        invocation = parse(body.get("text", ""))
        team_id = context.team_id or body.get("team_id")
        user_id = body["user_id"]
        if invocation.name == "help":
            ack(**help_message())
        elif invocation.name == "engagement":
            engagement_command(
                invocation, ack=ack, body=body, client=client, respond=respond, team_id=team_id,
                user_id=user_id, services=services,
            )  # fmt: skip
        elif invocation.name in COMING:
            ack(
                **usage_reply(
                    f"`/cadence {invocation.name}` is not available in this version of Cadence "
                    "yet; it is on its way."
                )
            )
        else:
            ack(**usage_reply(f"Cadence has no command `{invocation.name}`."))


def engagement_command(
    invocation: Invocation,
    *,
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    respond: Respond,
    team_id: str,
    user_id: str,
    services: Services,
) -> None:
    action = invocation.args[0].lower() if invocation.args else ""
    handle = " ".join(invocation.args[1:])
    if action == "new":
        ack()
        open_new_engagement(client, body, user_id)
    elif action == "list":
        ack()
        with services.db.read_session() as session:
            found = engagements.list_all(session=session, team_id=team_id)
            respond(**engagement_list(found), response_type="ephemeral")
    elif action in ("edit", "archive"):
        if not handle:
            ack(
                **usage_reply(
                    f"Say which engagement to {action}.", spec_for(f"engagement {action}")
                )
            )
            return
        ack()
        with services.db.read_session() as session:
            details = engagements.find(session=session, team_id=team_id, handle=handle)
        engagements.require_manager(details, user_id, services.admins)
        if action == "edit":
            open_view(
                client,
                body,
                engagement_modal(
                    private_metadata={"mode": "edit", "engagement_id": details.id},
                    initial=details.as_input(),
                ),
            )
        else:
            respond(**archive_confirmation(details), response_type="ephemeral")
    else:
        problem = (
            f"`/cadence engagement {action}` is not a command."
            if action
            else "Say what to do with engagements: new, list, edit or archive."
        )
        ack(**usage_reply(problem, spec_for("engagement new")))


def open_view(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> dict | None:
    """Open a modal with the request's trigger_id (valid once, for 3 s: open first, then work)."""
    try:
        return client.views_open(trigger_id=body["trigger_id"], view=view)["view"]
    except SlackApiError as e:
        error = e.response.get("error")
        if error in ("expired_trigger_id", "invalid_trigger_id"):
            from bot.errors import UserError

            raise UserError(
                "Slack took too long to open the form (the request expired). Please run the "
                "command again."
            ) from e
        raise


def open_new_engagement(client: WebClient, body: dict[str, Any], user_id: str) -> None:
    """Open the form at once, then fill in the person's time zone from their Slack profile."""

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
    timezone = user_timezone(client, user_id) or "UTC"
    try:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=form(timezone))
    except SlackApiError as e:  # the person already changed the form: leave it alone
        log.info("could not fill in the time zone: %s", e.response.get("error"))
