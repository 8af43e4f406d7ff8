"""Question listeners: `/cadence questions <cadence | eng>`, the cadence list's "Questions"
button, the list modal's menu, "Add a question" and template select, and the editor's
submission. Every click and submit re-reads the cadence or engagement from the database and
checks the actor (`editing.load_scope`); the list is redrawn in place after each change."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.blocks.common import escape
from bot.blocks.help import usage_reply
from bot.blocks.question_editor import KIND_ACTION, question_modal, questions_modal
from bot.domain import cadences, engagements
from bot.domain.command_reference import read_number
from bot.domain.errors import NotFound, UserError
from bot.domain.questions import editing
from bot.domain.questions.definition import definition_of
from bot.domain.questions.editing import NoRoom, OutOfDate, Scope
from bot.domain.questions.templates import TEMPLATES
from handlers.context import Command, Request
from handlers.forms import metadata_id, metadata_of, open_view, read_state, save_form, state_of

log = logging.getLogger(__name__)


# --- the list ----------------------------------------------------------------------------------


def _metadata(scope: Scope) -> dict[str, Any]:
    return {"engagement_id": scope.engagement_id, "cadence_id": scope.cadence_id}


def _intro(scope: Scope) -> str:
    name = escape(scope.details.engagement.name)
    if scope.cadence is None:
        return (
            f"*Default questions of {name}.* Each new cadence of it starts with a copy of "
            "these; a cadence's own are managed with `/cadence questions <cadence number>` or "
            "the Questions button of `/cadence cadences`."
        )
    text = f"*Questions of {escape(scope.describe())} of {name}*, asked after its form's fields."
    if scope.limit == 0:
        text += (
            " Its form is full with its own fields (Slack shows at most 100 blocks in a form), "
            "so it has no room for questions of its own."
        )
    return text


def list_view(session: Session, scope: Scope, notice: str | None = None) -> dict[str, Any]:
    return questions_modal(
        title="Default questions" if scope.cadence is None else "Questions",
        intro=_intro(scope),
        questions=editing.find_current(session, scope),
        limit=scope.limit,
        templates=tuple(TEMPLATES.values()),
        metadata=_metadata(scope),
        notice=notice,
    )


def _scope(session: Session, req: Request, metadata: dict[str, Any]) -> Scope:
    """The scope a view's private_metadata names (a hint), re-read and checked."""
    return editing.load_scope(
        session,
        team_id=req.team_id,
        engagement_id=metadata_id(metadata, "engagement_id"),
        cadence_id=metadata_id(metadata, "cadence_id"),
        actor=req.user_id,
        admins=req.admins,
    )


def open_list(req: Request, client: WebClient, body: dict[str, Any], *,
              engagement_id: int | None, cadence_id: int | None) -> None:  # fmt: skip
    with req.read() as session:
        scope = editing.load_scope(
            session, team_id=req.team_id, engagement_id=engagement_id, cadence_id=cadence_id,
            actor=req.user_id, admins=req.admins,
        )  # fmt: skip
        view = list_view(session, scope)
    open_view(client, body, view)


def questions_command(cmd: Command) -> None:
    """`/cadence questions <cadence number>` (its questions) or `<eng>` (the defaults)."""
    if not cmd.args:
        cmd.ack(**usage_reply("Say which cadence (its number) or engagement.", cmd.spec))
        return
    cmd.ack()
    req = cmd.req
    cadence_id = engagement_id = None
    with req.read() as session:
        if read_number(cmd.args[0]) is not None:
            try:
                cadence_id = cadences.find(session=session, team_id=req.team_id, ref=cmd.args[0]).id
            except NotFound as no_cadence:  # a handle of digits names an engagement
                engagement_id = _engagement(session, req, cmd.rest, no_cadence).id
        else:
            engagement_id = _engagement(session, req, cmd.rest, None).id
    open_list(req, cmd.client, cmd.body, engagement_id=engagement_id, cadence_id=cadence_id)


def _engagement(
    session: Session, req: Request, handle: str, otherwise: NotFound | None
) -> engagements.EngagementDetails:
    """The engagement a handle names (among those the asker may list); when the words were a
    number that named no cadence either, the cadence's "there is no cadence" is said."""
    try:
        return engagements.find(
            session=session, team_id=req.team_id, handle=handle, only_for=req.only_for
        )
    except NotFound:
        if otherwise is not None:
            raise otherwise from None
        raise


def _redraw(req: Request, client: WebClient, view_id: str | None, metadata: dict[str, Any],
            notice: str | None, view_hash: str | None = None) -> None:  # fmt: skip
    """Draw the list again in place, from the database; a stale hash (someone drew it
    since) is retried without one: what is drawn is read now, so it is the newest."""
    if not view_id:
        return
    with req.read() as session:
        fresh = list_view(session, _scope(session, req, metadata), notice)
    try:
        client.views_update(view_id=view_id, hash=view_hash, view=fresh)
    except SlackApiError as e:
        if e.response.get("error") != "hash_conflict":
            raise
        client.views_update(view_id=view_id, view=fresh)


def _editor(scope: Scope, values: dict[str, Any], question_id: int | None) -> dict[str, Any]:
    where = escape(scope.describe())
    intro = (
        f"{'Editing a question of' if question_id else 'A new question for'} {where} of "
        f"*{escape(scope.details.engagement.name)}*."
    )
    if question_id:
        intro += " Answers already given keep the question as it was asked."
    metadata = {**_metadata(scope), "question_id": question_id}
    return question_modal(intro=intro, values=values, metadata=metadata,
                          editing=question_id is not None)  # fmt: skip


