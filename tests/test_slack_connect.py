"""Slack Connect under OAuth: a person of another organisation, whose workspace never installed
Cadence, works in a shared channel of a workspace that did.

Their payloads name THEIR workspace (`team.id`, `user.team_id`, a command's `team_id`) and their
organisation (`enterprise`); the fields that say where Cadence is installed are the view's
`app_installed_team_id`, an event's `authorizations[]`, and the clicked message's own `team` and
`app_id`. Cadence answers each with the installation of the workspace that installed it
(`bot/entry/installed_workspace.py`), checks what the person may do as a person of another
organisation, and politely refuses a payload that names only workspaces without Cadence.

Two workspaces have Cadence (Acme, Bravo); the vendor's (T0VENDORCO) has not. Shapes as Slack
documents them: https://docs.slack.dev/apis/slack-connect (teams in payloads),
https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload
(`app_installed_team_id`), https://docs.slack.dev/apis/events-api/#authorizations,
https://github.com/slackapi/bolt-js/issues/1614 (a modal submitted from the other workspace).
"""

from __future__ import annotations

import copy
import json
import secrets
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ACME, EXTERNAL, LEAD, SIGNING_SECRET, TEAM, Cadence
from engine_flows import tick, utc
from flows import text_of, wait_reply
from slack_requests import SlackSim, build_view_submission, sign
from sqlmodel import select
from test_list_queries import statements
from test_workspaces import (
    B_CHANNEL,
    B_LEAD,
    B_VENDOR,
    BRAVO,
    CREATED,
    OAUTH_ENV,
    Deployment,
    assert_refused,
    create_engagement_in,
    install,
    schedule_in,
    serving_workspaces,
)

from bot.blocks.concerns import RAISE_SHORTCUT
from bot.demo.fake_slack import FakeSlack
from bot.entry.installed_workspace import installed_teams
from bot.platform import clock
from storage.db import Database
from storage.models import Concern, StatusUpdate


@pytest.fixture
def two_installed_workspaces(
    fake_slack: FakeSlack, db: Database, database_url: str
) -> Iterator[Deployment]:
    with serving_workspaces(fake_slack, db, database_url) as d:
        yield d


VENDOR_TEAM = "T0VENDORCO"  # EXTERNAL's own workspace: it never installed Cadence
MON = utc(2026, 11, 30, 8, 0)


def from_the_vendors_workspace(d: Deployment) -> Cadence:
    """Slack's side for a person acting from the vendor's workspace: every payload names it."""
    sim = SlackSim(d.url, d.fake, SIGNING_SECRET, team_id=VENDOR_TEAM, team_domain="vendorco")
    return Cadence(url=d.url, services=d.services, fake=d.fake, sim=sim)


def set_up(d: Deployment, monkeypatch) -> None:
    """Acme and Bravo installed; Acme's engagement (EXTERNAL a vendor contact) and its weekly
    check-in opened on Monday, Bravo's too."""
    install(d, TEAM, installer=LEAD)
    install(d, BRAVO, installer=B_LEAD)
    with clock.fixed_at(CREATED):
        create_engagement_in(d.acme, user=LEAD, team_id=TEAM)
        create_engagement_in(
            d.bravo, user=B_LEAD, team_id=BRAVO, name="Bravo Payments", channel=B_CHANNEL,
            vendor_contacts=[B_VENDOR], stakeholders=[], kpis="",
        )  # fmt: skip
    schedule_in(d.acme, "acme-payments", user=LEAD)
    schedule_in(d.bravo, "bravo-payments", user=B_LEAD, escalation_to=[B_LEAD])
    tick(d.acme, monkeypatch, MON, **OAUTH_ENV)


def channel_prompt(d: Deployment) -> dict[str, Any]:
    """The check-in's prompt in Acme's channel that mentions EXTERNAL (who cannot be DMed)."""
    return d.acme.wait_until(
        lambda: next(
            (m for m in d.fake.messages(ACME) if f"<@{EXTERNAL}>" in text_of(m)
             and "Time for" in text_of(m)),
            None,
        ),
        what="the prompt in the engagement channel",
    )  # fmt: skip


def opened_view(d: Deployment, before: int) -> dict[str, Any]:
    opened = d.fake.wait_for("views.open", count=before + 1)[-1]
    assert opened.ok, opened.response
    return d.fake.view(opened.response["view"]["id"])


def acme_token(d: Deployment) -> str:
    (token,) = d.fake.tokens_of(TEAM)
    return token


