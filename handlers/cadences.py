"""Cadence listeners: `/cadence schedule|cadences|pause|resume|skip|delete`, the schedule form
(with a live preview of the next runs), and the list's buttons."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.cadences import (
    CADENCE_BUTTON,
    CADENCE_MODAL,
    RULE_ACTION_PREFIX,
    cadence_list,
    cadence_modal,
    delete_confirmation,
    preview_text,
)
from bot.blocks.common import plain_message
from bot.blocks.help import usage_reply
from bot.domain import cadences, engagements
from bot.domain.command_reference import spec_for
from bot.domain.errors import FieldErrors, UserError
from bot.platform import clock
from bot.platform.services import Services
from handlers.forms import metadata_id, metadata_of, open_view, read_state, save_form
from handlers.guard import guarded
from handlers.workspace import workspace_id

log = logging.getLogger(__name__)
LIFECYCLE = ("pause", "resume", "skip", "delete")


def form_values(state_values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The schedule form's values by field name (`rule_weekdays` → `weekdays`)."""
    values, blocks = read_state(state_values)

    def name(action_id: str) -> str:
        if action_id == "rule_kind":
            return action_id
        return action_id.removeprefix(RULE_ACTION_PREFIX)

    named_blocks = {name(k): v for k, v in blocks.items()}
    return {name(k): v for k, v in values.items()}, named_blocks


def action_state(action: dict[str, Any]) -> dict[str, Any]:
    """The changed input as view state, in case Slack's state lags behind the action."""
    return {action.get("block_id", ""): {action["action_id"]: action}}


def values_of(cadence) -> dict[str, Any]:
    """A stored cadence as form values, to fill the edit form."""
    data = cadences.as_input(cadence)
    rule = data.rule
    return {
        "kind": data.kind,
        "rule_kind": rule.kind,
        "weekdays": [str(d) for d in rule.weekdays],
        "interval": rule.interval if rule.kind == "every_n_weeks" else None,
        "start_date": rule.start_date.isoformat() if rule.start_date else None,
        "month_day": rule.month_day,
        "nth": rule.nth,
        "weekday": rule.weekday,
        "cron": rule.cron,
        "local_time": data.local_time,
        "timezone": data.timezone,
        "window_hours": data.window_hours,
        "reminder_hours": data.reminder_hours,
        "escalation_hours": data.escalation_hours,
        "escalation_to": list(data.escalation_user_ids),
        "audience": data.audience,
        "audience_users": list(data.audience_user_ids),
        "delivery": data.delivery,
        "options": ["recipient_local_time"] if data.recipient_local_time else [],
    }


def render_form(values: dict[str, Any], metadata: dict[str, Any], name: str) -> dict[str, Any]:
    """The form with a preview of the next five runs (or what is wrong with the rule)."""
    tz = values.get("timezone") or metadata.get("timezone") or "UTC"
    values = {**values, "timezone": tz}
    problem, upcoming = None, None
    try:
        data = cadences.validate(
            {**values, "kind": values.get("kind") or "status_update", "window_hours": 1},
            default_timezone=tz,
            now=clock.now(),
        )
        upcoming = cadences.preview(data, clock.now())
        tz = data.timezone
    except FieldErrors as e:
        rule_fields = {"weekdays", "interval", "start_date", "month_day", "nth", "weekday", "cron",
                       "local_time", "timezone", "rule_kind"}  # fmt: skip
        relevant = [m for k, m in e.errors.items() if k in rule_fields]
        problem = relevant[0] if relevant else None
    return cadence_modal(
        private_metadata=metadata,
        values=values,
        preview=preview_text(upcoming, tz, problem),
        editing="cadence_id" in metadata,
        engagement_name=name,
    )


def schedule_command(args, *, ack, body, client, respond, team_id, user_id, services) -> None:
    handle = " ".join(args)
    if not handle:
        ack(**usage_reply("Say which engagement to schedule.", spec_for("schedule")))
        return
    ack()
    with services.db.read_session() as session:
        details = engagements.find(session=session, team_id=team_id, handle=handle)
    engagements.require_manager(details, user_id, services.admins)
    metadata = {"engagement_id": details.id, "timezone": details.engagement.timezone}
    open_view(client, body, render_form({}, metadata, details.engagement.name))


def cadences_command(args, *, ack, body, client, respond, team_id, user_id, services) -> None:
    ack()
    handle = " ".join(args)
    with services.db.read_session() as session:
        scope = "in this workspace"
        engagement_id = None
        if handle:
            details = engagements.find(session=session, team_id=team_id, handle=handle)
            engagement_id, scope = details.id, f"for {details.engagement.name}"
        rows = cadences.list_all(session=session, team_id=team_id, engagement_id=engagement_id)
        payload = cadence_list(rows, clock.now(), scope=scope)
    respond(**payload, response_type="ephemeral")


def lifecycle_command(name, args, *, ack, body, client, respond, team_id, user_id, services):
    if not args:
        ack(**usage_reply(f"Say which cadence to {name}, by its number.", spec_for("pause")))
        return
    ack()
    if name == "delete":  # deleting asks first, as the list's button does
        with services.db.read_session() as session:
            cadence = cadences.find(session=session, team_id=team_id, ref=args[0])
            details = engagements.get(
                session=session, team_id=team_id, engagement_id=cadence.engagement_id
            )
            engagements.require_manager(details, user_id, services.admins)
            payload = delete_confirmation(cadence, details.engagement, clock.now())
        respond(**payload, response_type="ephemeral")
        return
    text = change_lifecycle(services, name, args[0], team_id=team_id, user_id=user_id)
    respond(**plain_message(text), response_type="ephemeral")


