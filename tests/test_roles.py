"""Who steers the workspace, and who may create engagements (`bot/domain/roles.py`), tried as
the outside review's attacker did: a guest of another organisation in a shared channel, a
member who makes themselves the lead of a decoy engagement, one of the workspace's own Slack
guests. Each step is a signed request through Slack's front door against the stand-in Slack.

The review's steps were: a Slack Connect guest on no engagement creates "Decoy" in a shared
channel, points the workspace's digest at that channel with `/cadence digest schedule`, runs
`/cadence digest send`, and clicks "Health card" on the digest that lands there. Every step
now ends in a polite refusal that changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import ADMIN, DIGEST, GENERAL, LEAD, OUTSIDER, SHARED, TEAM, Cadence
from engine_flows import jobs_of, posted_in, utc
from flows import GOOD_FORM, create_engagement, open_form, text_of, wait_reply
from sqlmodel import select
from test_digest_schedule import the_form

from bot.demo.slack_sim import SlackSim
from bot.domain import roles, workspaces
from bot.platform import clock
from bot.platform.config import ConfigError, load_settings
from storage.jobs import JobKind
from storage.models import Engagement, Workspace

STRANGER = "W0STRANGER"  # another organisation's person, in the shared channel
STRANGERS = "T0STRANGERS"
GUEST = "U0GUEST"  # a multi-channel guest of the installed workspace itself
NOW = utc(2026, 11, 27, 10, 0)  # a Friday


def stranger_sim(cadence: Cadence) -> SlackSim:
    """Slack's side for the stranger: their payloads name their own organisation."""
    return SlackSim(cadence.url, cadence.fake, cadence.sim.signing_secret, team_id=STRANGERS)


def workspace_row(cadence: Cadence) -> dict[str, Any] | None:
    with cadence.db.read_session() as session:
        row = session.exec(select(Workspace).where(Workspace.team_id == TEAM)).first()
        return row.model_dump() if row else None


def engagement_names(cadence: Cadence) -> list[str]:
    with cadence.db.read_session() as session:
        return sorted(e.name for e in session.exec(select(Engagement)).all())


def schedule_by_admin(cadence: Cadence) -> None:
    """The real executive channel, chosen by a Cadence admin."""
    with clock.fixed_at(NOW):
        view = the_form(cadence, NOW, view_id="V0ADMINSCHED")
        values = {"weekdays": ["0"], "local_time": "09:00", "timezone": "UTC", "channel": DIGEST}
        reply = cadence.sim.submit_view(view, values, user=ADMIN, check_required=False)
    assert reply.status == 200 and reply.body == "", reply.body


def refusal(cadence: Cadence, reply) -> str:
    assert reply.status == 200, reply.body
    return text_of(wait_reply(cadence, reply))


def opened_count(cadence: Cadence) -> int:
    return len(cadence.fake.calls_to("views.open"))


# --- the review's attack, step by step ------------------------------------------------------------


@pytest.mark.parametrize("admin_at_home", [False, True], ids=["guest", "admin-of-their-own-org"])
def test_a_guest_of_another_organisation_cannot_take_over_the_digest(
    cadence: Cadence, admin_at_home: bool
):
    # Their own organisation may even make them an admin there: that steers nothing here.
    cadence.fake.add_user(STRANGER, name="sly.stranger", team_id=STRANGERS, is_admin=admin_at_home)
    cadence.fake.add_channel(SHARED, name="acme-globex", is_ext_shared=True, bot_is_member=True)
    with clock.fixed_at(NOW):
        create_engagement(cadence, digest_channel=None)
    schedule_by_admin(cadence)
    before = workspace_row(cadence)
    sim = stranger_sim(cadence)
    with clock.fixed_at(NOW):
        opened = opened_count(cadence)
        said = refusal(cadence, sim.command("engagement new", user=STRANGER, channel=SHARED))
        assert "Only members of this workspace can create engagements" in said
        assert opened_count(cadence) == opened  # no form opened
        said = refusal(cadence, sim.command("digest schedule", user=STRANGER, channel=SHARED))
        assert "Only a Cadence admin or a Slack admin or owner" in said
        assert opened_count(cadence) == opened
        said = refusal(cadence, sim.command("digest send", user=STRANGER, channel=SHARED))
        assert "Only a Cadence admin or a Slack admin or owner" in said

        # Submitting forms Slack never opened for them (views someone else had) changes nothing.
        form = open_form(cadence, user=ADMIN)
        reply = sim.submit_view(form, {**GOOD_FORM, "name": "Decoy", "channel": SHARED},
                                user=STRANGER)  # fmt: skip
        assert "Only members of this workspace" in str(reply.json), reply.body
        view = the_form(cadence, NOW, view_id="V0STRANGERSCHED")
        values = {"weekdays": ["0"], "local_time": "09:00", "timezone": "UTC", "channel": SHARED}
        reply = sim.submit_view(view, values, user=STRANGER, check_required=False)
        assert "Only a Cadence admin or a Slack admin or owner" in str(reply.json), reply.body

    assert engagement_names(cadence) == ["Acme Payments"]
    assert workspace_row(cadence) == before
    assert jobs_of(cadence, JobKind.DIGEST) == []
    assert posted_in(cadence, SHARED) == []