def test_installed_teams_puts_where_cadence_is_installed_first():
    """The order of the fields, on payloads shaped as Slack sends them from a shared channel."""
    submission = {
        "type": "view_submission",
        "team": {"id": VENDOR_TEAM, "domain": "vendorco"},
        "user": {"id": EXTERNAL, "team_id": VENDOR_TEAM},
        "enterprise": {"id": "E0VENDORORG", "name": "VendorCo"},
        "view": {"id": "V1", "team_id": VENDOR_TEAM, "app_installed_team_id": TEAM},
    }
    assert installed_teams(submission) == (TEAM, VENDOR_TEAM)
    event = {
        "type": "event_callback",
        "team_id": VENDOR_TEAM,
        "context_team_id": VENDOR_TEAM,
        "authorizations": [{"enterprise_id": None, "team_id": TEAM, "is_bot": True}],
        "event": {"type": "message", "user": EXTERNAL, "team": VENDOR_TEAM},
    }
    assert installed_teams(event) == (TEAM, VENDOR_TEAM)
    click = {
        "type": "block_actions",
        "api_app_id": "A0CADENCE",
        "team": {"id": VENDOR_TEAM},
        "message": {"app_id": "A0CADENCE", "team": TEAM, "ts": "1.0"},
    }
    assert installed_teams(click) == (TEAM, VENDOR_TEAM)
    # Someone else's message (another app's, or a person's) says nothing of Cadence.
    click["message"] = {"app_id": "A0OTHERAPP", "team": BRAVO, "ts": "1.0"}
    assert installed_teams(click) == (VENDOR_TEAM,)
    # Odd values of a forged payload are skipped, never a crash.
    assert (
        installed_teams({"team": 5, "view": "x", "authorizations": [None, {"team_id": []}]}) == ()
    )


def test_a_person_of_another_organisation_acts_as_the_installed_workspace(
    two_installed_workspaces, monkeypatch
):
    d = two_installed_workspaces
    set_up(d, monkeypatch)
    vendor = from_the_vendors_workspace(d)
    token = acme_token(d)
    before_calls = len(d.fake.calls)

    # A click on Cadence's prompt in the shared channel: the payload's team is the vendor's,
    # the message is Acme's installation's. The update form opens through Acme's token.
    prompt = channel_prompt(d)
    assert prompt["team"] == TEAM and prompt["app_id"] == d.fake.app_id
    before = len(d.fake.calls_to("views.open"))
    reply = vendor.sim.click(prompt, "checkin_answer", user=EXTERNAL, channel=ACME)
    assert reply.payload["team"]["id"] == VENDOR_TEAM
    assert reply.payload["user"]["team_id"] == VENDOR_TEAM
    assert reply.status == 200 and "installation" not in reply.body, reply.body
    form = opened_view(d, before)
    assert form["app_installed_team_id"] == TEAM

    # Submitted from the vendor's workspace (team = theirs, app_installed_team_id = Acme): the
    # update is Acme's, by EXTERNAL; Slack gets an empty 200 (the modal closes).
    values = {"rag": "amber", "summary": "Tokenisation is live in staging.",
              "reason": "The PSP certification slipped a week."}  # fmt: skip
    reply = vendor.sim.submit_view(form, values, user=EXTERNAL)
    assert reply.payload["team"]["id"] == VENDOR_TEAM
    assert reply.status == 200 and reply.body == "", reply.body
    update = d.acme.wait_until(lambda: one_update(d), what="the update")
    assert (update.team_id, update.author_user_id, update.rag) == (TEAM, EXTERNAL, "amber")

    # The Home tab: the event names the vendor's workspace, `authorizations` Acme's
    # installation. EXTERNAL's Home is published with Acme's token and shows Acme's
    # engagement they are on, never Bravo's.
    publishes = len(d.fake.calls_to("views.publish"))
    reply = shared_event(d, {"type": "app_home_opened", "user": EXTERNAL, "tab": "home",
                             "channel": d.fake.dm_channel_id(EXTERNAL),
                             "event_ts": f"{time.time():.6f}"})  # fmt: skip
    assert reply.status == 200
    published = d.fake.wait_for("views.publish", count=publishes + 1)[-1]
    assert published.token == token and published.args["user_id"] == EXTERNAL
    home = json.dumps(published.args["view"])
    assert "Acme Payments" in home and "Bravo Payments" not in home

    # Everything this person caused went out with Acme's token.
    after = [c for c in d.fake.calls[before_calls:] if c.method != "auth.test"]
    assert after and {c.token for c in after} == {token}, {(c.method, c.token) for c in after}


