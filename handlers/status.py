"""`/cadence status <eng>` and the health-card button: an engagement's health card, privately
to the person asking; and the card's own buttons (give an update, raise a concern, see
concerns).

Who may see a card: the engagement's people (any role, Slack Connect people included) and
Cadence admins; for the button, also anyone clicking it in the engagement's digest channel.
Anyone else is refused without a word about the engagement.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.blocks.concerns import MAX_LISTED, concern_list, concern_modal
from bot.blocks.health import (
    CONCERN_BUTTON,
    CONCERNS_BUTTON,
    HEALTH_ACTION,
    UPDATE_BUTTON,
    health_card,
    refusal,
)
from bot.blocks.help import usage_reply
from bot.blocks.updates import update_modal
from bot.domain import concerns, engagements, figures, health, updates, workspaces
from bot.domain.engagements import EngagementDetails
from bot.domain.errors import NotAllowed, UserError
from handlers.context import Command, Request
from handlers.forms import button_id, open_view


def card_for(session: Session, req: Request, details: EngagementDetails) -> dict[str, Any]:
    """The card as its reader sees it: the figures as computed, and the other facts; the
    buttons only for the engagement's people and admins, while it is not archived."""
    loaded = figures.load(
        session,
        team_id=req.team_id,
        engagement_ids=[details.id],
        now=req.now,
        weeks=figures.TREND_WEEKS,
    )
    found = figures.compute(loaded, now=req.now, weeks=figures.TREND_WEEKS)[details.id]
    extra = health.load(session, team_id=req.team_id, engagement_ids=[details.id], now=req.now)
    member = health.may_see(details, req.user_id, req.admins)
    return health_card(
        found, extra[details.id], now=req.now, buttons=member and not extra[details.id].archived
    )


def status_command(cmd: Command) -> None:
    """`/cadence status <eng>`: who asks is checked at once; the card follows the ack."""
    if not cmd.rest:
        cmd.ack(**usage_reply("Say which engagement's health card to show.", cmd.spec))
        return
    req = cmd.req
    try:
        with req.read() as session:
            details = engagements.find(
                session=session,
                team_id=req.team_id,
                handle=cmd.rest,
                include_archived=True,
                only_for=req.only_for,
            )
    except UserError as e:
        cmd.ack(**usage_reply(e.message, cmd.spec))
        return
    if not health.may_see(details, req.user_id, req.admins):
        cmd.ack(**refusal())
        return
    cmd.ack()
    with req.read() as session:
        card = card_for(session, req, details)
    cmd.respond(**card, response_type="ephemeral")


# --- the buttons ---------------------------------------------------------------------------------


def health_card_action(
    ack: Ack, body: dict, client: WebClient, respond: Respond, context: BoltContext
) -> None:
    """The health-card button (`HEALTH_ACTION`) and the card's own buttons (`…:<what>`)."""
    ack()
    req = Request.of(context)
    action = body["actions"][0]
    what = str(action.get("action_id", ""))
    engagement_id = button_id(body, "That button is out of date.")
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    reply: dict[str, Any] | None = None
    view: dict[str, Any] | None = None
    with req.read() as session:
        details = engagements.get(session=session, team_id=req.team_id, engagement_id=engagement_id)
        digest = workspaces.digest_channel(
            session, team_id=req.team_id, engagement=details.engagement
        )
        # Reading (the card, the concerns) is open to a digest channel's readers too; acting
        # (an update, a concern) only to the engagement's people and admins.
        reads = what in (HEALTH_ACTION, CONCERNS_BUTTON)
        allowed = health.may_see(
            details,
            req.user_id,
            req.admins,
            channel_id=channel if reads else None,
            digest_channel_id=digest,
        )
        if not allowed:
            reply = refusal()
        elif what == HEALTH_ACTION:
            reply = card_for(session, req, details)
        elif what == CONCERNS_BUTTON:
            page = concerns.list_open(
                session=session, team_id=req.team_id, engagement_id=details.id, limit=MAX_LISTED
            )
            reply = concern_list(page, req.now, scope=f"on {details.engagement.name}")
        elif what == UPDATE_BUTTON:
            view = update_modal(
                updates.form_for_person(
                    session=session,
                    team_id=req.team_id,
                    handle=details.engagement.handle,
                    user_id=req.user_id,
                    admins=req.admins,
                    now=req.now,
                )
            )
        elif what == CONCERN_BUTTON:
            concerns.require_member(details, req.user_id, req.admins)
            view = concern_modal(
                private_metadata={"engagement_id": details.id, "source": "command"},
                engagement_name=details.engagement.name,
                owner=details.vendor_contacts[0] if details.vendor_contacts else None,
            )
        else:
            raise NotAllowed("That button is out of date; run `/cadence status` again.")
    if reply is not None:
        _reply(client, body, respond, reply)
    elif view is not None:
        open_view(client, body, view)


def _reply(client: WebClient, body: dict[str, Any], respond: Respond, payload: dict) -> None:
    """Privately to the person who clicked: ephemeral where the click came from a message,
    else (a button in a view, such as the Home tab) in their DM with Cadence."""
    if body.get("response_url"):
        respond(**payload, response_type="ephemeral", replace_original=False)
        return
    user = (body.get("user") or {}).get("id") or ""
    client.chat_postMessage(channel=user, **payload)
