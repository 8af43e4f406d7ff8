"""Concern listeners: `/cadence concern <eng> [title]`, `/cadence concerns [<eng>] [severity]
[category] [mine]`, the "Raise a concern" message shortcut, the form, and the card's buttons
(acknowledge, resolve with a note, reassign, reopen), also reachable from the list's menu.

The list shows a person the concerns of the engagements they are on (all of them to Cadence
admins): a concern, a security one above all, is its engagement's business.

Who may do what is checked by bot/domain/concerns.py at click and again at submit; ids in
buttons and private_metadata are hints, re-checked there.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from sqlmodel import col, select

from bot.blocks.concerns import (
    COMMENT_MODAL,
    MAX_CHOICES,
    MAX_LISTED,
    MAX_QUOTE,
    REASSIGN_MODAL,
    RESOLVE_MODAL,
    comment_modal,
    concern_list,
    concern_modal,
    reassign_modal,
    resolve_modal,
)
from bot.blocks.help import usage_reply
from bot.domain import concerns, engagements, updates
from bot.domain.concerns import CATEGORIES
from bot.domain.engagements import SEVERITIES
from bot.domain.errors import FieldErrors, NotFound, UserError
from handlers.context import Command, Request
from handlers.forms import (
    button_id,
    engagement_for_form,
    metadata_id,
    metadata_of,
    open_view,
    read_state,
    save_form,
    state_of,
)
from storage.models import Engagement

# --- commands ----------------------------------------------------------------------------------


def concern_command(cmd: Command) -> None:
    """`/cadence concern <eng> [title]`: the form, for that engagement, with the title typed."""
    details = engagement_for_form(
        cmd, "Say which engagement the concern is about.", concerns.require_member
    )
    if details is None:
        return
    cmd.ack()
    open_view(
        cmd.client,
        cmd.body,
        concern_modal(
            private_metadata={"engagement_id": details.id, "source": "command"},
            engagement_name=details.engagement.name,
            title=" ".join(cmd.args[1:]),
            owner=_default_owner(details),
        ),
    )


def concerns_command(cmd: Command) -> None:
    """`/cadence concerns [<eng>] [severity] [category] [mine]`, in any order."""
    req = cmd.req
    severity = category = handle = None
    mine = False
    for word in cmd.args:
        lowered = word.lower()
        if lowered in SEVERITIES and severity is None:
            severity = lowered
        elif lowered in CATEGORIES and category is None:
            category = lowered
        elif lowered == "mine":
            mine = True
        elif handle is None:
            handle = word
        else:
            cmd.ack(**usage_reply(f"“{word}” is not an engagement, severity, category or "
                                  "`mine`.", cmd.spec))  # fmt: skip
            return
    cmd.ack()
    with req.read() as session:
        engagement_id, scope = None, "on your engagements"
        if handle is not None:
            details = engagements.find(
                session=session, team_id=req.team_id, handle=handle, only_for=req.only_for
            )
            concerns.require_reader(details, req.user_id, req.admins)
            engagement_id, scope = details.id, f"on {details.engagement.name}"
        elif req.is_admin:
            scope = "in this workspace"
        page = concerns.list_open(
            session=session,
            team_id=req.team_id,
            engagement_id=engagement_id,
            severity=severity,
            category=category,
            person=req.user_id if mine else None,
            limit=MAX_LISTED,
            reader=req.user_id,
            admins=req.admins,
        )
    filters = [f for f in (severity, category, "yours" if mine else None) if f]
    if filters:
        scope += f" ({', '.join(filters)})"
    cmd.respond(**concern_list(page, req.now, scope=scope), response_type="ephemeral")


def _default_owner(details: engagements.EngagementDetails) -> str | None:
    return details.vendor_contacts[0] if details.vendor_contacts else None


# --- the message shortcut ----------------------------------------------------------------------


def raise_from_message(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """ "Raise a concern" on any message: the form quotes it; in a channel of one engagement it
    is about that one, otherwise the form asks which."""
    ack()
    req = Request.of(context)
    channel = _slack_id(_dict(body.get("channel")).get("id"))
    found = _dict(body.get("message"))
    text = found.get("text")
    text = text if isinstance(text, str) else ""
    with req.read() as session:
        here = session.exec(
            select(Engagement)
            .where(Engagement.team_id == req.team_id)
            .where(Engagement.channel_id == channel)
            .where(col(Engagement.archived_at).is_(None))
            .order_by(Engagement.name)
        ).all()
        if len(here) == 1 and here[0].id is not None:
            details = engagements.get(
                session=session, team_id=req.team_id, engagement_id=here[0].id
            )
            concerns.require_member(details, req.user_id, req.admins)
            choices: list[tuple[int, str]] = []
            more_choices = 0
        else:
            details = None
            # A select holds MAX_CHOICES options: the first by name, and how many are left out.
            listed = engagements.page(
                session=session, team_id=req.team_id, limit=MAX_CHOICES, only_for=req.user_id
            )
            if req.is_admin and not listed.rows:
                listed = engagements.page(session=session, team_id=req.team_id, limit=MAX_CHOICES)
            choices = [(d.id, d.engagement.name) for d in listed.rows]
            more_choices = listed.more
            if not choices:
                raise UserError(
                    "You are not on any engagement yet, so there is nowhere to raise this. "
                    "Ask a lead to add you."
                )
    metadata = _fitting(
        {
            "engagement_id": details.id if details else None,
            "source": "message",
            "source_ref": f"slack:{channel}:{_slack_id(found.get('ts'))}",
            "quote": text[:MAX_QUOTE],
        }
    )
    open_view(
        client,
        body,
        concern_modal(
            private_metadata=metadata,
            engagement_name=details.engagement.name if details else None,
            choices=choices,
            more_choices=more_choices,
            title=(text.strip().splitlines() or [""])[0][:80],
            owner=_default_owner(details) if details else None,
            quote=metadata["quote"],
        ),
    )


METADATA_LIMIT = 3000  # Slack's limit on a view's private_metadata, in characters


def _fitting(metadata: dict[str, Any]) -> dict[str, Any]:
    """The metadata with its quote cut until the whole fits Slack's limit as the form builder
    writes it (JSON escapes each non-ASCII character as up to 12 ASCII ones, so 1,500
    characters of Cyrillic or emoji take far more than 3,000)."""
    quote = metadata["quote"]
    while len(json.dumps({**metadata, "quote": quote})) > METADATA_LIMIT and quote:
        over = len(json.dumps({**metadata, "quote": quote})) - METADATA_LIMIT
        quote = quote[: max(len(quote) - max(over // 12, 1), 0)]
    return {**metadata, "quote": quote}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _slack_id(value: Any) -> str:
    """A Slack id or timestamp from a payload, as a short string (anything else: empty)."""
    return value[:40] if isinstance(value, str) else ""


# --- from an update's blockers ---------------------------------------------------------------


def raise_from_blocker(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """One click under an update's summary: the concern form, filled with its blockers."""
    ack()
    req = Request.of(context)
    update_id = button_id(body, "That button is out of date.")
    with req.read() as session:
        summary = updates.load_summary(session=session, team_id=req.team_id, update_id=update_id)
        details = engagements.find(
            session=session, team_id=req.team_id, handle=summary.engagement_handle
        )
        concerns.require_member(details, req.user_id, req.admins)
    blockers = summary.blockers.strip()
    open_view(
        client,
        body,
        concern_modal(
            private_metadata={
                "engagement_id": details.id,
                "source": "update",
                "source_ref": f"update:{update_id}",
            },
            engagement_name=details.engagement.name,
            title=(blockers.splitlines() or [""])[0],
            description=blockers,
            owner=_default_owner(details),
            category="delivery",
        ),
    )