def test_a_grid_workspace_serves_a_person_of_another_grid_organisation(
    two_installed_workspaces, monkeypatch
):
    """Acme is a workspace of an Enterprise Grid organisation, the vendor's another: their
    submission names the vendor's organisation (`enterprise`, `team.enterprise_id`) and Acme's
    workspace (`app_installed_team_id`). Bolt's own lookup, by enterprise and team together,
    finds nothing there; Cadence finds Acme's installation by its workspace."""
    d = two_installed_workspaces
    d.fake.add_team(TEAM, name=d.fake.team_name, domain="acme", enterprise=("E0ACMEORG", "Acme"))
    set_up(d, monkeypatch)
    vendor = from_the_vendors_workspace(d)
    before = len(d.fake.calls_to("views.open"))
    vendor.sim.click(channel_prompt(d), "checkin_answer", user=EXTERNAL, channel=ACME)
    form = opened_view(d, before)
    values = {"rag": "green", "summary": "Certified."}
    payload = build_view_submission(
        form, values, user=EXTERNAL, trigger_id=d.fake.new_trigger_id(view_id=form["id"]),
        team_id=VENDOR_TEAM, team_domain="vendorco", api_app_id=d.fake.app_id, fake=d.fake,
    )  # fmt: skip
    payload["team"].update(enterprise_id="E0VENDORORG", enterprise_name="VendorCo")
    payload["enterprise"] = {"id": "E0VENDORORG", "name": "VendorCo"}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    reply = vendor.sim.raw_post(body, sign(body, SIGNING_SECRET))
    assert reply.status == 200 and reply.body == "", reply.body
    update = d.acme.wait_until(lambda: one_update(d), what="the update")
    assert (update.team_id, update.author_user_id, update.rag) == (TEAM, EXTERNAL, "green")


def test_a_person_of_another_organisation_is_checked_as_one(two_installed_workspaces, monkeypatch):
    """Acted on as Acme, but as a person of another organisation: they may not resolve a
    concern they do not handle, nor see Acme's engagements they are not on."""
    d = two_installed_workspaces
    set_up(d, monkeypatch)
    vendor = from_the_vendors_workspace(d)
    # A concern raised by Acme's lead, its card in the engagement channel.
    before = len(d.fake.calls_to("views.open"))
    d.acme.sim.command("concern acme-payments Card data in logs", user=LEAD)
    form = opened_view(d, before)
    reply = d.acme.sim.submit_view(form, {"severity": "high", "category": "security"}, user=LEAD)
    assert reply.status == 200
    card = d.acme.wait_until(lambda: concern_card(d), what="the concern's card")
    assert card["team"] == TEAM

    opened = len(d.fake.calls_to("views.open"))
    reply = vendor.sim.click(card, "concern:resolve", user=EXTERNAL, channel=ACME)
    assert reply.status == 200
    said = text_of(wait_reply(vendor, reply))
    assert "Only <@" in said and "installation" not in said, said
    assert len(d.fake.calls_to("views.open")) == opened
    with d.db.read_session() as session:
        assert session.exec(select(Concern.status)).one() == "open"


def test_a_payload_naming_only_a_workspace_without_cadence_is_refused_politely(
    two_installed_workspaces, monkeypatch
):
    d = two_installed_workspaces
    set_up(d, monkeypatch)
    vendor = from_the_vendors_workspace(d)
    opened = len(d.fake.calls_to("views.open"))

    # A slash command names only where the person was (https://docs.slack.dev/interactivity/
    # implementing-slash-commands: team_id): their workspace, without Cadence; sent in no
    # engagement's channel (their DM), nothing says which installation it is for.
    reply = vendor.sim.command("update acme-payments", user=EXTERNAL, channel="D0VENDORDM")
    assert_refused(vendor, reply)
    # The message shortcut on a message of the vendor's own person: nothing in it is Cadence's.
    theirs = {"type": "message", "user": EXTERNAL, "team": VENDOR_TEAM, "text": "Deploy done",
              "ts": f"{time.time():.6f}", "channel": ACME}  # fmt: skip
    reply = vendor.sim.message_shortcut(RAISE_SHORTCUT, theirs, user=EXTERNAL, channel=ACME)
    assert_refused(vendor, reply)

    # A modal whose view does not say where it was opened (no app_installed_team_id) and whose
    # team is the vendor's: refused, nothing saved.
    prompt = channel_prompt(d)
    vendor.sim.click(prompt, "checkin_answer", user=EXTERNAL, channel=ACME)
    form = opened_view(d, opened)
    stripped = copy.deepcopy(form)
    del stripped["app_installed_team_id"]
    stripped["team_id"] = VENDOR_TEAM
    reply = vendor.sim.submit_view(stripped, {"rag": "green", "summary": "Fine."}, user=EXTERNAL)
    assert reply.status == 200 and "no longer available" in reply.body, reply.body
    assert one_update(d) is None

    # An event delivered for no installation of Cadence (authorizations name the vendor's).
    publishes = len(d.fake.calls_to("views.publish"))
    reply = shared_event(d, {"type": "app_home_opened", "user": EXTERNAL, "tab": "home",
                             "event_ts": f"{time.time():.6f}"}, installed=VENDOR_TEAM)  # fmt: skip
    assert reply.status == 200
    assert len(d.fake.calls_to("views.publish")) == publishes