def test_a_member_who_leads_a_decoy_engagement_cannot_steer_the_workspace(cadence: Cadence):
    """Anyone in the workspace may create an engagement and so lead it: that makes them a lead
    of *that* engagement, not a steward of the workspace's digest."""
    with clock.fixed_at(NOW):
        create_engagement(cadence, digest_channel=None)
        create_engagement(cadence, user=OUTSIDER, name="Decoy", vendor="Decoy Ltd",
                          channel=GENERAL, vendor_contacts=[], stakeholders=[], kpis="")  # fmt: skip
    schedule_by_admin(cadence)
    before = workspace_row(cadence)
    with clock.fixed_at(NOW):
        opened = opened_count(cadence)
        said = refusal(cadence, cadence.sim.command("digest schedule", user=OUTSIDER))
        assert "Only a Cadence admin or a Slack admin or owner" in said
        assert opened_count(cadence) == opened
        said = refusal(cadence, cadence.sim.command("digest send", user=OUTSIDER))
        assert "Only a Cadence admin or a Slack admin or owner" in said
    assert workspace_row(cadence) == before
    assert jobs_of(cadence, JobKind.DIGEST) == []


def test_a_slack_guest_of_the_workspace_cannot_create_an_engagement(cadence: Cadence):
    """The form opens at once (a trigger lasts 3 s); Slack then says the person is a guest, and
    the form becomes the refusal. A submission anyway (a view kept from before) is refused."""
    cadence.fake.add_user(GUEST, name="gus.guest", tz="UTC", is_restricted=True)
    with clock.fixed_at(NOW):
        reply = cadence.sim.command("engagement new", user=GUEST)
        assert reply.status == 200
        opened = cadence.fake.wait_for("views.open", count=1)[-1]
        view_id = opened.response["view"]["id"]

        def refused() -> dict | None:
            view = cadence.fake.view(view_id)
            return view if view.get("callback_id") == "engagement_refused" else None

        view = cadence.wait_until(refused, what="the form to become the refusal")
        assert "Only members of this workspace can create engagements" in text_of(view)
        assert not view.get("submit")  # nothing to submit
        form = open_form(cadence, user=LEAD)
        reply = cadence.sim.submit_view(form, {**GOOD_FORM, "name": "By a guest"}, user=GUEST)
    assert "Only members of this workspace" in str(reply.json), reply.body
    assert engagement_names(cadence) == []


# --- the stewards -------------------------------------------------------------------------------


def test_a_slack_owner_steers_until_slack_says_otherwise(cadence: Cadence):
    """A workspace owner (on no engagement) chooses the digest's channel; once Slack says they
    are an owner no more, they steer for at most `roles.ROLE_FRESH_FOR` more."""
    cadence.fake.add_user(OUTSIDER, name="otto.other", tz="UTC", is_owner=True)
    with clock.fixed_at(NOW):
        create_engagement(cadence)  # LEAD's; it goes to the workspace's digest channel
        view = open_form(cadence, "digest schedule", user=OUTSIDER)
        reply = cadence.sim.submit_view(view, {"channel": DIGEST}, user=OUTSIDER)
    assert reply.status == 200 and reply.body == "", reply.body
    assert (workspace_row(cadence) or {})["digest_channel_id"] == DIGEST

    cadence.fake.add_user(OUTSIDER, name="otto.other", tz="UTC")  # demoted in Slack
    still = NOW + roles.ROLE_FRESH_FOR - timedelta(minutes=1)
    with clock.fixed_at(still):
        said = refusal(cadence, cadence.sim.command("digest send", user=OUTSIDER))
    assert "Posting the digest" in said  # what Slack said a few minutes ago still holds
    later = NOW + roles.ROLE_FRESH_FOR + timedelta(minutes=1)
    with clock.fixed_at(later):
        opened = opened_count(cadence)
        said = refusal(cadence, cadence.sim.command("digest schedule", user=OUTSIDER))
    assert "Only a Cadence admin or a Slack admin or owner" in said
    assert opened_count(cadence) == opened


