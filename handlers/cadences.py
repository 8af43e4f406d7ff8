"""Cadence listeners: `/cadence schedule|cadences|pause|resume|skip|delete`, the schedule form
(with a live preview of the next runs), and the list's buttons."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.cadences import (
    MAX_LISTED,
    RULE_ACTION_PREFIX,
    cadence_list,
    cadence_modal,
    delete_confirmation,
    preview_text,
)
from bot.blocks.common import escape, plain_message
from bot.blocks.help import usage_reply
from bot.domain import cadences, engagements, moments
from bot.domain.errors import FieldErrors, UserError
from bot.engine import outbox
from handlers import questions
from handlers.context import Command, Request
from handlers.forms import (
    button_id,
    metadata_id,
    metadata_of,
    open_view,
    read_state,
    save_form,
    state_of,
)
from storage.models import Cadence

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


def render_form(
    values: dict[str, Any], metadata: dict[str, Any], name: str, now: datetime
) -> dict[str, Any]:
    """The form with a preview of the next five runs (or what is wrong with the rule)."""
    tz = values.get("timezone") or metadata.get("timezone") or "UTC"
    values = {**values, "timezone": tz}
    problem, upcoming = None, None
    try:
        data = cadences.validate(
            {**values, "kind": values.get("kind") or "status_update", "window_hours": 1},
            default_timezone=tz,
            now=now,
        )
        upcoming = cadences.preview(data, now)
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


def schedule_command(cmd: Command) -> None:
    if not cmd.rest:
        cmd.ack(**usage_reply("Say which engagement to schedule.", cmd.spec))
        return
    cmd.ack()
    req = cmd.req
    with req.read() as session:
        details = engagements.find(
            session=session, team_id=req.team_id, handle=cmd.rest, only_for=req.only_for
        )
    engagements.require_manager(details, req.user_id, req.admins)
    metadata = {"engagement_id": details.id, "timezone": details.engagement.timezone}
    open_view(cmd.client, cmd.body, render_form({}, metadata, details.engagement.name, req.now))


def cadences_command(cmd: Command) -> None:
    cmd.ack()
    req = cmd.req
    with req.read() as session:
        scope = "in this workspace"
        engagement_id = None
        if cmd.rest:
            details = engagements.find(
                session=session, team_id=req.team_id, handle=cmd.rest, only_for=req.only_for
            )
            engagement_id, scope = details.id, f"for {details.engagement.name}"
        found = cadences.page(
            session=session,
            team_id=req.team_id,
            limit=MAX_LISTED,
            engagement_id=engagement_id,
            only_for=req.only_for,  # another organisation's person: only their engagements'
        )
    payload = cadence_list(found.rows, req.now, scope=scope, total=found.total)
    cmd.respond(**payload, response_type="ephemeral")


def lifecycle_command(cmd: Command) -> None:
    """`/cadence pause|resume|skip|delete <cadence>`; deleting asks first, as the button does."""
    name = cmd.words[0]
    if not cmd.args:
        cmd.ack(**usage_reply(f"Say which cadence to {name}, by its number.", cmd.spec))
        return
    cmd.ack()
    req = cmd.req
    if name == "delete":
        with req.read() as session:
            cadence = cadences.find(session=session, team_id=req.team_id, ref=cmd.args[0])
            details = engagements.get(
                session=session, team_id=req.team_id, engagement_id=cadence.engagement_id
            )
            engagements.require_manager(details, req.user_id, req.admins)
            payload = delete_confirmation(cadence, details.engagement, req.now)
        cmd.respond(**payload, response_type="ephemeral")
        return
    text = change_lifecycle(req, name, cmd.args[0])
    cmd.respond(**plain_message(text), response_type="ephemeral")


def change_lifecycle(req: Request, name: str, ref: str) -> str:
    common = {"team_id": req.team_id, "actor": req.user_id, "ref": ref, "now": req.now,
              "admins": req.admins}  # fmt: skip
    with req.change() as session:
        if name == "pause":
            cadence = cadences.pause(session=session, **common)
            return (
                f"Paused cadence #{cadence.id}: no prompt, reminder or escalation goes out until "
                "it is resumed. A check-in still open closes when its window ends, without alerts."
            )
        if name == "resume":
            cadence = cadences.resume(session=session, **common)
            return f"Resumed cadence #{cadence.id}; next run {_next(cadence)}."
        if name == "skip":
            cadence, skipped = cadences.skip_next(session=session, **common)
            return (
                f"Skipped the {_slot(cadence, skipped)} occurrence of cadence #{cadence.id}; "
                f"next run {_next(cadence)}."
            )
        cadence = cadences.delete(session=session, **common)
        return f"Deleted cadence #{cadence.id}; its history is kept."


def _slot(cadence: Cadence, key: str) -> str:
    """The occurrence skipped, as its schedule names it (the cadence's zone)."""
    return moments.slot(key, cadence.timezone, each_person=cadence.recipient_local_time)


def _id(metadata: dict[str, Any], key: str) -> int:
    """An id the form must carry (re-checked in the database by the caller)."""
    value = metadata_id(metadata, key)
    if value is None:
        raise UserError("This form is damaged; open it again.")
    return value


def _next(cadence) -> str:
    return moments.moment(cadence.next_run_at, cadence.timezone) if cadence.next_run_at else "none"


# --- the schedule form -------------------------------------------------------------------------


def rule_changed(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """Refresh the preview when the rule changes (`views.update` with the view's hash, so a
    stale refresh is refused rather than overwriting newer input)."""
    ack()
    req = Request.of(context)
    view = body["view"]
    metadata = metadata_of(view.get("private_metadata"))
    values, _ = form_values(state_of(view))
    values.update(form_values(action_state(body["actions"][0]))[0])
    with req.read() as session:
        details = engagements.get(
            session=session, team_id=req.team_id, engagement_id=_id(metadata, "engagement_id")
        )
    # private_metadata is a hint: the preview names the engagement and reads its schedule, so
    # it is drawn only for someone who may manage it (as opening and saving the form check).
    engagements.require_manager(details, req.user_id, req.admins)
    try:
        client.views_update(
            view_id=view["id"],
            hash=view["hash"],
            view=render_form(values, metadata, details.engagement.name, req.now),
        )
    except SlackApiError as e:
        log.info("preview refresh skipped: %s", e.response.get("error"))


def cadence_form(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    req = Request.of(context)
    metadata = metadata_of(view.get("private_metadata"))
    values, blocks = form_values(state_of(view))

    def save() -> bool:
        engagement_id = _id(metadata, "engagement_id")
        with req.change() as session:
            details = engagements.get(
                session=session, team_id=req.team_id, engagement_id=engagement_id
            )
            data = cadences.validate(
                values, default_timezone=details.engagement.timezone, now=req.now
            )
            common = {"session": session, "team_id": req.team_id, "actor": req.user_id,
                      "data": data, "now": req.now, "admins": req.admins}  # fmt: skip
            if "cadence_id" in metadata:
                cadence = cadences.update(cadence_id=_id(metadata, "cadence_id"), **common)
                if cadence.engagement_id != engagement_id:
                    raise UserError("This form is damaged; open it again.")
            else:
                cadence = cadences.create(engagement_id=engagement_id, **common)
            outbox.confirmation(
                session,
                team_id=req.team_id,
                to=req.user_id,
                text=(
                    f"{'Saved' if 'cadence_id' in metadata else 'Added'} cadence #{cadence.id} "
                    f"for {escape(details.engagement.name)}: next run {_next(cadence)}."
                ),
                request=req.delivery,
                now=req.now,
            )
        return True

    if save_form(ack, blocks, "kind", save):
        ack()


# --- the list's buttons ------------------------------------------------------------------------


def cadence_button(ack: Ack, body: dict, client: WebClient, respond: Respond, context) -> None:
    ack()
    req = Request.of(context)
    action = body["actions"][0]
    name = action["action_id"].split(":", 1)[1]
    ref = str(action.get("value") or "")
    if name == "edit":
        with req.read() as session:
            cadence = cadences.find(session=session, team_id=req.team_id, ref=ref)
            details = engagements.get(
                session=session, team_id=req.team_id, engagement_id=cadence.engagement_id
            )
            engagements.require_manager(details, req.user_id, req.admins)
            values = values_of(cadence)
        metadata = {"engagement_id": details.id, "cadence_id": cadence.id,
                    "timezone": details.engagement.timezone}  # fmt: skip
        open_view(client, body, render_form(values, metadata, details.engagement.name, req.now))
        return
    if name == "questions":  # the cadence's own questions, in a modal (checked there)
        cadence_id = button_id(body, "That button is out of date.")
        questions.open_list(req, client, body, engagement_id=None, cadence_id=cadence_id)
        return
    if name == "cancel":
        respond(delete_original=True)
        return
    if name not in LIFECYCLE:
        raise UserError("That button is out of date; run `/cadence cadences` again.")
    text = change_lifecycle(req, name, ref)
    respond(**plain_message(text), response_type="ephemeral", replace_original=False)
