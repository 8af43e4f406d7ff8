"""The `/cadence` router: routed from the command reference, so help and routing cannot drift.

Every form of every command in `bot/domain/command_reference.py` that is available names its
handler here (`ROUTES`); a check at import refuses a reference line without a handler or a
handler without a line. A handler gets a `Command`: the words after the route, the reference
line, Slack's callables and the request context.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.common import plain_message
from bot.blocks.help import help_message, usage_reply
from bot.domain import away, moments
from bot.domain.command_reference import REFERENCE, CommandSpec, parse, spec_for
from bot.domain.errors import UserError
from handlers import (
    answers,
    assurance,
    assurance_requirements,
    cadences,
    concerns,
    deliverables,
    digest_schedule,
    digests,
    engagements,
    exports,
    questions,
    retention,
    status,
)
from handlers.context import Command, Request

Handler = Callable[[Command], None]


def literal_forms(spec: CommandSpec) -> list[tuple[str, ...]]:
    """The literal words of each form of a reference line: `pause|resume <cadence>` gives
    ("pause",) and ("resume",); `away <from> <to> · away off` gives ("away",), ("away", "off")."""
    forms: list[tuple[str, ...]] = []
    for form in spec.usage.split(" · "):
        words: list[str] = []
        for word in form.split():
            if word.startswith(("<", "[")):
                break
            words.append(word)
        forms.extend((first, *words[1:]) for first in words[0].split("|"))
    return forms


def show_help(cmd: Command) -> None:
    cmd.ack(**help_message())


def away_command(cmd: Command) -> None:
    """`/cadence away <from> <to>` or `/cadence away off`: short, so it acts at once."""
    req = cmd.req
    if cmd.words == ("away", "off"):
        if cmd.args:
            cmd.ack(**usage_reply("`away off` takes nothing after it.", cmd.spec))
            return
        with req.change() as session:
            changed = away.clear_away(
                session=session, team_id=req.team_id, user_id=req.user_id, today=req.now.date()
            )
        cmd.ack(**plain_message("Welcome back: you will get check-ins again." if changed
                                else "You were not marked away."))  # fmt: skip
        return
    if len(cmd.args) != 2:
        cmd.ack(**usage_reply("Give the first and last day away, or `off`.", cmd.spec))
        return
    try:
        starts, ends = away.parse_day(cmd.args[0]), away.parse_day(cmd.args[1])
        with req.change() as session:
            away.set_away(
                session=session, team_id=req.team_id, user_id=req.user_id, starts=starts,
                ends=ends, now=req.now,
            )  # fmt: skip
    except UserError as e:
        cmd.ack(**usage_reply(e.message, cmd.spec))
        return
    cmd.ack(
        **plain_message(
            f"You are away from {moments.day(starts)} to {moments.day(ends)}: no check-ins, and "
            "reports show you as away, not missing. `/cadence away off` ends it early."
        )
    )


ROUTES: dict[tuple[str, ...], Handler] = {
    ("help",): show_help,
    ("engagement", "new"): engagements.new_command,
    ("engagement", "list"): engagements.list_command,
    ("engagement", "edit"): engagements.edit_command,
    ("engagement", "archive"): engagements.archive_command,
    ("schedule",): cadences.schedule_command,
    ("cadences",): cadences.cadences_command,
    ("pause",): cadences.lifecycle_command,
    ("resume",): cadences.lifecycle_command,
    ("skip",): cadences.lifecycle_command,
    ("delete",): cadences.lifecycle_command,
    ("questions",): questions.questions_command,
    ("concern",): concerns.concern_command,
    ("concerns",): concerns.concerns_command,
    ("deliverable",): deliverables.deliverable_command,
    ("deliverables",): deliverables.deliverables_command,
    ("assurance",): assurance.assurance_command,
    ("update",): answers.update_command,
    ("feedback",): answers.feedback_command,
    ("export",): exports.export_command,
    ("status",): status.status_command,
    ("digest", "preview"): digests.preview_command,
    ("digest", "send"): digests.send_command,
    ("digest", "schedule"): digest_schedule.schedule_command,
    ("assurance", "requirements"): assurance_requirements.requirements_command,
    ("away",): away_command,
    ("retention",): retention.retention_command,
    ("away", "off"): away_command,
}
SPECS: dict[tuple[str, ...], CommandSpec] = {
    form: spec for spec in REFERENCE for form in literal_forms(spec)
}


def _check_routes() -> None:
    ready = {form for form, spec in SPECS.items() if spec.available}
    if ready != set(ROUTES):
        raise RuntimeError(
            f"/cadence reference and routes disagree: without a handler {ready - set(ROUTES)}, "
            f"without a reference line {set(ROUTES) - ready}"
        )


_check_routes()


def route(words: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The longest reference form that `words` start with, and what follows it."""
    lowered = tuple(w.lower() for w in words)
    for length in range(len(lowered), 0, -1):
        if lowered[:length] in SPECS:
            return lowered[:length], words[length:]
    return None


def cadence(ack: Ack, body: dict, client: WebClient, respond: Respond, context: BoltContext):
    """`/cadence …`: route to the handler named for the form typed, or say what is wrong."""
    invocation = parse(body.get("text", ""))
    words = (invocation.name, *invocation.args)
    found = route(words)
    if found is None:
        ack(**_unknown(invocation.name, invocation.args))
        return
    form, args = found
    spec = SPECS[form]
    handler = ROUTES.get(form)
    if handler is None:
        ack(**usage_reply(f"`/cadence {' '.join(form)}` is not available in this version of "
                          "Cadence yet; it is on its way."))  # fmt: skip
        return
    handler(Command(form, args, spec, ack, respond, client, body, Request.of(context)))


def _unknown(name: str, args: tuple[str, ...]) -> dict[str, Any]:
    """A first word that names a group (`engagement`) but no form of it, or nothing at all."""
    group = list(dict.fromkeys(f[1] for f in SPECS if len(f) > 1 and f[0] == name))
    if group:
        typed = args[0] if args else ""
        problem = (
            f"`/cadence {name} {typed}` is not a command."
            if typed
            else f"Say what to do with {name}s: {', '.join(group[:-1])} or {group[-1]}."
        )
        return usage_reply(problem, spec_for(f"{name} {group[0]}"))
    return usage_reply(f"Cadence has no command `{name}`.")