# --- the forms ---------------------------------------------------------------------------------


def concern_form(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    req = Request.of(context)
    values, blocks = read_state(state_of(view))
    metadata = metadata_of(view.get("private_metadata"))

    def save() -> bool:
        engagement_id = metadata_id(metadata, "engagement_id")
        if engagement_id is None:
            try:
                engagement_id = int(values.get("engagement") or "")
            except ValueError:
                raise FieldErrors({"engagement": "Choose the engagement."}) from None
        data = concerns.validate(values, today=req.now.date())
        source = str(metadata.get("source") or "command")
        if source not in ("command", "message", "update"):
            source = "command"
        with req.change() as session:
            concerns.raise_concern(
                session=session,
                team_id=req.team_id,
                actor=req.user_id,
                engagement_id=engagement_id,
                data=data,
                now=req.now,
                admins=req.admins,
                source=source,
                source_ref=str(metadata.get("source_ref") or "") if source != "command" else None,
                quote=str(metadata.get("quote") or "")[:MAX_QUOTE] if source == "message" else "",
            )
        return True

    if save_form(ack, blocks, "title", save):
        ack()


# The small forms about one concern: the field each reads, and the change it makes.
ACTION_FORMS = {
    RESOLVE_MODAL: ("note", concerns.resolve),
    COMMENT_MODAL: ("note", concerns.comment),
    REASSIGN_MODAL: ("owner", concerns.reassign),
}


def concern_action_form(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    """Resolve (with its note), comment, or reassign: one submission, one change."""
    req = Request.of(context)
    values, blocks = read_state(state_of(view))
    concern_id = metadata_id(metadata_of(view.get("private_metadata")), "concern_id")
    field, change = ACTION_FORMS[view["callback_id"]]

    def save() -> bool:
        with req.change() as session:
            change(
                session=session, team_id=req.team_id, actor=req.user_id,
                concern_id=_required(concern_id), now=req.now, admins=req.admins,
                **{field: str(values.get(field) or "")},
            )  # fmt: skip
        return True

    if save_form(ack, blocks, field, save):
        ack()


def _required(concern_id: int | None) -> int:
    if concern_id is None:
        raise UserError("This form is damaged; open it again from the concern.")
    return concern_id


# --- the card's buttons and the list's menu ----------------------------------------------------

FORMS = {"resolve": resolve_modal, "reassign": reassign_modal, "comment": comment_modal}


def concern_button(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    action = body["actions"][0]
    what = str(action.get("action_id", "")).split(":", 1)[-1]
    act(Request.of(context), client, body, what, str(action.get("value") or ""))


def concern_menu(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    chosen = (body["actions"][0].get("selected_option") or {}).get("value") or ""
    what, _, ref = chosen.partition(":")
    act(Request.of(context), client, body, what, ref)


def act(req: Request, client: WebClient, body: dict[str, Any], what: str, ref: str) -> None:
    """One action on a concern; who may take it is checked in the domain, at click."""
    if not ref.isdigit():
        raise UserError("That button is out of date; run `/cadence concerns` again.")
    concern_id = int(ref)
    common = {"team_id": req.team_id, "actor": req.user_id, "concern_id": concern_id,
              "now": req.now, "admins": req.admins}  # fmt: skip
    if what in FORMS:
        with req.read() as session:
            found = concerns.get(session=session, team_id=req.team_id, concern_id=concern_id)
            if what == "comment":
                concerns.require_member(found.details, req.user_id, req.admins)
            else:
                concerns.require_handler(found.concern, found.details, req.user_id, req.admins)
        open_view(client, body, FORMS[what](found.concern))
        return
    with req.change() as session:
        if what == "acknowledge":
            concerns.acknowledge(session=session, **common)
        elif what == "reopen":
            concerns.reopen(session=session, **common)
        else:
            raise NotFound("That button is out of date; run `/cadence concerns` again.")
