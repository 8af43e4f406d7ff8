"""The App Home tab: the engagements a person is part of and the check-ins waiting for them.

Opening the tab publishes it directly (views.publish is the direct answer to that event, as
views.open is to a click), not through the outbox: people open Home far more often than anything
on it changes, and a job row per opening would grow the job table for nothing. The page is the
same one the `HOME` job publishes after a change (`bot/engine/home_jobs.home_page`), read with a
fixed number of queries. The first opening is recorded (in `req.change()`), so that from then on
changes that show there republish it through the outbox; later openings only read.
"""

from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.domain import home, notifications
from bot.engine.home_jobs import home_page
from handlers.context import Request


def app_home_opened(event: dict, client: WebClient, context: BoltContext) -> None:
    if event.get("tab") != "home":
        return
    req = Request.of(context)
    user_id = event["user"]
    view = None
    with req.read() as session:
        if home.has_opened(session, team_id=req.team_id, user_id=user_id):
            view = home_page(session, team_id=req.team_id, user_id=user_id, now=req.now)
    if view is None:  # the first time: recorded before the page is read, so no change is missed
        with req.change() as session:
            home.opened(session, team_id=req.team_id, user_id=user_id, now=req.now)
            view = home_page(session, team_id=req.team_id, user_id=user_id, now=req.now)
    client.views_publish(user_id=user_id, view=view)


def notify_changed(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """The Home tab's choice of how the person hears of answers (each, a daily round-up, only
    summaries): their own, recorded at once; the tab is published again showing it."""
    ack()
    req = Request.of(context)
    chosen = (body["actions"][0].get("selected_option") or {}).get("value") or ""
    with req.change() as session:
        notifications.choose(
            session, team_id=req.team_id, user_id=req.user_id, mode=chosen, now=req.now
        )
        view = home_page(session, team_id=req.team_id, user_id=req.user_id, now=req.now)
    client.views_publish(user_id=req.user_id, view=view)
