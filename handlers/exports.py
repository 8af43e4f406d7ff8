"""`/cadence export <eng> [from] [to]`: a lead's copy of an engagement's record, built as a job
and sent to them as a file; the command itself only checks and acknowledges."""

from __future__ import annotations

from bot.blocks.common import escape, plain_message
from bot.blocks.help import usage_reply
from bot.domain import engagements, moments
from bot.domain.errors import UserError
from bot.domain.export import parse_range
from bot.engine import outbox
from handlers.context import Command


def export_command(cmd: Command) -> None:
    if not cmd.args:
        cmd.ack(**usage_reply("Say which engagement to export.", cmd.spec))
        return
    req = cmd.req
    try:
        start, end = parse_range(cmd.args[1:], today=req.now.date())
        with req.change() as session:
            details = engagements.find(
                session=session, team_id=req.team_id, handle=cmd.args[0], only_for=req.only_for
            )
            engagements.require_manager(details, req.user_id, req.admins)
            outbox.export_requested(
                session, team_id=req.team_id, requester=req.user_id, engagement_id=details.id,
                start=start, end=end, request=req.delivery, now=req.now,
            )  # fmt: skip
    except UserError as e:
        cmd.ack(**usage_reply(e.message, cmd.spec))
        return
    span = f"{moments.day(start)} to {moments.day(end)}" if start and end else "its whole history"
    cmd.ack(
        **plain_message(
            f"Exporting {escape(details.engagement.name)} for {span}: the CSV files arrive in a zip "
            "in your DM with Cadence in a moment."
        )
    )
