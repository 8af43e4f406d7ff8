"""Assurance register listeners: `/cadence assurance [<eng>]` (the register, worst first,
paged), `/cadence assurance <eng> add` (the form to add an item), the card's and the DM's
buttons and the list's menu (each opens its form: provide, accept, reject, waive), and the
forms.

Who may take each step is checked by bot/domain/assurance/register.py at click and again at
submit; ids in buttons and private_metadata are hints, re-checked there.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from sqlmodel import Session

from bot.blocks.assurance import (
    ACCEPT_MODAL,
    PAGE_SIZE,
    PROVIDE_MODAL,
    REJECT_MODAL,
    WAIVE_MODAL,
    accept_modal,
    add_modal,
    provide_modal,
    register_list,
    reject_modal,
    waive_modal,
)
from bot.blocks.help import usage_reply
from bot.domain import engagements
from bot.domain.assurance import queries, register
from bot.domain.errors import UserError
from handlers.context import Command, Request
from handlers.forms import metadata_id, open_view, submit

ADD = "add"
MAX_PAGES = 1000  # a page button's offset beyond this many pages is a forged one
OUT_OF_DATE = "That button is out of date; run `/cadence assurance` again."

# --- the command -------------------------------------------------------------------------------


def assurance_command(cmd: Command) -> None:
    """`/cadence assurance [<eng>]`: the register; `/cadence assurance <eng> add`: the form."""
    args = list(cmd.args)
    if len(args) == 2 and args[1].lower() == ADD:
        add_command(cmd, args[0])
        return
    if len(args) > 1 or (args and args[0].lower() == ADD):
        cmd.ack(**usage_reply("Name one engagement, then `add` to add an item to it.", cmd.spec))
        return
    try:
        listed = _listed(cmd.req, args[0] if args else None, None, 0)
    except UserError as e:
        cmd.ack(**usage_reply(e.message, cmd.spec))
        return
    cmd.ack()
    cmd.respond(**listed, response_type="ephemeral")


def add_command(cmd: Command, handle: str) -> None:
    req = cmd.req
    try:
        with req.read() as session:
            details = engagements.find(
                session=session, team_id=req.team_id, handle=handle, only_for=req.only_for
            )
            register.require_manager(details, req.user_id, req.admins)
            kinds = list(register.kinds(session, req.team_id).values())
    except UserError as e:
        cmd.ack(**usage_reply(e.message, cmd.spec))
        return
    cmd.ack()
    open_view(
        cmd.client,
        cmd.body,
        add_modal(
            engagement_id=details.id,
            engagement_name=details.engagement.name,
            kinds=kinds,
            owner=details.vendor_contacts[0] if details.vendor_contacts else None,
        ),
    )


def _listed(
    req: Request, handle: str | None, engagement_id: int | None, offset: int
) -> dict[str, Any]:
    """One page of the register the asker may see (a handle, or an id from the page button)."""
    with req.read() as session:
        scope = "on your engagements" if not req.is_admin else "in this workspace"
        if handle is not None or engagement_id is not None:
            details = (
                engagements.find(
                    session=session, team_id=req.team_id, handle=handle, only_for=req.only_for
                )
                if handle is not None
                else engagements.get(
                    session=session, team_id=req.team_id, engagement_id=engagement_id or 0
                )
            )
            register.require_reader(details, req.user_id, req.admins)
            engagement_id, scope = details.id, f"of {details.engagement.name}"
            tz = details.engagement.timezone
        else:
            tz = "UTC"
        page = queries.list_page(
            session=session,
            team_id=req.team_id,
            today=register.local_today(req.now, tz),
            viewer=req.user_id,
            everything=req.is_admin,
            engagement_id=engagement_id,
            offset=offset,
            limit=PAGE_SIZE,
        )
    more = f"{offset + PAGE_SIZE}|{engagement_id or ''}"
    return register_list(page, register.local_today(req.now, tz), scope=scope, more_value=more)


def next_page(ack: Ack, body: dict, context: BoltContext, respond) -> None:
    """The list's "Next page" button: the same list from where the page ended (its value is a
    hint: the asker's visibility is checked again)."""
    ack()
    req = Request.of(context)
    value = str((body.get("actions") or [{}])[0].get("value") or "")
    offset, _, engagement = value.partition("|")
    if not offset.isdigit() or int(offset) > MAX_PAGES * PAGE_SIZE:
        raise UserError(OUT_OF_DATE)
    engagement_id = int(engagement) if engagement.isdigit() else None
    listed = _listed(req, None, engagement_id, int(offset))
    respond(**listed, response_type="ephemeral", replace_original=False)


# --- the buttons and the list's menu -----------------------------------------------------------


def assurance_button(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    action = body["actions"][0]
    what = str(action.get("action_id", "")).split(":", 1)[-1]
    act(Request.of(context), client, body, what, str(action.get("value") or ""))


def assurance_menu(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    chosen = (body["actions"][0].get("selected_option") or {}).get("value") or ""
    what, _, ref = str(chosen).partition(":")
    act(Request.of(context), client, body, what, ref)


def act(req: Request, client: WebClient, body: dict[str, Any], what: str, ref: str) -> None:
    """Open the form of one step; who may take it (and whether its status allows it) is
    checked in the domain, at click and again when the form is submitted."""
    if not ref.isdigit() or what not in register.STEPS:
        raise UserError(OUT_OF_DATE)
    with req.read() as session:
        found = register.get(session=session, team_id=req.team_id, item_id=int(ref))
        register.check(what, found.item, found.details, req.user_id, req.admins)
    if what == "provide":
        view = provide_modal(found.item, found.kind)
    elif what == "accept":
        view = accept_modal(found.item)
    elif what == "reject":
        view = reject_modal(found.item)
    else:
        view = waive_modal(found.item)
    open_view(client, body, view)


# --- the forms ---------------------------------------------------------------------------------


def add_form(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    """A new item: checked, written with its event and audit, its card and request planned."""
    req = Request.of(context)

    def save(session: Session, values: dict[str, Any], metadata: dict[str, Any]) -> bool:
        engagement_id = metadata_id(metadata, "engagement_id")
        if engagement_id is None:
            raise UserError("This form is damaged; run `/cadence assurance <eng> add` again.")
        register.create(
            session=session, team_id=req.team_id, actor=req.user_id,
            engagement_id=engagement_id, raw=values, now=req.now, admins=req.admins,
        )  # fmt: skip
        return True

    if submit(ack, view, req.change, "type", save):
        ack()


# The forms about one item: the change each makes, and the field an error about the whole
# form goes on.
STEP_FORMS = {
    PROVIDE_MODAL: (register.provide, "link"),
    ACCEPT_MODAL: (register.accept, "note"),
    REJECT_MODAL: (register.reject, "reason"),
    WAIVE_MODAL: (register.waive, "reason"),
}


def step_form(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    """Provide, accept, reject or waive: one submission, one change."""
    req = Request.of(context)
    change, general = STEP_FORMS[view["callback_id"]]

    def save(session: Session, values: dict[str, Any], metadata: dict[str, Any]) -> bool:
        item_id = metadata_id(metadata, "item_id")
        if item_id is None:
            raise UserError("This form is damaged; open it again from the evidence item.")
        change(
            session=session, team_id=req.team_id, actor=req.user_id, item_id=item_id,
            now=req.now, admins=req.admins, raw=values,
        )  # fmt: skip
        return True

    if submit(ack, view, req.change, general, save):
        ack()
