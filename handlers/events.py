"""Events: the App Home tab shows a person the engagements they are part of."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks.home import home_view
from bot.domain import checkins, engagements
from bot.platform.services import Services
from handlers.guard import guarded
from handlers.workspace import workspace_id


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    @guarded
    def app_home_opened(event: dict, client: WebClient, context, body: dict) -> None:
        if event.get("tab") != "home":
            return
        user_id = event["user"]
        with services.db.read_session() as session:
            mine = engagements.list_for_person(
                session=session, team_id=workspace_id(context, body), user_id=user_id
            )
            waiting = checkins.waiting_on(
                session=session, team_id=workspace_id(context, body), user_id=user_id
            )
        client.views_publish(user_id=user_id, view=home_view(user_id, mine, waiting))
