"""Deliverable listeners: `/cadence deliverable <eng> [title]` (the form),
`/cadence deliverables [<eng>] [mine|overdue]` (the list, paged), `/cadence deliverables <eng>
chart` (the timeline picture, drawn by a job and sent to the asker), the card's buttons and the
list's menu (start at once; submit, accept, reject, re-plan and cancel open their forms), and
the forms.

Who may take each step is checked by bot/domain/deliverables.py at click and again at submit;
ids in buttons and private_metadata are hints, re-checked there.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from sqlmodel import Session

from bot.blocks.common import escape, plain_message
from bot.blocks.deliverables import (
    ACCEPT_MODAL,
    CANCEL_MODAL,
    PAGE_SIZE,
    REJECT_MODAL,
    REPLAN_MODAL,
    SUBMIT_MODAL,
    accept_modal,
    cancel_modal,
    deliverable_list,
    deliverable_modal,
    reject_modal,
    replan_modal,
    submit_modal,
)
from bot.blocks.help import usage_reply
from bot.domain import deliverables, engagements
from bot.domain.errors import UserError
from bot.engine import timeline_jobs
from handlers.context import Command, Request
from handlers.forms import engagement_for_form, metadata_id, open_view, submit

FILTERS = ("mine", "overdue")
CHART = "chart"
MAX_PAGES = 1000  # a page button's offset beyond this many pages is a forged one

# --- commands ----------------------------------------------------------------------------------


def deliverable_command(cmd: Command) -> None:
    """`/cadence deliverable <eng> [title]`: the form, for that engagement, with the title."""
    details = engagement_for_form(
        cmd, "Say which engagement the deliverable belongs to.", deliverables.require_creator
    )
    if details is None:
        return
    cmd.ack()
    open_view(
        cmd.client,
        cmd.body,
        deliverable_modal(
            engagement_id=details.id,
            engagement_name=details.engagement.name,
            title=" ".join(cmd.args[1:]),
            owner=details.vendor_contacts[0] if details.vendor_contacts else None,
        ),
    )


def deliverables_command(cmd: Command) -> None:
    """`/cadence deliverables [<eng>] [mine|overdue]`, in any order; `<eng> chart`: its
    timeline picture."""
    if any(word.lower() == CHART for word in cmd.args):
        timeline_command(cmd, [w for w in cmd.args if w.lower() != CHART])
        return
    handle, chosen = None, None
    for word in cmd.args:
        if word.lower() in FILTERS and chosen is None:
            chosen = word.lower()
        elif handle is None:
            handle = word
        else:
            cmd.ack(**usage_reply(f"“{word}” is not an engagement, `mine` or `overdue`.", cmd.spec))
            return
    cmd.ack()
    cmd.respond(**_listed(cmd.req, handle, None, chosen, 0), response_type="ephemeral")


def timeline_command(cmd: Command, rest: list[str]) -> None:
    """`/cadence deliverables <eng> chart`: checked here (whoever may list the engagement's
    deliverables may see them drawn), drawn and uploaded by a job (never on this thread)."""
    if len(rest) != 1:
        cmd.ack(**usage_reply("Say which engagement's timeline to draw.", cmd.spec))
        return
    req = cmd.req
    try:
        with req.change() as session:
            details = engagements.find(
                session=session, team_id=req.team_id, handle=rest[0], only_for=req.only_for
            )
            deliverables.require_reader(details, req.user_id, req.only_for)
            if req.from_elsewhere:  # Slack lets no app open a DM with another organisation's
                raise UserError(
                    f"Cadence cannot send you the picture: Slack lets apps send files to people "
                    f"of another organisation only in shared channels, not by DM. Ask a lead of "
                    f"{details.engagement.name} to share it, or read the list with "
                    f"`/cadence deliverables {details.engagement.handle}`."
                )
            timeline_jobs.plan(
                session, team_id=req.team_id, requester=req.user_id, engagement_id=details.id,
                request=req.delivery, now=req.now,
            )  # fmt: skip
    except UserError as e:
        cmd.ack(**usage_reply(e.message, cmd.spec))
        return
    cmd.ack(
        **plain_message(
            f"Drawing the deliverables' timeline of {escape(details.engagement.name)}: the "
            "picture arrives in your DM with Cadence in a moment."
        )
    )


def _listed(
    req: Request, handle: str | None, engagement_id: int | None, chosen: str | None, offset: int
) -> dict[str, Any]:
    """One page of the list the asker may see (a handle, or an id from the page button)."""
    with req.read() as session:
        scope = "on your engagements" if req.only_for else "in this workspace"
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
            deliverables.require_reader(details, req.user_id, req.only_for)
            engagement_id, scope = details.id, f"of {details.engagement.name}"
        page = deliverables.list_page(
            session=session,
            team_id=req.team_id,
            now=req.now,
            engagement_id=engagement_id,
            mine=req.user_id if chosen == "mine" else None,
            overdue=chosen == "overdue",
            only_for=req.only_for,
            offset=offset,
            limit=PAGE_SIZE,
        )
        if engagement_id is not None and not chosen and offset == 0:
            found = deliverables.milestones(
                session=session, engagement_id=engagement_id, now=req.now
            )
            page = replace(page, milestones=found)
    if chosen:
        scope += " (yours)" if chosen == "mine" else " (overdue)"
    more = f"{offset + PAGE_SIZE}|{engagement_id or ''}|{chosen or ''}"
    return deliverable_list(page, req.now, scope=scope, more_value=more)


def next_page(ack: Ack, body: dict, context: BoltContext, respond) -> None:
    """The list's "Next page" button: the same list from where the page ended (its value is
    a hint: the asker's visibility is checked again)."""
    ack()
    req = Request.of(context)
    value = str((body.get("actions") or [{}])[0].get("value") or "")
    offset, _, rest = value.partition("|")
    engagement, _, chosen = rest.partition("|")
    if not offset.isdigit() or int(offset) > MAX_PAGES * PAGE_SIZE or chosen not in ("", *FILTERS):
        raise UserError("That button is out of date; run `/cadence deliverables` again.")
    engagement_id = int(engagement) if engagement.isdigit() else None
    listed = _listed(req, None, engagement_id, chosen or None, int(offset))
    respond(**listed, response_type="ephemeral", replace_original=False)


