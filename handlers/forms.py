"""Reading a submitted modal's `state.values` into plain values by action_id."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.help import usage_reply
from bot.domain import engagements
from bot.domain.errors import FieldErrors, UserError
from handlers.context import Command
from storage.deadline import DatabaseUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)
DATABASE_AWAY_ON_FORM = (
    "Could not save: Cadence's database did not answer in time. Please try again in a minute; "
    "what you typed is still here."
)

VALUE_KEYS = {
    "plain_text_input": "value",
    "number_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}


class DamagedForm(UserError):
    """A submission whose structure Slack would never send (tampered or broken on the way):
    said plainly, never the apology for an error of Cadence's own."""

    def __init__(self) -> None:
        super().__init__("This form is damaged; run the command again.")


def closed(ack: Callable[[], Any]) -> None:
    """A modal closed without being submitted (view_closed): nothing was asked, nothing to do
    but acknowledge it (https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload)."""
    ack()


def state_of(view: Any) -> dict[str, Any]:
    """A submitted view's `state.values`, checked for shape: every form listener reads its
    input through this, so a view without state (or with state of another type) is a
    DamagedForm, not a KeyError ending in the apology."""
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict):
        raise DamagedForm()
    return values


def _option_value(option: Any) -> str | None:
    """A chosen option's value; an option that is not Slack's dict counts as nothing chosen,
    so the form's own validation says what to choose (an inline error)."""
    value = option.get("value") if isinstance(option, dict) else None
    return without_nul(value) if isinstance(value, str) else None


def without_nul(text: str) -> str:
    """`text` without NUL characters: PostgreSQL refuses them in any text it stores, and no one
    means one (Slack passes through what a paste or a client put there)."""
    return text.replace("\x00", "")


