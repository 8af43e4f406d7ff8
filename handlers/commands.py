"""The `/cadence` router: parse the text, call the core in bot/, reply with a builder."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import plain_message
from bot.blocks.engagements import archive_confirmation, engagement_list, engagement_modal
from bot.blocks.help import help_message, usage_reply
from bot.domain import away, engagements
from bot.domain.command_reference import REFERENCE, Invocation, parse, spec_for
from bot.domain.errors import UserError
from bot.engine.channels import user_timezone
from bot.platform import clock
from bot.platform.services import Services
from handlers import answers
from handlers import cadences as cadence_handlers
from handlers.forms import open_view
from handlers.guard import guarded
from handlers.workspace import workspace_id

log = logging.getLogger(__name__)
COMING = {spec.usage.split()[0].split("|")[0] for spec in REFERENCE if not spec.available}


def register(app: App, services: Services) -> None:
    @app.command("/cadence")
    @guarded
    def cadence(ack: Ack, body: dict, client: WebClient, respond: Respond, context) -> None:
        invocation = parse(body.get("text", ""))
        team_id = workspace_id(context, body)
        user_id = body["user_id"]
        if invocation.name == "help":
            ack(**help_message())
        elif invocation.name == "engagement":
            engagement_command(
                invocation, ack=ack, body=body, client=client, respond=respond, team_id=team_id,
                user_id=user_id, services=services,
            )  # fmt: skip
        elif invocation.name in ROUTES:
            ROUTES[invocation.name](
                invocation.args, ack=ack, body=body, client=client, respond=respond,
                team_id=team_id, user_id=user_id, services=services,
            )  # fmt: skip
        elif invocation.name in cadence_handlers.LIFECYCLE:
            cadence_handlers.lifecycle_command(
                invocation.name, invocation.args, ack=ack, body=body, client=client,
                respond=respond, team_id=team_id, user_id=user_id, services=services,
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


def away_command(args, *, ack, body, client, respond, team_id, user_id, services) -> None:
    """`/cadence away <from> <to>` or `/cadence away off`: short, so it acts at once."""
    spec = spec_for("away")
    if args[:1] == ("off",) and len(args) == 1:
        with services.db.session() as session:
            changed = away.clear_away(
                session=session, team_id=team_id, user_id=user_id, today=clock.now().date()
            )
        ack(**plain_message("Welcome back: you will get check-ins again." if changed
                            else "You were not marked away."))  # fmt: skip
        return
    if len(args) != 2:
        ack(**usage_reply("Give the first and last day away, or `off`.", spec))
        return
    try:
        starts, ends = away.parse_day(args[0]), away.parse_day(args[1])
        with services.db.session() as session:
            away.set_away(
                session=session, team_id=team_id, user_id=user_id, starts=starts, ends=ends,
                now=clock.now(),
            )  # fmt: skip
    except UserError as e:
        ack(**usage_reply(e.message, spec))
        return
    ack(
        **plain_message(
            f"You are away from {starts:%a %d %b %Y} to {ends:%a %d %b %Y}: no check-ins, and "
            "reports show you as away, not missing. `/cadence away off` ends it early."
        )
    )


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
            payload = engagement_list(engagements.list_all(session=session, team_id=team_id))
        respond(**payload, response_type="ephemeral")
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


ROUTES = {
    "schedule": cadence_handlers.schedule_command,
    "cadences": cadence_handlers.cadences_command,
    "away": away_command,
    "update": answers.update_command,
    "feedback": answers.feedback_command,
}


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