def change_lifecycle(services: Services, name: str, ref: str, *, team_id: str, user_id: str) -> str:
    now = clock.now()
    common = {"team_id": team_id, "actor": user_id, "ref": ref, "now": now,
              "admins": services.admins}  # fmt: skip
    with services.db.session() as session:
        if name == "pause":
            cadence = cadences.pause(session=session, **common)
            return f"Paused cadence #{cadence.id}; its pending messages are cancelled."
        if name == "resume":
            cadence = cadences.resume(session=session, **common)
            return f"Resumed cadence #{cadence.id}; next run {_next(cadence)}."
        if name == "skip":
            cadence, skipped = cadences.skip_next(session=session, **common)
            return (
                f"Skipped the {skipped.replace('T', ' ')} occurrence of cadence #{cadence.id}; "
                f"next run {_next(cadence)}."
            )
        cadence = cadences.delete(session=session, **common)
        return f"Deleted cadence #{cadence.id}; its history is kept."


def _id(metadata: dict[str, Any], key: str) -> int:
    """An id the form must carry (re-checked in the database by the caller)."""
    value = metadata_id(metadata, key)
    if value is None:
        raise UserError("This form is damaged; open it again.")
    return value


def _next(cadence) -> str:
    from bot.blocks.checkins import local

    return local(cadence.next_run_at, cadence.timezone) if cadence.next_run_at else "none"


def register(app: App, services: Services) -> None:
    @app.action(re.compile(f"^{RULE_ACTION_PREFIX}"))
    @guarded
    def rule_changed(ack: Ack, body: dict, client: WebClient, context) -> None:
        """Refresh the preview when the rule changes (`views.update` with the view's hash, so
        a stale refresh is refused rather than overwriting newer input)."""
        ack()
        view = body["view"]
        metadata = metadata_of(view.get("private_metadata"))
        values, _ = form_values(view["state"]["values"])
        values.update(form_values(action_state(body["actions"][0]))[0])
        with services.db.read_session() as session:
            details = engagements.get(
                session=session,
                team_id=workspace_id(context, body),
                engagement_id=int(metadata.get("engagement_id") or 0),
            )
        try:
            client.views_update(
                view_id=view["id"],
                hash=view["hash"],
                view=render_form(values, metadata, details.engagement.name),
            )
        except SlackApiError as e:
            log.info("preview refresh skipped: %s", e.response.get("error"))

    @app.view(CADENCE_MODAL)
    @guarded
    def cadence_form(ack: Ack, body: dict, view: dict, client: WebClient, context) -> None:
        team_id = workspace_id(context, body)
        user_id = body["user"]["id"]
        metadata = metadata_of(view.get("private_metadata"))
        values, blocks = form_values(view["state"]["values"])
        now = clock.now()

        def save() -> str:
            engagement_id = _id(metadata, "engagement_id")
            with services.db.session() as session:
                details = engagements.get(
                    session=session, team_id=team_id, engagement_id=engagement_id
                )
                data = cadences.validate(
                    values, default_timezone=details.engagement.timezone, now=now
                )
                common = {"session": session, "team_id": team_id, "actor": user_id,
                          "data": data, "now": now, "admins": services.admins}  # fmt: skip
                if "cadence_id" in metadata:
                    cadence = cadences.update(cadence_id=_id(metadata, "cadence_id"), **common)
                    if cadence.engagement_id != engagement_id:
                        raise UserError("This form is damaged; open it again.")
                else:
                    cadence = cadences.create(engagement_id=engagement_id, **common)
                return (
                    f"{'Saved' if 'cadence_id' in metadata else 'Added'} cadence #{cadence.id} "
                    f"for {details.engagement.name}: next run {_next(cadence)}."
                )

        summary = save_form(ack, blocks, "kind", save)
        if summary is None:
            return
        ack()
        client.chat_postMessage(channel=user_id, **plain_message(summary))

    @app.action(re.compile(f"^{CADENCE_BUTTON}:"))
    @guarded
    def cadence_button(ack: Ack, body: dict, client: WebClient, respond: Respond, context) -> None:
        ack()
        action = body["actions"][0]
        name = action["action_id"].split(":", 1)[1]
        team_id, user_id = workspace_id(context, body), body["user"]["id"]
        ref = str(action.get("value") or "")
        if name == "edit":
            with services.db.read_session() as session:
                cadence = cadences.find(session=session, team_id=team_id, ref=ref)
                details = engagements.get(
                    session=session, team_id=team_id, engagement_id=cadence.engagement_id
                )
                engagements.require_manager(details, user_id, services.admins)
                values = values_of(cadence)
            metadata = {"engagement_id": details.id, "cadence_id": cadence.id,
                        "timezone": details.engagement.timezone}  # fmt: skip
            open_view(client, body, render_form(values, metadata, details.engagement.name))
            return
        if name == "cancel":
            respond(delete_original=True)
            return
        if name not in LIFECYCLE:
            raise UserError("That button is out of date; run `/cadence cadences` again.")
        text = change_lifecycle(services, name, ref, team_id=team_id, user_id=user_id)
        respond(**plain_message(text), response_type="ephemeral", replace_original=False)
