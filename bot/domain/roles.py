"""Who a person is to Cadence in one workspace, and what that lets them steer: written once.

Engagement roles (lead, vendor contact, stakeholder) say who acts on one engagement; they are
checked where the engagement is (`engagements.require_manager`, `concerns.require_member`, …).
This module holds the workspace-wide part (docs/security.md states the whole model):

- **Cadence admins** (`CADENCE_ADMINS`, per workspace under OAuth) may do anything.
- **Stewards** steer the workspace: its digest's schedule and channel, posting it now. They
  are the Cadence admins and the workspace's own Slack admins and owners. Leading an
  engagement is not enough: anyone may lead one they created, so that would hand the
  executive digest (every engagement's worst news) to anyone.
- **Creators** may create engagements: members of the installed workspace (not its Slack
  guests, not people of another organisation in a shared channel) and Cadence admins. An
  admin lets someone else lead one by creating it and naming them a lead.

A person's Slack standing comes from users.info, kept on their `Person` row for
`ROLE_FRESH_FOR` so a request rarely waits for Slack; an unknown standing grants nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from bot.domain.errors import NotAllowed
from storage.jobs import insert_ignoring_conflict
from storage.models import Person

OWNER, ADMIN, MEMBER, GUEST, STRANGER = "owner", "admin", "member", "guest", "stranger"
STEERING_ROLES = frozenset({OWNER, ADMIN})
# How long what Slack said of a person's standing is trusted: a demoted Slack admin keeps
# steering for at most this long; a shorter time costs a users.info call on more requests.
ROLE_FRESH_FOR = timedelta(minutes=10)

NEVER = datetime(1970, 1, 1, tzinfo=UTC)

STEWARDS = "a Cadence admin or a Slack admin or owner of this workspace"


def standing_in(user: dict[str, Any], team_id: str) -> str:
    """A person's standing in workspace `team_id`, from Slack's users.info `user` object.

    Someone whose own team is another (Slack Connect) is a stranger whatever their flags say:
    `is_admin` there is about their own organisation. Guests (`is_restricted`,
    `is_ultra_restricted`) are guests even if a flag says more.
    """
    own_team = user.get("team_id") or (user.get("profile") or {}).get("team") or team_id
    if own_team != team_id or user.get("is_stranger"):
        return STRANGER
    if user.get("is_restricted") or user.get("is_ultra_restricted"):
        return GUEST
    if user.get("is_owner") or user.get("is_primary_owner"):
        return OWNER
    if user.get("is_admin"):
        return ADMIN
    return MEMBER


@dataclass(frozen=True)
class Actor:
    """Who asks, as far as the workspace is concerned."""

    user_id: str
    cadence_admin: bool
    from_elsewhere: bool  # the payload names another organisation (Slack Connect)
    slack_role: str | None  # OWNER … STRANGER; None: Slack has not told us

    @property
    def steers(self) -> bool:
        """May change the workspace's settings (the digest's schedule and channel) and post
        the digest now."""
        if self.cadence_admin:
            return True
        return not self.from_elsewhere and self.slack_role in STEERING_ROLES

    @property
    def may_create_engagements(self) -> bool:
        if self.cadence_admin:
            return True
        return not self.from_elsewhere and self.slack_role in (OWNER, ADMIN, MEMBER)


def require_steward(actor: Actor, doing: str) -> None:
    """Refuse unless the actor steers the workspace; `doing` completes "Only … can …"."""
    if not actor.steers:
        raise NotAllowed(f"Only {STEWARDS} can {doing}. Ask one of them.")


def require_creator(actor: Actor) -> None:
    if actor.may_create_engagements:
        return
    if actor.from_elsewhere or actor.slack_role in (STRANGER, GUEST):
        raise NotAllowed(
            "Only members of this workspace can create engagements. Ask a Cadence admin to "
            "create it and name you one of its leads."
        )
    raise NotAllowed(
        "Cadence could not confirm with Slack that you are a member of this workspace; "
        "try again in a minute."
    )


def known_role(session: Session, *, team_id: str, user_id: str, now: datetime) -> str | None:
    """The standing Slack told us within `ROLE_FRESH_FOR`, else None (ask Slack again)."""
    row = session.exec(
        select(Person.slack_role, Person.slack_role_checked_at)
        .where(Person.team_id == team_id)
        .where(Person.user_id == user_id)
    ).first()
    if row is None:
        return None
    role, checked_at = row
    if role is None or checked_at is None or now - checked_at >= ROLE_FRESH_FOR:
        return None
    return role


def remember_role(
    session: Session, *, team_id: str, user_id: str, user: dict[str, Any], now: datetime
) -> str:
    """Keep what users.info said of a person (their standing; their zone too, while we have
    it) and return the standing."""
    role = standing_in(user, team_id)
    insert_ignoring_conflict(  # "zone never learned" until users.info gives one below
        session,
        Person,
        {"team_id": team_id, "user_id": user_id, "refreshed_at": NEVER, "external": False},
        ["team_id", "user_id"],
    )
    person = session.exec(
        select(Person).where(Person.team_id == team_id).where(Person.user_id == user_id)
    ).one()
    person.slack_role = role
    person.slack_role_checked_at = now
    person.external = role == STRANGER
    if user.get("tz"):
        person.tz = user["tz"]
        person.status_emoji = (user.get("profile") or {}).get("status_emoji", "")
        person.refreshed_at = now
    session.add(person)
    return role
