"""A workspace uninstalls Cadence or revokes its bot token (`app_uninstalled`,
`tokens_revoked`): stop everything Cadence would still send there, keep its data.

With several workspaces (OAuth), the workspace is marked so planning skips it, its pending jobs
are cancelled and its installation's tokens deleted; installing Cadence again takes it up again
(`bot/entry/app.py`), and `python -m bot forget-workspace <team_id>` deletes its data. With one
token (SLACK_BOT_TOKEN) the deployment's only token is gone: pending jobs are cancelled, but the
workspace is not marked, since no install flow would ever clear the mark; a new token and a
restart take it up again.
"""

from __future__ import annotations

import logging

from slack_bolt import BoltContext

from handlers.context import Request
from storage import installations

log = logging.getLogger(__name__)


def app_uninstalled(event: dict, context: BoltContext) -> None:
    _stop(Request.of(context), why="uninstalled Cadence")


def tokens_revoked(event: dict, context: BoltContext) -> None:
    """Only the bot token matters to Cadence (it asks for no user token)."""
    if (event.get("tokens") or {}).get("bot"):
        _stop(Request.of(context), why="revoked Cadence's bot token")


def _stop(req: Request, *, why: str) -> None:
    with req.change() as session:
        if req.services.settings.oauth:
            stopped = installations.uninstall(session, team_id=req.team_id, now=req.now)
        else:
            stopped = installations.Uninstalled(
                jobs_cancelled=installations.cancel_pending(
                    session, team_id=req.team_id, now=req.now
                ),
                tokens_deleted=0,
            )
    req.services.tokens.forget(req.team_id)
    log.warning(
        "workspace %s %s: %s pending jobs cancelled, %s token rows deleted; its data is kept "
        "until `python -m bot forget-workspace %s`",
        req.team_id,
        why,
        stopped.jobs_cancelled,
        stopped.tokens_deleted,
        req.team_id,
    )
