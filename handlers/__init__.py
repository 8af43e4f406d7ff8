"""Slack listeners, thin: parse → call bot/ → render with bot/blocks.

This is the one table of bindings: every Slack ID this app answers, and the listener that
answers it (the modal forms come from `form_specs.py`, one spec per form). Each listener is
wrapped in the error guard here, and every request first passes the request-context
middleware (workspace, actor, now, services, outbox).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.blocks.assurance import ASSURANCE_BUTTON
from bot.blocks.assurance import LIST_MENU as ASSURANCE_MENU
from bot.blocks.assurance import MORE_BUTTON as ASSURANCE_MORE
from bot.blocks.cadences import CADENCE_BUTTON, RULE_ACTION_PREFIX
from bot.blocks.checkins import ANSWER_ACTION
from bot.blocks.concerns import CONCERN_BUTTON, LIST_MENU, RAISE_SHORTCUT
from bot.blocks.deliverables import DELIVERABLE_BUTTON, MORE_BUTTON
from bot.blocks.deliverables import LIST_MENU as DELIVERABLE_MENU
from bot.blocks.engagements import ARCHIVE_CANCEL, ARCHIVE_CONFIRM
from bot.blocks.health import HEALTH_ACTION
from bot.blocks.question_editor import (
    KIND_ACTION,
    QUESTION_ADD,
    QUESTION_MENU,
    QUESTION_TEMPLATE,
)
from bot.blocks.roundup import NOTIFY_ACTION
from bot.blocks.updates import BLOCKER_CONCERN_ACTION, EDIT_ACTION
from bot.engine.outbox_sender import Outbox
from bot.platform.services import Services
from handlers import (
    answers,
    assurance,
    cadences,
    commands,
    concerns,
    deliverables,
    engagements,
    form_specs,
    forms,
    home,
    messages,
    questions,
    status,
    workflow_steps,
    workspace_events,
)
from handlers.context import request_context
from handlers.guard import guarded

Listener = Callable[..., Any]

COMMANDS: dict[str, Listener] = {"/cadence": commands.cadence}
# Bolt tries each listener in the order bound, building each one's matcher arguments by name,
# until one matches: the prompt's answer button, the most frequent click, is tried first.
ACTIONS: dict[str | re.Pattern, Listener] = {
    ANSWER_ACTION: form_specs.checkin_answer,
    ARCHIVE_CONFIRM: engagements.archive_confirm,
    ARCHIVE_CANCEL: engagements.archive_cancel,
    re.compile(f"^{RULE_ACTION_PREFIX}"): cadences.rule_changed,
    re.compile(f"^{CADENCE_BUTTON}:"): cadences.cadence_button,
    EDIT_ACTION: answers.status_update_edit,
    re.compile(f"^{CONCERN_BUTTON}:"): concerns.concern_button,
    LIST_MENU: concerns.concern_menu,
    BLOCKER_CONCERN_ACTION: concerns.raise_from_blocker,
    re.compile(f"^{DELIVERABLE_BUTTON}:"): deliverables.deliverable_button,
    DELIVERABLE_MENU: deliverables.deliverable_menu,
    MORE_BUTTON: deliverables.next_page,
    re.compile(f"^{ASSURANCE_BUTTON}:"): assurance.assurance_button,
    ASSURANCE_MENU: assurance.assurance_menu,
    ASSURANCE_MORE: assurance.next_page,
    re.compile(f"^{HEALTH_ACTION}(:|$)"): status.health_card_action,
    QUESTION_MENU: questions.question_menu,
    QUESTION_ADD: questions.question_add,
    QUESTION_TEMPLATE: questions.question_template,
    KIND_ACTION: questions.question_kind,
    NOTIFY_ACTION: home.notify_changed,
}
VIEWS: dict[str, Listener] = form_specs.VIEWS  # every modal form, one spec each
EVENTS: dict[str, Listener] = {
    "app_home_opened": home.app_home_opened,
    "message": messages.direct_message,  # typed in the Messages tab (IM only)
    "app_uninstalled": workspace_events.app_uninstalled,
    "tokens_revoked": workspace_events.tokens_revoked,
}
SHORTCUTS: dict[str, Listener] = {RAISE_SHORTCUT: concerns.raise_from_message}
# A modal closed (view_closed): no view of Cadence's asks for it (notify_on_close), so one that
# comes anyway is only acknowledged, whatever its callback id (Bolt would answer 404).
CLOSED_VIEWS: dict[str | re.Pattern, Listener] = {re.compile(".*"): forms.closed}
# Workflow Builder steps (Bolt's custom functions), by callback id: manifest.yml's `functions`.
FUNCTIONS: dict[str, Listener] = workflow_steps.FUNCTIONS


def register_listeners(app: App, services: Services, outbox: Outbox) -> None:
    app.middleware(request_context(services, outbox))
    for name, listener in COMMANDS.items():
        app.command(name)(guarded(listener))
    for action_id, listener in ACTIONS.items():
        app.action(action_id)(guarded(listener))
    for callback_id, listener in VIEWS.items():
        app.view(callback_id)(guarded(listener))
    for event, listener in EVENTS.items():
        app.event(event)(guarded(listener))
    for callback_id, listener in CLOSED_VIEWS.items():
        app.view_closed(callback_id)(guarded(listener))
    for callback_id, listener in SHORTCUTS.items():
        app.shortcut(callback_id)(guarded(listener))
    for callback_id, listener in FUNCTIONS.items():
        app.function(callback_id)(guarded(listener))
