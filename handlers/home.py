"""The App Home tab: the engagements a person is part of and the check-ins waiting for them."""

from __future__ import annotations

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.blocks.home import MAX_HOME_CONCERNS, home_view
from bot.domain import checkins, concerns, engagements
from handlers.context import Request


def app_home_opened(event: dict, client: WebClient, context: BoltContext) -> None:
    if event.get("tab") != "home":
        return
    req = Request.of(context)
    user_id = event["user"]
    with req.read() as session:
        mine = engagements.list_for_person(session=session, team_id=req.team_id, user_id=user_id)
        waiting = checkins.waiting_on(session=session, team_id=req.team_id, user_id=user_id)
        open_concerns = concerns.list_open(
            session=session, team_id=req.team_id, person=user_id, limit=MAX_HOME_CONCERNS
        )
    client.views_publish(
        user_id=user_id, view=home_view(user_id, mine, waiting, open_concerns, req.now)
    )