def read_state(state_values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(values by action_id, block_id by action_id) from Slack's view state.

    Whatever is not shaped as Slack shapes it (an input that is not a dict, a chosen option
    that is not one) reads as empty: validation then names the field to fill in."""
    values: dict[str, Any] = {}
    blocks: dict[str, str] = {}
    if not isinstance(state_values, dict):
        return values, blocks
    for block_id, actions in state_values.items():
        if not isinstance(actions, dict):
            continue
        for action_id, state in actions.items():
            blocks[action_id] = block_id
            if not isinstance(state, dict):
                values[action_id] = None
                continue
            kind = state.get("type")
            if kind in ("static_select", "external_select", "radio_buttons"):
                values[action_id] = _option_value(state.get("selected_option"))
            elif kind in ("multi_static_select", "multi_external_select", "checkboxes"):
                chosen = state.get("selected_options")
                chosen = chosen if isinstance(chosen, list) else []
                values[action_id] = [
                    _option_value(o) for o in chosen if _option_value(o) is not None
                ]
            elif kind == "file_input":
                values[action_id] = _files(state.get("files"))
            else:
                values[action_id] = _typed(state.get(VALUE_KEYS.get(kind, "value")))
    return values, blocks


def _files(files: Any) -> list[dict[str, str]]:
    """A file input's files as Slack describes them (its file objects), kept to what Cadence
    stores: the id, the permalink and the name. The file itself is never downloaded."""
    kept: list[dict[str, str]] = []
    for f in files if isinstance(files, list) else []:
        if isinstance(f, dict) and isinstance(f.get("id"), str):
            kept.append(
                {
                    key: without_nul(f[key]) if isinstance(f.get(key), str) else ""
                    for key in ("id", "permalink", "name")
                }
            )
    return kept


def _typed(value: Any) -> str | list[str] | None:
    """What a person typed or picked is a string (a list of them for a multi-select): any
    other type reads as nothing, so validation names the field rather than choking on it."""
    if isinstance(value, str):
        return without_nul(value)
    if isinstance(value, list):
        return [without_nul(v) for v in value if isinstance(v, str)]
    return None


def first_block(body: dict[str, Any]) -> str | None:
    """The first input block of a submitted form, to carry an error about the whole form."""
    values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
    return next(iter(values), None)


def errors_for_blocks(errors: dict[str, str], blocks: dict[str, str]) -> dict[str, str]:
    """Field errors keyed by block_id, as `response_action: errors` wants them."""
    first_block = next(iter(blocks.values()), "name")
    out: dict[str, str] = {}
    for field, text in errors.items():
        out[blocks.get(field, first_block)] = text[:2000]
    return out


def open_view(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> dict | None:
    """Open a modal with the request's trigger_id (valid once, for 3 s: open first, then work).
    A request without one (Slack always sends it) cannot open anything: said as such."""
    trigger_id = body.get("trigger_id")
    if not isinstance(trigger_id, str) or not trigger_id:
        raise UserError("Slack did not say where to open the form. Please run the command again.")
    try:
        return client.views_open(trigger_id=trigger_id, view=view)["view"]
    except SlackApiError as e:
        if e.response.get("error") in ("expired_trigger_id", "invalid_trigger_id"):
            raise UserError(
                "Slack took too long to open the form (the request expired). Please run the "
                "command again."
            ) from e
        raise


def engagement_for_form(
    cmd: Command,
    missing: str,
    may_open: Callable[[engagements.EngagementDetails, str, Iterable[str]], None],
) -> engagements.EngagementDetails | None:
    """The engagement a form-opening command names first (`/cadence concern <eng> …`), once
    `may_open(details, user_id, admins)` lets the asker open its form. A problem (no
    engagement named, none found, not allowed) is answered with the command's usage and None
    returned; the caller acknowledges success and opens the form."""
    if not cmd.args:
        cmd.ack(**usage_reply(missing, cmd.spec))
        return None
    req = cmd.req
    try:
        with req.read() as session:
            details = engagements.find(
                session=session, team_id=req.team_id, handle=cmd.args[0], only_for=req.only_for
            )
            may_open(details, req.user_id, req.admins)
    except UserError as e:
        cmd.ack(**usage_reply(e.message, cmd.spec))
        return None
    return details


def metadata_of(raw: Any) -> dict[str, Any]:
    """private_metadata is only a hint: every id in it is re-checked against the database.

    None or empty is no hint ({}); anything else that is not a JSON object (another type, text
    that is not JSON) is a DamagedForm: read as {} it could turn an edit form into a new one."""
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, str):
        raise DamagedForm()
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise DamagedForm() from e
    if not isinstance(value, dict):
        raise DamagedForm()
    return value


def metadata_id(metadata: dict[str, Any], key: str) -> int | None:
    """An id from private_metadata, or None; a hint only, the caller re-checks it."""
    value = metadata.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def save_form(ack: Callable[..., Any], blocks: dict[str, str], general_field: str,
              save: Callable[[], T]) -> T | None:  # fmt: skip
    """Run `save` (validation and the write, in one transaction); on a problem the person can
    fix, answer the submission with inline errors and return None. The caller acks success.

    A database that is away or hangs is answered the same way, before Slack's 3 s are up
    (the request's deadline): the form stays open with what was typed, and the person can
    submit it again (a save that did land is found by its view id and not made twice)."""
    try:
        return save()
    except DatabaseUnavailable as e:
        log.warning("a form could not be saved: the database is unavailable (%s)", e)
        errors = errors_for_blocks({general_field: DATABASE_AWAY_ON_FORM}, blocks)
        ack(response_action="errors", errors=errors)
    except FieldErrors as e:
        ack(response_action="errors", errors=errors_for_blocks(e.errors, blocks))
    except UserError as e:  # not allowed, archived, answered already, gone: say so on the form
        ack(response_action="errors", errors=errors_for_blocks({general_field: e.message}, blocks))
    return None


def submit(
    ack: Callable[..., Any],
    view: dict[str, Any],
    change: Callable[[], Any],
    general_field: str | Callable[[dict[str, str]], str],
    save: Callable[[Any, dict[str, Any], dict[str, Any]], T],
) -> T | None:
    """The one submission skeleton of a form that saves in one transaction: read what Slack
    sent (`state.values` by action_id, `private_metadata` as a hint), run `save(session,
    values, metadata)` inside `change()` (a request's `req.change`: acts once per delivery),
    and answer a problem inline on the form (on `general_field` when it names no field of its
    own). Returns what `save` returned, or None when the form was answered with errors; the
    caller acknowledges success (close, or update the view)."""
    values, blocks = read_state(state_of(view))
    metadata = metadata_of(view.get("private_metadata"))

    def run() -> T:
        with change() as session:
            return save(session, values, metadata)

    general = general_field(blocks) if callable(general_field) else general_field
    return save_form(ack, blocks, general, run)


def button_id(body: dict[str, Any], problem: str) -> int:
    """The id a button carries (a hint only: the caller re-checks it in the database). A value
    no id column can hold (past a signed 64-bit integer: SQLite's INTEGER, PostgreSQL's
    BIGINT) is as out of date as text: a forged click gets the same answer, never an error."""
    try:
        found = int(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise UserError(f"{problem} Run the command again.") from e
    if not 0 < found < 2**63:
        raise UserError(f"{problem} Run the command again.")
    return found