def test_an_external_persons_command_in_the_shared_engagement_channel_is_served(
    two_installed_workspaces, monkeypatch
):
    """The vendor's `/cadence` names the vendor's workspace (no Cadence there) and the channel:
    Acme's engagement channel, so Acme's installation serves it, the person checked as one of
    another organisation, found with one indexed query. In their DM, in a channel that is no
    engagement's, or in one two workspaces' engagements use, it is refused politely."""
    d = two_installed_workspaces
    set_up(d, monkeypatch)
    vendor = from_the_vendors_workspace(d)
    with statements(d.db.engine) as sent:
        reply = vendor.sim.command("status acme-payments", user=EXTERNAL, channel=ACME)
        said = text_of(wait_reply(vendor, reply))
    assert said.startswith("Health of Acme Payments"), said
    lookups = [q for q in sent if "DISTINCT engagement.team_id" in q]
    assert len(lookups) == 1, lookups
    if d.db.engine.dialect.name == "sqlite":
        with d.db.engine.connect() as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {lookups[0]}", (ACME, 2, 0)).all()
        assert "ix_engagement_channel_id" in str(plan), plan
    # Checked as a person of another organisation: Acme's engagement they are not on is not
    # theirs to see, from the shared channel either (Acme's lead sees it).
    with clock.fixed_at(CREATED):
        create_engagement_in(
            d.acme, user=LEAD, team_id=TEAM, name="Acme Internal", channel="C0INTERNAL",
            vendor_contacts=["U0VENDOR"],
        )  # fmt: skip
    reply = vendor.sim.command("status acme-internal", user=EXTERNAL, channel=ACME)
    assert "A health card is for the people on its engagement" in text_of(wait_reply(vendor, reply))
    reply = vendor.sim.command("engagement list", user=EXTERNAL, channel=ACME)
    listed = text_of(wait_reply(vendor, reply))
    assert "acme-payments" in listed and "acme-internal" not in listed, listed
    reply = d.acme.sim.command("status acme-internal", user=LEAD, channel=ACME)
    assert "Health of Acme Internal" in text_of(wait_reply(d.acme, reply))

    for channel in ("D0VENDORDM", "C0NOENGAGEMENT"):
        assert_refused(vendor, vendor.sim.command("status acme-payments", user=EXTERNAL,
                                                  channel=channel))  # fmt: skip
    # Bravo's people make ACME their engagement's channel too: which workspace? Neither.
    with clock.fixed_at(CREATED):
        create_engagement_in(
            d.bravo, user=B_LEAD, team_id=BRAVO, name="Bravo Shared", channel=ACME,
            vendor_contacts=[B_VENDOR], stakeholders=[], kpis="",
        )  # fmt: skip
    assert_refused(vendor, vendor.sim.command("status acme-payments", user=EXTERNAL,
                                              channel=ACME))  # fmt: skip


def one_update(d: Deployment) -> StatusUpdate | None:
    with d.db.read_session() as session:
        return session.exec(select(StatusUpdate)).first()


def concern_card(d: Deployment) -> dict[str, Any] | None:
    with d.db.read_session() as session:
        row = session.exec(select(Concern)).first()
    if row is None or not row.message_ts:
        return None
    return d.fake.message(row.channel_id, row.message_ts)


def shared_event(d: Deployment, event: dict[str, Any], *, installed: str = TEAM):
    """An Events API envelope as Slack sends it for a person of the vendor's workspace: the
    outer team is theirs, `authorizations` names the installation it is delivered for
    (https://docs.slack.dev/apis/events-api/#authorizations)."""
    envelope = {
        "token": "legacy-verification-token",
        "team_id": VENDOR_TEAM,
        "context_team_id": VENDOR_TEAM,
        "context_enterprise_id": None,
        "api_app_id": d.fake.app_id,
        "event": {**event, "user_team": VENDOR_TEAM},
        "type": "event_callback",
        "event_id": f"Ev0SC{secrets.token_hex(4).upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": installed,
                "user_id": d.fake.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            },
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }
    body = json.dumps(envelope)
    return d.acme.sim.raw_post(body, sign(body, SIGNING_SECRET, content_type="application/json"))
