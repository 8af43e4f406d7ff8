"""`/cadence digest preview` and `/cadence digest send`: the digest, now. The command checks
who may, plans the digest as engine jobs and acknowledges; the build runs on the engine's
threads (`bot/engine/digests.py`; planned by `digest_plans.py`), never on the thread that acknowledges requests."""

from __future__ import annotations

from bot.blocks.common import channel_link, plain_message
from bot.blocks.help import usage_reply
from bot.domain import roles, workspaces
from bot.domain.errors import NotAllowed
from bot.engine import digest_plans
from handlers.context import Command
from storage import job_keys


def preview_command(cmd: Command) -> None:
    """The digest of the last seven days for the engagements the person may see, to them only."""
    if cmd.args:
        cmd.ack(**usage_reply("`digest preview` takes nothing after it.", cmd.spec))
        return
    req = cmd.req
    with req.change() as session:
        ids = workspaces.visible_engagements(
            session, team_id=req.team_id, user_id=req.user_id, admins=req.admins
        )
        if ids:
            digest_plans.plan_preview(
                session, team_id=req.team_id, to=req.user_id, engagement_ids=ids,
                request=req.delivery, now=req.now,
            )  # fmt: skip
    if not ids:
        cmd.ack(
            **plain_message(
                "You are not part of any engagement, so there is nothing of yours to preview. "
                "The weekly digest goes to each engagement's digest channel."
            )
        )
        return
    count = f"{len(ids)} engagement{'s' if len(ids) != 1 else ''}"
    cmd.ack(
        **plain_message(
            f"Building the digest of {count} for the last seven days: it arrives in your DM "
            "with Cadence in a moment, with its chart. Only you see it."
        )
    )


def send_command(cmd: Command) -> None:
    """Post the digest to every digest channel now: the workspace's stewards, at most once per
    `workspaces.MANUAL_SEND_GAP` (it reaches every digest channel)."""
    if cmd.args:
        cmd.ack(**usage_reply("`digest send` takes nothing after it.", cmd.spec))
        return
    req = cmd.req
    try:
        actor = req.actor(cmd.client)
        roles.require_steward(actor, "post the digest now")
        with req.change() as session:
            routes = workspaces.digest_routes(session, team_id=req.team_id)
            if routes:
                workspaces.claim_manual_send(session, team_id=req.team_id, actor=actor, now=req.now)
                digest_plans.plan_digest(
                    session,
                    team_id=req.team_id,
                    key=job_keys.digest_sent_now(req.team_id, req.delivery),
                    now=req.now,
                )
    except NotAllowed as e:
        cmd.ack(**plain_message(e.message))
        return
    if not routes:
        cmd.ack(
            **plain_message(
                "There is no digest channel yet: choose one with `/cadence digest schedule`, "
                "or give an engagement its own on its form (`/cadence engagement edit`)."
            )
        )
        return
    where = ", ".join(channel_link(c) for c in routes)
    cmd.ack(**plain_message(f"Posting the digest to {where} now, with its chart."))