def _push(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    trigger_id = body.get("trigger_id")
    if not isinstance(trigger_id, str) or not trigger_id:
        raise UserError("Slack did not say where to open the form. Please try again.")
    client.views_push(trigger_id=trigger_id, view=view)


def question_add(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """The "Add a question" button: the editor, pushed on the list; a full list says so instead."""
    ack()
    req = Request.of(context)
    view = body.get("view") or {}
    metadata = metadata_of(view.get("private_metadata"))
    with req.read() as session:
        scope = _scope(session, req, metadata)
        problem = editing.room_message(scope, len(editing.find_current(session, scope)), 1)
    if problem:
        _redraw(req, client, view.get("id"), metadata, problem, view.get("hash"))
        return
    _push(client, body, _editor(scope, {}, None))


def _chosen(body: dict[str, Any]) -> str:
    action = (body.get("actions") or [{}])[0]
    option = action.get("selected_option") if isinstance(action, dict) else None
    value = option.get("value") if isinstance(option, dict) else None
    if not isinstance(value, str):
        raise UserError("That menu is out of date; open the questions again.")
    return value


def question_menu(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """A question's menu: Edit (the editor, filled in), Move up, Move down, Remove."""
    ack()
    req = Request.of(context)
    view = body.get("view") or {}
    metadata = metadata_of(view.get("private_metadata"))
    what, _, number = _chosen(body).partition(":")
    question_id = int(number) if number.isdecimal() and len(number) < 10 else None
    if what not in ("edit", "up", "down", "remove") or question_id is None:
        raise UserError("That menu is out of date; open the questions again.")
    if what == "edit":
        with req.read() as session:
            scope = _scope(session, req, metadata)
            current = {q.id: q for q in editing.find_current(session, scope)}
            question = current.get(question_id)
            values = editing.values_of(definition_of(question)) if question else None
        if values is None:
            _redraw(req, client, view.get("id"), metadata, OutOfDate().message, view.get("hash"))
            return
        _push(client, body, _editor(scope, values, question_id))
        return
    notice = None
    try:
        with req.change() as session:
            scope = _scope(session, req, metadata)
            common = {"actor": req.user_id, "now": req.now}
            if what == "remove":
                removed = editing.remove(session, scope, question_id, **common)
                notice = f"Removed “{removed.text}”; the answers given to it are kept."
            elif not editing.move(session, scope, question_id, -1 if what == "up" else 1,
                                  **common):  # fmt: skip
                notice = "It is already at that end of the list."
    except OutOfDate as e:
        notice = e.message
    _redraw(req, client, view.get("id"), metadata, notice, view.get("hash"))


def question_template(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """A template chosen: its questions added after the others (all, or none when they do
    not fit, said on the list)."""
    ack()
    req = Request.of(context)
    view = body.get("view") or {}
    metadata = metadata_of(view.get("private_metadata"))
    chosen = TEMPLATES.get(_chosen(body))
    if chosen is None:
        raise UserError("That template is not one Cadence knows; open the questions again.")
    try:
        with req.change() as session:
            scope = _scope(session, req, metadata)
            added = editing.apply_template(session, scope, chosen.questions, name=chosen.name,
                                           actor=req.user_id, now=req.now)  # fmt: skip
        notice = f"Added the {len(added)} questions of “{chosen.name}”: edit or remove any."
    except NoRoom as e:
        notice = e.message
    _redraw(req, client, view.get("id"), metadata, notice, view.get("hash"))


# --- the editor --------------------------------------------------------------------------------


def editor_values(view: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The editor's values and block ids by field name (its type select is `kind`)."""
    values, blocks = read_state(state_of(view))
    if KIND_ACTION in values:
        values["kind"] = values.pop(KIND_ACTION)
    if KIND_ACTION in blocks:
        blocks["kind"] = blocks.pop(KIND_ACTION)
    return values, blocks


def question_kind(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """The editor's type changed: draw it again with that type's fields, keeping what was
    typed (`views.update` with the view's hash: a stale redraw is refused, not forced)."""
    ack()
    req = Request.of(context)
    view = body.get("view") or {}
    metadata = metadata_of(view.get("private_metadata"))
    values, _ = editor_values(view)
    values["kind"] = _chosen(body)
    with req.read() as session:
        scope = _scope(session, req, metadata)
    try:
        client.views_update(
            view_id=view.get("id"),
            hash=view.get("hash"),
            view=_editor(scope, values, metadata_id(metadata, "question_id")),
        )
    except SlackApiError as e:
        log.info("question editor redraw skipped: %s", e.response.get("error"))


def question_form(ack: Ack, body: dict, view: dict, client: WebClient, context) -> None:
    """The editor's submission: validated (inline errors), added or saved as the next
    version, then the list beneath it is redrawn."""
    req = Request.of(context)
    metadata = metadata_of(view.get("private_metadata"))
    values, blocks = editor_values(view)
    question_id = metadata_id(metadata, "question_id")

    def save() -> str:
        with req.change() as session:
            scope = _scope(session, req, metadata)
            data = editing.validate_definition(values)
            common = {"actor": req.user_id, "now": req.now}
            if question_id is None:
                editing.add(session, scope, data, **common)
                return f"Added “{data.text}”."
            if editing.edit(session, scope, question_id, data, **common) is None:
                return "Nothing changed."
            return f"Saved “{data.text}”; answers already given keep the earlier wording."

    notice = save_form(ack, blocks, "text", save)
    if notice is None:
        return
    ack()
    # The list beneath (Slack names it: the pushed editor's previous view) is redrawn.
    _redraw(req, client, view.get("previous_view_id"), metadata, notice)