def test_the_digest_is_posted_now_at_most_once_a_quarter_of_an_hour(cadence: Cadence):
    with clock.fixed_at(NOW):
        create_engagement(cadence, digest_channel=DIGEST)
        said = refusal(cadence, cadence.sim.command("digest send", user=ADMIN))
    assert "Posting the digest to <#C0DIGEST>" in said
    soon = NOW + timedelta(minutes=5)
    with clock.fixed_at(soon):
        said = refusal(cadence, cadence.sim.command("digest send", user=ADMIN))
    assert "The digest was posted 5 minutes ago; it can be posted again in 10 minutes" in said
    assert len(jobs_of(cadence, JobKind.DIGEST)) == 1
    with clock.fixed_at(NOW + workspaces.MANUAL_SEND_GAP):
        said = refusal(cadence, cadence.sim.command("digest send", user=ADMIN))
    assert "Posting the digest" in said
    assert len(jobs_of(cadence, JobKind.DIGEST)) == 2


def test_send_without_a_digest_channel_does_not_use_up_the_quarter_hour(cadence: Cadence):
    with clock.fixed_at(NOW):
        create_engagement(cadence)
        said = refusal(cadence, cadence.sim.command("digest send", user=ADMIN))
        assert "There is no digest channel yet" in said
    schedule_by_admin(cadence)
    with clock.fixed_at(NOW + timedelta(minutes=1)):
        said = refusal(cadence, cadence.sim.command("digest send", user=ADMIN))
    assert "Posting the digest to <#C0DIGEST>" in said


# --- Cadence admins belong to one workspace -------------------------------------------------------


def test_with_several_workspaces_each_admin_names_their_workspace():
    base = {
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "c",
        "SLACK_STATE_SECRET": "x",
        "CADENCE_ENCRYPTION_KEYS": "f" * 43 + "=",
    }
    with pytest.raises(ConfigError) as refused:
        load_settings({**base, "CADENCE_ADMINS": "U0ADMIN"})
    assert "CADENCE_ADMINS must name each admin's workspace" in str(refused.value)
    assert "T0123ABC:U0ADMIN" in str(refused.value)
    settings = load_settings({**base, "CADENCE_ADMINS": "T0ONE:U0ADMIN,T0TWO:U0OTHER"})
    assert settings.admins_of("T0ONE") == {"U0ADMIN"}
    assert settings.admins_of("T0TWO") == {"U0OTHER"}
    assert settings.admins_of("T0THREE") == frozenset()
    single = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s",
                            "CADENCE_ADMINS": "U0ADMIN,T0ELSE:U0OTHER"})  # fmt: skip
    assert single.admins_of(TEAM) == {"U0ADMIN"}


def test_standing_reads_slacks_flags_and_never_trusts_another_organisations():
    assert roles.standing_in({"team_id": TEAM, "is_owner": True}, TEAM) == roles.OWNER
    assert roles.standing_in({"team_id": TEAM, "is_primary_owner": True}, TEAM) == roles.OWNER
    assert roles.standing_in({"team_id": TEAM, "is_admin": True}, TEAM) == roles.ADMIN
    assert roles.standing_in({"team_id": TEAM}, TEAM) == roles.MEMBER
    guest = {"team_id": TEAM, "is_admin": True, "is_ultra_restricted": True}
    assert roles.standing_in(guest, TEAM) == roles.GUEST
    assert roles.standing_in({"team_id": "T0OTHER", "is_owner": True}, TEAM) == roles.STRANGER
    stranger = {"team_id": TEAM, "is_admin": True, "is_stranger": True}
    assert roles.standing_in(stranger, TEAM) == roles.STRANGER
