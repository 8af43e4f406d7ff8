"""`/cadence digest schedule`: the form that says when the weekly executive digest goes out and
where, and its submission. The digest itself (building, posting, preview) is elsewhere."""

from __future__ import annotations

import logging

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.digest_schedule import schedule_modal, schedule_summary
from bot.domain import workspaces
from bot.engine import outbox
from bot.platform.slack import user_timezone
from handlers.context import Command, Request
from handlers.forms import open_view, read_state, save_form, state_of

log = logging.getLogger(__name__)


def schedule_command(cmd: Command) -> None:
    """Check who asks, open the form with what is stored; while the schedule is still the
    default, fill in the person's own time zone after opening (the trigger expires in 3 s)."""
    cmd.ack()
    req = cmd.req
    workspaces.require_scheduler(req.actor(cmd.client))
    with req.read() as session:
        workspace = workspaces.stored_or_default(session, team_id=req.team_id)
        still_default = (
            workspace.digest_timezone == workspaces.DEFAULT_TIMEZONE
            and not workspaces.schedule_saved(session, team_id=req.team_id)
        )
    stored = workspaces.DigestSchedule.of(workspace)
    opened = open_view(
        cmd.client,
        cmd.body,
        schedule_modal(workspace, upcoming=workspaces.upcoming(stored, req.now)),
    )
    if opened is None or not still_default:
        return
    zone = workspaces.canonical_timezone(user_timezone(cmd.client, req.user_id) or "")
    if zone is None or zone == stored.timezone:
        return
    shown = workspaces.DigestSchedule(stored.weekdays, stored.local_time, zone, stored.channel_id)
    try:
        cmd.client.views_update(
            view_id=opened["id"],
            hash=opened["hash"],
            view=schedule_modal(
                workspace, upcoming=workspaces.upcoming(shown, req.now), timezone=zone
            ),
        )
    except SlackApiError as e:  # the person already changed the form: leave it alone
        log.info("could not fill in the time zone: %s", e.response.get("error"))


def schedule_submitted(ack: Ack, view: dict, client: WebClient, context: BoltContext) -> None:
    """Validate, save (who may is checked again here, in the transaction), close the form and
    confirm by DM through the outbox, once per submission."""
    req = Request.of(context)
    values, blocks = read_state(state_of(view))

    def save() -> bool:
        schedule = workspaces.validate_schedule(values)
        actor = req.actor(client)
        with req.change() as session:
            workspace = workspaces.save_schedule(
                session, team_id=req.team_id, actor=actor, schedule=schedule, now=req.now
            )
            outbox.confirmation(
                session,
                team_id=req.team_id,
                to=req.user_id,
                text=schedule_summary(workspace),
                request=req.delivery,
                now=req.now,
            )
        return True

    if save_form(ack, blocks, "weekdays", save):
        ack()