# --- the card's buttons and the list's menu ----------------------------------------------------

FORMS = {
    "submit": submit_modal,
    "accept": accept_modal,
    "reject": reject_modal,
    "replan": replan_modal,
    "cancel": cancel_modal,
}


def deliverable_button(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    action = body["actions"][0]
    what = str(action.get("action_id", "")).split(":", 1)[-1]
    act(Request.of(context), client, body, what, str(action.get("value") or ""))


def deliverable_menu(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    chosen = (body["actions"][0].get("selected_option") or {}).get("value") or ""
    what, _, ref = str(chosen).partition(":")
    act(Request.of(context), client, body, what, ref)


def act(req: Request, client: WebClient, body: dict[str, Any], what: str, ref: str) -> None:
    """One step on a deliverable; who may take it (and whether its status allows it) is checked
    in the domain, at click, and again when its form is submitted."""
    if not ref.isdigit():
        raise UserError("That button is out of date; run `/cadence deliverables` again.")
    deliverable_id = int(ref)
    if what == "start":
        with req.change() as session:
            deliverables.start(
                session=session, team_id=req.team_id, actor=req.user_id,
                deliverable_id=deliverable_id, now=req.now, admins=req.admins,
            )  # fmt: skip
        return
    if what not in FORMS:
        raise UserError("That button is out of date; run `/cadence deliverables` again.")
    with req.read() as session:
        found = deliverables.get(
            session=session, team_id=req.team_id, deliverable_id=deliverable_id
        )
        deliverables.check(what, found.deliverable, found.details, req.user_id, req.admins)
    open_view(client, body, FORMS[what](found.deliverable))


# --- the forms ---------------------------------------------------------------------------------


def deliverable_form(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    """A new deliverable: checked, written with its event and audit, its card planned."""
    req = Request.of(context)

    def save(session: Session, values: dict[str, Any], metadata: dict[str, Any]) -> bool:
        engagement_id = metadata_id(metadata, "engagement_id")
        if engagement_id is None:
            raise UserError("This form is damaged; run `/cadence deliverable <eng>` again.")
        deliverables.create(
            session=session, team_id=req.team_id, actor=req.user_id,
            engagement_id=engagement_id, raw=values, now=req.now, admins=req.admins,
        )  # fmt: skip
        return True

    if submit(ack, view, req.change, "title", save):
        ack()


# The forms about one deliverable: the change each makes, and the field an error about the
# whole form goes on.
STEP_FORMS = {
    SUBMIT_MODAL: (deliverables.submit, "link"),
    ACCEPT_MODAL: (deliverables.accept, "note"),
    REJECT_MODAL: (deliverables.reject, "reason"),
    REPLAN_MODAL: (deliverables.replan, "due_on"),
    CANCEL_MODAL: (deliverables.cancel, "reason"),
}


def step_form(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    """Submit, accept, reject, re-plan or cancel: one submission, one change."""
    req = Request.of(context)
    change, general = STEP_FORMS[view["callback_id"]]

    def save(session: Session, values: dict[str, Any], metadata: dict[str, Any]) -> bool:
        deliverable_id = metadata_id(metadata, "deliverable_id")
        if deliverable_id is None:
            raise UserError("This form is damaged; open it again from the deliverable.")
        change(
            session=session, team_id=req.team_id, actor=req.user_id,
            deliverable_id=deliverable_id, now=req.now, admins=req.admins, raw=values,
        )  # fmt: skip
        return True

    if submit(ack, view, req.change, general, save):
        ack()
