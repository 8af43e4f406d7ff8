"""Slack listeners, thin: parse → call bot/ → render with bot/blocks. Every binding is here."""

from __future__ import annotations

from slack_bolt import App

from bot.platform.services import Services
from handlers import actions, answers, cadences, commands, events, shortcuts, views


def register_listeners(app: App, services: Services) -> None:
    commands.register(app, services)
    cadences.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    events.register(app, services)
    shortcuts.register(app, services)
    answers.register(app, services)
