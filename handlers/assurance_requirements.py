"""`/cadence assurance requirements`: the workspace's due diligence (which evidence a new
engagement asks its vendor for, by criticality), set by its stewards, and its submission."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.blocks.assurance_requirements import requirements_modal, requirements_saved
from bot.domain import roles
from bot.domain.assurance import diligence, register
from bot.engine import outbox
from handlers.context import Command, Request
from handlers.forms import open_view, read_state, save_form, state_of

DOING = "choose which evidence each criticality requires"


def requirements_command(cmd: Command) -> None:
    """Check who asks (a steward), then open the form with what is required now."""
    cmd.ack()
    req = cmd.req
    roles.require_steward(req.actor(cmd.client), DOING)
    with req.read() as session:
        kinds = register.kinds(session, req.team_id)
        chosen = diligence.requirements(session, req.team_id)
        using_defaults = diligence.is_default(session, req.team_id)
    open_view(
        cmd.client,
        cmd.body,
        requirements_modal(list(kinds.values()), chosen, using_defaults=using_defaults),
    )


def requirements_submitted(ack: Ack, view: dict, client: WebClient, context: BoltContext) -> None:
    """Validate, save (who may is checked again, in the transaction), close the form and
    confirm by DM through the outbox, once per submission."""
    req = Request.of(context)
    values, blocks = read_state(state_of(view))

    def save() -> bool:
        actor = req.actor(client)
        roles.require_steward(actor, DOING)  # before a word about the form's content
        with req.change() as session:
            kinds = register.kinds(session, req.team_id)
            data = diligence.validate_requirements(values, kinds)
            after = diligence.save_requirements(
                session, team_id=req.team_id, actor=actor, data=data, now=req.now
            )
            names = {k: t.name for k, t in register.kinds(session, req.team_id).items()}
            saved = requirements_saved(after, names)
            outbox.confirmation(
                session,
                team_id=req.team_id,
                to=req.user_id,
                text=saved["text"],
                request=req.delivery,
                now=req.now,
            )
        return True

    if save_form(ack, blocks, diligence.REQUIRE_FIELD.format("high"), save):
        ack()
