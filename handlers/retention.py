"""`/cadence retention`: how long this workspace keeps answers and audit events; its stewards
change it (`bot/domain/retention.py` holds the rules, the engine deletes what is past it)."""

from __future__ import annotations

from bot.blocks.common import plain_message
from bot.domain import retention, roles
from handlers.context import Command

CHANGE = (
    "The workspace's stewards change it with `/cadence retention answers <days>|forever` or "
    "`/cadence retention audit <days>|forever`."
)


def retention_command(cmd: Command) -> None:
    """Without arguments: the settings, to anyone. With them: a steward's change, audited."""
    req = cmd.req
    if not cmd.args:
        with req.read() as session:
            setting = retention.setting_of(session, team_id=req.team_id)
        cmd.ack(
            **plain_message(
                "How long Cadence keeps what it stores in this workspace:\n"
                f"{retention.describe(setting)}\n{CHANGE}"
            )
        )
        return
    what, days = retention.parse(cmd.args)  # a UserError is the person's to fix
    actor = req.actor(cmd.client)
    roles.require_steward(actor, retention.DOING)
    with req.change() as session:
        setting = retention.save(
            session, team_id=req.team_id, actor=actor, what=what, days=days, now=req.now
        )
    text = f"Saved. {retention.describe(setting)}"
    warning = retention.trend_warning(days) if what == retention.ANSWERS else None
    if warning:
        text += f"\n{warning}"
    if days is not None:
        text += "\nWhat is older is deleted in batches by the scheduler, from its next pass."
    cmd.ack(**plain_message(text))
