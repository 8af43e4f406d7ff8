"""One deployment, several workspaces: each installs Cadence through Slack's OAuth flow, each is
served with its own bot token, nothing crosses from one to the other, and a workspace that
uninstalls Cadence gets nothing more, its data kept until an admin forgets it.

Two workspaces live in one fake Slack: Acme (the conftest workspace, T0CADENCE) and Bravo. Every
Web API call the fake records carries the token it was made with, and the fake knows which
workspace issued each token.
"""

from __future__ import annotations

import html
import io
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server

import pytest
from conftest import (
    ACME,
    ADMIN,
    LEAD,
    SIGNING_SECRET,
    TEAM,
    VENDOR,
    Cadence,
    _QuietHandler,
    _ThreadingWSGIServer,
    app_services,
    make_settings,
)
from engine_flows import WEEKLY_MONDAY, tick, utc
from flows import GOOD_FORM, open_form, submit, text_of, wait_reply
from slack_requests import SlackSim
from sqlalchemy import func, select, update
from sqlmodel import SQLModel

from bot.demo.fake_slack import FakeSlack
from bot.demo.waiting import SERVE_POLL_SECONDS
from bot.entry.app import BOT_SCOPES
from bot.entry.cli import main
from bot.entry.forget_workspace import forget_workspace
from bot.entry.wsgi import CadenceWSGI
from bot.platform import clock
from bot.platform.config import ConfigError, load_settings
from bot.platform.services import Services
from storage.db import Database
from storage.models import (
    SLACK_BOTS,
    SLACK_OAUTH_STATES,
    CheckIn,
    Engagement,
    ScheduledJob,
    Workspace,
)

CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "cadence-client-secret"
STATE_SECRET = "a long random text only this deployment knows"
ENCRYPTION_KEY = "cTiWnRT3iNfDjp1J3tDi8W6VjZ8Z2zgxBukmlqRDcFQ="  # a Fernet key, for the tests only
OAUTH_ENV = {
    "SLACK_BOT_TOKEN": "",
    "SLACK_CLIENT_ID": CLIENT_ID,
    "SLACK_CLIENT_SECRET": CLIENT_SECRET,
    "SLACK_STATE_SECRET": STATE_SECRET,
    "CADENCE_ENCRYPTION_KEYS": ENCRYPTION_KEY,
    # With several workspaces each Cadence admin names their own (a bare ID is refused).
    # W0GRIDADMIN is an admin of Acme only, though a member of Bravo too (see its test).
    "CADENCE_ADMINS": f"{TEAM}:{ADMIN},{TEAM}:W0GRIDADMIN",
}
BRAVO = "T0BRAVO"
B_LEAD = "U0BLEAD"
B_VENDOR = "U0BVENDOR"
B_GENERAL = "C0BGENERAL"
B_CHANNEL = "C0BRAVOPAY"
CHARLIE = "T0CHARLIE"  # a workspace that never installed Cadence
C_USER = "U0CUSER"
CREATED = utc(2026, 11, 25, 10, 0)  # a Wednesday
MON = utc(2026, 11, 30, 8, 0)  # Monday 09:00 in Berlin
NEXT_MON = utc(2026, 12, 7, 8, 0)
MANIFEST = (Path(__file__).resolve().parents[1] / "manifest.yml").read_text()


@dataclass
class Deployment:
    """The app serving two workspaces; `acme` and `bravo` drive it as each workspace's Slack."""

    url: str
    services: Services
    fake: FakeSlack
    acme: Cadence
    bravo: Cadence
    charlie: Cadence

    @property
    def db(self) -> Database:
        return self.services.db


@pytest.fixture
def deployment(fake_slack: FakeSlack, db: Database, database_url: str) -> Iterator[Deployment]:
    with serving_workspaces(fake_slack, db, database_url) as d:
        yield d


@contextmanager
def serving_workspaces(fake: FakeSlack, db: Database, database_url: str) -> Iterator[Deployment]:
    """The app under OAuth, serving HTTP, with Bravo and Charlie added to the fake's Slack."""
    fake.oauth_client = (CLIENT_ID, CLIENT_SECRET)
    fake.add_team(BRAVO, name="Bravo", domain="bravo")
    fake.add_user(B_LEAD, name="bea.lead", tz="Europe/Berlin", team_id=BRAVO)
    fake.add_user(B_VENDOR, name="bo.vendor", tz="Europe/Berlin", team_id=BRAVO)
    fake.add_channel(B_GENERAL, name="general", bot_is_member=True)
    fake.add_channel(B_CHANNEL, name="bravo-payments")
    fake.add_team(CHARLIE, name="Charlie")
    fake.add_user(C_USER, name="cy.user", team_id=CHARLIE)
    services = app_services(make_settings(database_url, fake, **OAUTH_ENV), db)
    application = CadenceWSGI(services)
    server = make_server(
        "127.0.0.1", 0, application, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": SERVE_POLL_SECONDS}, daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"

    def as_workspace(team_id: str, domain: str) -> Cadence:
        sim = SlackSim(url, fake, SIGNING_SECRET, team_id=team_id, team_domain=domain)
        return Cadence(url=url, services=services, fake=fake, sim=sim)

    try:
        yield Deployment(
            url=url,
            services=services,
            fake=fake,
            acme=as_workspace(TEAM, "acme"),
            bravo=as_workspace(BRAVO, "bravo"),
            charlie=as_workspace(CHARLIE, "charlie"),
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        application.close()


# --- Slack's side of the install -------------------------------------------------------------------


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers


def install(d: Deployment, team_id: str, installer: str) -> str:
    """A person opens /slack/install, approves on Slack's page, and Slack sends their browser
    back to /slack/oauth_redirect with a code; returns the success page."""
    status, page, headers = get(f"{d.url}/slack/install")
    assert status == 200, page
    authorize_url = html.unescape(
        re.search(r'href="(https://slack.com/oauth/v2/authorize[^"]+)"', page)[1]
    )
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(authorize_url).query)
    assert query["client_id"] == [CLIENT_ID]
    cookie = headers["Set-Cookie"].split(";")[0]  # the browser keeps the state cookie
    code = d.fake.authorize(team_id, installer=installer, scopes=query["scope"][0].split(","))
    back = urllib.parse.urlencode({"code": code, "state": query["state"][0]})
    status, page, _ = get(f"{d.url}/slack/oauth_redirect?{back}", {"Cookie": cookie})
    assert status == 200, page
    return page


def create_engagement_in(c: Cadence, *, user: str, team_id: str, **values: Any) -> Engagement:
    """The engagement modal's round trip, for a person of workspace `team_id`."""
    view = open_form(c, user=user)
    reply = submit(c, view, {**GOOD_FORM, **values}, user=user)
    assert reply.json is None or "errors" not in reply.json, reply.json
    found = c.wait_until(
        lambda: engagement_named(c.db, team_id, values.get("name", GOOD_FORM["name"])),
        what="the engagement",
    )
    c.wait_until(
        lambda: any(
            x.args.get("channel") == user and "is set up" in str(x.args.get("text"))
            for x in c.fake.calls_to("chat.postMessage")
        ),
        what="the creator's confirmation",
    )
    return found


def engagement_named(db: Database, team_id: str, name: str) -> Engagement | None:
    with db.read_session() as session:
        return (
            session.execute(
                select(Engagement)
                .where(Engagement.team_id == team_id)
                .where(Engagement.name == name)
            )
            .scalars()
            .first()
        )


def schedule_in(c: Cadence, handle: str, *, user: str, **values: Any) -> None:
    with clock.fixed_at(CREATED):
        view = open_form(c, f"schedule {handle}", user=user)
        before = len(c.fake.calls_to("chat.postMessage"))
        reply = submit(c, view, {**WEEKLY_MONDAY, **values}, user=user)
        assert reply.json is None or "errors" not in reply.json, reply.json
        c.wait_until(
            lambda: any(
                "cadence #" in str(x.args.get("text"))
                for x in c.fake.calls_to("chat.postMessage")[before:]
            ),
            what="the lead's confirmation",
        )


def oauth_tick(d: Deployment, monkeypatch, at) -> list[str]:
    return tick(d.acme, monkeypatch, at, **OAUTH_ENV)


def rows_by_table(db: Database, team_id: str) -> dict[str, int]:
    counts = {}
    with db.read_session() as session:
        for table in SQLModel.metadata.sorted_tables:
            if "team_id" in table.c:
                counts[table.name] = session.execute(
                    select(func.count()).select_from(table).where(table.c.team_id == team_id)
                ).scalar_one()
    return counts


ACME_PLACES = {LEAD, VENDOR, ACME, "C0GENERAL", "U0LEADTWO", "U0STAKE", "W0EXTERNAL", ADMIN}
BRAVO_PLACES = {B_LEAD, B_VENDOR, B_GENERAL, B_CHANNEL}


def target_of(call) -> str | None:
    args = call.args
    return args.get("channel") or args.get("user") or args.get("user_id") or args.get("users")


def assert_each_call_speaks_for_its_workspace(fake: FakeSlack) -> None:
    """Every call to an Acme person or channel carried Acme's token, every call to Bravo's
    carried Bravo's (DM channels are mapped back to their person)."""
    dm_owner = {fake.dm_channel_id(u): u for u in ACME_PLACES | BRAVO_PLACES if u[0] in "UW"}
    for call in fake.calls:
        target = target_of(call)
        target = dm_owner.get(target, target)
        if target in ACME_PLACES:
            assert fake.team_of(call.token) == TEAM, (call.method, target, call.token)
        elif target in BRAVO_PLACES:
            assert fake.team_of(call.token) == BRAVO, (call.method, target, call.token)


# --- the tests -------------------------------------------------------------------------------------


def test_two_workspaces_install_and_nothing_crosses_between_them(deployment, monkeypatch):
    d = deployment
    install(d, TEAM, installer=LEAD)
    install(d, BRAVO, installer=B_LEAD)
    (acme_token,) = d.fake.tokens_of(TEAM)
    (bravo_token,) = d.fake.tokens_of(BRAVO)
    assert acme_token != bravo_token
    assert [c.ok for c in d.fake.calls_to("oauth.v2.access")] == [True, True]

    with clock.fixed_at(CREATED):
        alpha = create_engagement_in(d.acme, user=LEAD, team_id=TEAM)
        bravo = create_engagement_in(
            d.bravo,
            user=B_LEAD,
            team_id=BRAVO,
            name="Bravo Payments",
            channel=B_CHANNEL,
            vendor_contacts=[B_VENDOR],
            stakeholders=[],
            kpis="",
        )
    assert (alpha.team_id, bravo.team_id) == (TEAM, BRAVO)
    # Each workspace's calls went out with its own token.
    assert {c.token for c in d.fake.calls if c.args.get("channel") == B_CHANNEL} == {bravo_token}
    assert {c.token for c in d.fake.calls if c.args.get("channel") == ACME} == {acme_token}
    assert_each_call_speaks_for_its_workspace(d.fake)

    # An engagement of Acme is invisible to commands from Bravo, and the other way round.
    listed = text_of(wait_reply(d.bravo, d.bravo.sim.command("engagement list", user=B_LEAD)))
    assert "bravo-payments" in listed and "acme-payments" not in listed
    listed = text_of(wait_reply(d.acme, d.acme.sim.command("engagement list", user=LEAD)))
    assert "acme-payments" in listed and "bravo-payments" not in listed
    card = text_of(wait_reply(d.bravo, d.bravo.sim.command("status acme-payments", user=B_LEAD)))
    assert "Acme Payments" not in card and "Globex" not in card

    # Both get their check-in on Monday, each through its own token; the jobs carry their team.
    schedule_in(d.acme, "acme-payments", user=LEAD)
    schedule_in(d.bravo, "bravo-payments", user=B_LEAD, escalation_to=[B_LEAD])
    before = len(d.fake.calls)
    oauth_tick(d, monkeypatch, MON)
    prompts = [c for c in d.fake.calls[before:] if c.method == "chat.postMessage"]
    to_vendor = {c.args["channel"]: c.token for c in prompts if "Time for" in text_of(c.args)}
    assert to_vendor[VENDOR] == acme_token and to_vendor[B_VENDOR] == bravo_token
    assert_each_call_speaks_for_its_workspace(d.fake)
    with d.db.read_session() as session:
        jobs = session.execute(select(ScheduledJob)).scalars().all()
        checkins = session.execute(select(CheckIn)).scalars().all()
    assert {(c.team_id, c.engagement_id) for c in checkins} == {
        (TEAM, alpha.id),
        (BRAVO, bravo.id),
    }
    for job in jobs:
        assert job.team_id in (TEAM, BRAVO)
        if job.user_id:
            assert (job.user_id in BRAVO_PLACES) == (job.team_id == BRAVO), job.key


def test_an_uninstalled_workspace_gets_nothing_more_and_a_reinstall_takes_it_up(
    deployment, monkeypatch
):
    d = deployment
    install(d, TEAM, installer=LEAD)
    install(d, BRAVO, installer=B_LEAD)
    (acme_token,) = d.fake.tokens_of(TEAM)
    with clock.fixed_at(CREATED):
        create_engagement_in(d.acme, user=LEAD, team_id=TEAM)
        create_engagement_in(
            d.bravo, user=B_LEAD, team_id=BRAVO, name="Bravo Payments", channel=B_CHANNEL,
            vendor_contacts=[B_VENDOR], stakeholders=[], kpis="",
        )  # fmt: skip
    schedule_in(d.acme, "acme-payments", user=LEAD)
    schedule_in(d.bravo, "bravo-payments", user=B_LEAD, escalation_to=[B_LEAD])
    oauth_tick(d, monkeypatch, MON)
    with d.db.read_session() as session:
        acme_pending = session.execute(
            select(func.count())
            .select_from(ScheduledJob)
            .where(ScheduledJob.team_id == TEAM)
            .where(ScheduledJob.status == "pending")
        ).scalar_one()
    assert acme_pending > 0  # reminders, the overdue alert, the escalation

    # Acme uninstalls Cadence: Slack revokes the token and tells the app.
    d.fake.uninstall(TEAM)
    reply = d.acme.sim.event({"type": "app_uninstalled", "event_ts": "1700000000.000100"})
    assert reply.status == 200
    workspace = d.acme.wait_until(
        lambda: (w := workspace_row(d.db, TEAM)) and w.uninstalled_at and w,
        what="Acme marked uninstalled",
    )
    assert workspace.uninstalled_at is not None
    with d.db.read_session() as session:
        statuses = (
            session.execute(select(ScheduledJob.status).where(ScheduledJob.team_id == TEAM))
            .scalars()
            .all()
        )
        acme_bots = session.execute(
            select(func.count()).select_from(SLACK_BOTS).where(SLACK_BOTS.c.team_id == TEAM)
        ).scalar_one()
    assert "pending" not in statuses and statuses.count("cancelled") == acme_pending
    assert acme_bots == 0
    assert engagement_named(d.db, TEAM, "Acme Payments") is not None  # its data is kept

    # Later ticks: nothing for Acme (no call at all to its people or channels), Bravo as usual.
    before = len(d.fake.calls)
    for moment in (utc(2026, 12, 1, 8, 0), utc(2026, 12, 2, 9, 0), NEXT_MON):
        oauth_tick(d, monkeypatch, moment)
    later = d.fake.calls[before:]
    assert [c for c in later if c.token == acme_token] == []
    assert [c for c in later if target_of(c) in ACME_PLACES | {d.fake.dm_channel_id(VENDOR)}] == []
    assert any(c.args.get("channel") == B_VENDOR and "Time for" in text_of(c.args) for c in later)
    with d.db.read_session() as session:
        acme_checkins = session.execute(
            select(func.count()).select_from(CheckIn).where(CheckIn.team_id == TEAM)
        ).scalar_one()
    assert acme_checkins == 1  # the week before it left

    # A signed request from Acme now finds no installation: refused, nothing done.
    before = len(d.fake.calls)
    reply = d.acme.sim.command("engagement list", user=LEAD)
    assert_refused(d.acme, reply)
    assert [c for c in d.fake.calls[before:] if c.method != "auth.test"] == []

    # Installing Cadence again takes Acme up again from the next Monday on.
    install(d, TEAM, installer=LEAD)
    assert workspace_row(d.db, TEAM).uninstalled_at is None
    new_token = next(t for t in d.fake.tokens_of(TEAM) if t != acme_token)
    before = len(d.fake.calls)
    oauth_tick(d, monkeypatch, utc(2026, 12, 14, 8, 0))
    prompts = [
        c
        for c in d.fake.calls[before:]
        if c.args.get("channel") == VENDOR and c.method == "chat.postMessage"
    ]
    assert prompts and {c.token for c in prompts} == {new_token}


def test_tokens_revoked_for_the_bot_stops_the_workspace_too(deployment):
    d = deployment
    install(d, TEAM, installer=LEAD)
    install(d, BRAVO, installer=B_LEAD)
    # A user token revoked in Bravo: Cadence holds none, so nothing changes.
    d.bravo.sim.event({"type": "tokens_revoked", "tokens": {"oauth": [B_LEAD], "bot": []}})
    d.acme.sim.event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0CADBOT"]}})
    d.acme.wait_until(lambda: count_bots(d.db, TEAM) == 0, what="Acme's bot token rows deleted")
    assert count_bots(d.db, BRAVO) == 1


def assert_refused(c: Cadence, reply) -> None:
    """Bolt's answer to a signed request from a workspace without an installation: an
    apology to the person (through the response URL), and nothing done."""
    assert reply.status == 200
    said = reply.body + "".join(
        str(r.body) for r in c.fake.responses if reply.response_url.endswith("/" + r.name)
    )
    if "no longer available" not in said:
        said = text_of(wait_reply(c, reply))
    assert "no longer available" in said


def count_bots(db: Database, team_id: str) -> int:
    with db.read_session() as session:
        return session.execute(
            select(func.count()).select_from(SLACK_BOTS).where(SLACK_BOTS.c.team_id == team_id)
        ).scalar_one()


def workspace_row(db: Database, team_id: str) -> Workspace | None:
    with db.read_session() as session:
        return (
            session.execute(select(Workspace).where(Workspace.team_id == team_id)).scalars().first()
        )


def test_a_workspace_that_never_installed_cadence_is_refused(deployment):
    d = deployment
    install(d, TEAM, installer=LEAD)
    reply = d.charlie.sim.command("engagement new", user=C_USER)
    assert_refused(d.charlie, reply)
    assert d.fake.calls_to("views.open") == []
    with d.db.read_session() as session:
        assert session.execute(select(func.count()).select_from(Engagement)).scalar_one() == 0


def test_a_cadence_admin_of_one_workspace_is_no_admin_of_another(deployment):
    """In an Enterprise Grid organisation one person (a W… id) belongs to several workspaces.
    CADENCE_ADMINS makes them an admin of Acme only: asked from Bravo, where they are a plain
    member, Cadence refuses them Bravo's engagement and Bravo's digest; in Acme they are an
    admin. (A bare id would have made them an admin of every workspace that installs Cadence.)"""
    d = deployment
    grid = "W0GRIDADMIN"
    d.fake.add_user(grid, name="gia.grid", tz="UTC", team_id=BRAVO)
    install(d, TEAM, installer=LEAD)
    install(d, BRAVO, installer=B_LEAD)
    with clock.fixed_at(CREATED):
        create_engagement_in(
            d.bravo, user=B_LEAD, team_id=BRAVO, name="Bravo Payments", channel=B_CHANNEL,
            vendor_contacts=[B_VENDOR], stakeholders=[], kpis="", digest_channel=B_GENERAL,
        )  # fmt: skip
        opened = len(d.fake.calls_to("views.open"))
        edit = d.bravo.sim.command("engagement edit bravo-payments", user=grid)
        assert "Only the leads of" in text_of(wait_reply(d.bravo, edit))
        assert len(d.fake.calls_to("views.open")) == opened  # no form opened
        said = text_of(wait_reply(d.bravo, d.bravo.sim.command("digest send", user=grid)))
        assert "Only a Cadence admin or a Slack admin or owner" in said
        with d.db.read_session() as session:
            assert (
                session.exec(select(ScheduledJob).where(ScheduledJob.kind == "digest")).all() == []
            )
        home = d.acme.sim.command("digest send", user=grid, user_team_id=TEAM)
        said = text_of(wait_reply(d.acme, home))
    assert "There is no digest channel yet" in said  # allowed at home: only nothing to post


def test_an_install_with_a_state_cadence_did_not_issue_is_refused(deployment):
    d = deployment
    _, page, _ = get(f"{d.url}/slack/install")
    state = re.search(r"state=([^&\"]+)", html.unescape(page))[1]
    forged = state.rsplit(".", 1)[0] + ".0000"
    code = d.fake.authorize(TEAM, installer=LEAD)
    back = urllib.parse.urlencode({"code": code, "state": forged})
    status, _, _ = get(
        f"{d.url}/slack/oauth_redirect?{back}", {"Cookie": f"slack-app-oauth-state={forged}"}
    )
    assert status == 401
    assert d.fake.calls_to("oauth.v2.access") == [] and count_bots(d.db, TEAM) == 0


def test_install_pages_left_unfinished_leave_no_rows_behind(deployment, monkeypatch):
    """Anyone can open the install page, and each visit stores a state until an install comes
    back with it: the engine lets go of those that expired (an hour after, by the wall clock),
    not of one still running."""
    d = deployment
    install(d, TEAM, installer=LEAD)
    for _ in range(3):
        status, _, _ = get(f"{d.url}/slack/install")
        assert status == 200
    with d.db.session() as session:
        ids = session.execute(select(SLACK_OAUTH_STATES.c.id)).scalars().all()
        assert len(ids) == 3  # the finished install's state was used up
        long_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
        session.execute(  # two of the visits were two hours ago
            update(SLACK_OAUTH_STATES)
            .where(SLACK_OAUTH_STATES.c.id.in_(ids[:2]))
            .values(expire_at=long_ago)
        )
    oauth_tick(d, monkeypatch, utc(2026, 12, 1, 8, 0))
    with d.db.read_session() as session:
        left = session.execute(select(SLACK_OAUTH_STATES.c.id)).scalars().all()
    assert left == ids[2:]


def test_forget_workspace_deletes_only_that_workspaces_rows(deployment, monkeypatch):
    d = deployment
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
    oauth_tick(d, monkeypatch, MON)
    bravo_before = rows_by_table(d.db, BRAVO)
    acme_before = rows_by_table(d.db, TEAM)
    assert acme_before["engagement"] == 1 and acme_before["slack_bots"] == 1

    # Asked to confirm, anything but the team id keeps everything.
    out = io.StringIO()
    with redirect_stdout(out):
        status = forget_workspace(d.services, TEAM, confirmed=False, ask=lambda _: "yes")
    assert status == 1 and rows_by_table(d.db, TEAM) == acme_before
    assert "engagement: 1" in out.getvalue() and "still has Cadence installed" in out.getvalue()

    # The command, with --yes (the environment is the deployment's: `tick` above set it).
    # Every Acme row is gone, every Bravo row is still there.
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["forget-workspace", TEAM, "--yes"]) == 0
    assert set(rows_by_table(d.db, TEAM).values()) == {0}
    assert rows_by_table(d.db, BRAVO) == bravo_before
    printed = out.getvalue()
    assert f"Deleted {sum(acme_before.values())} rows of workspace {TEAM}" in printed
    assert "  engagement: 1" in printed and "  slack_bots: 1" in printed

    # Typing the team id back is the confirmation.
    out = io.StringIO()
    with redirect_stdout(out):
        assert forget_workspace(d.services, BRAVO, confirmed=False, ask=lambda _: BRAVO) == 0
    assert set(rows_by_table(d.db, BRAVO).values()) == {0}


# --- configuration -------------------------------------------------------------------------------


def test_oauth_needs_all_three_variables_and_then_no_bot_token():
    base = {"SLACK_SIGNING_SECRET": "s"}
    settings = load_settings({**base, **OAUTH_ENV})
    assert settings.oauth and settings.slack_bot_token == ""
    assert CLIENT_SECRET not in repr(settings) and STATE_SECRET not in repr(settings)
    with pytest.raises(ConfigError) as raised:
        load_settings({**base, "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_STATE_SECRET": "x"})
    (line,) = raised.value.problems
    assert line.startswith("SLACK_CLIENT_SECRET is not set: ")
    with pytest.raises(ConfigError) as raised:
        load_settings({**base, **OAUTH_ENV, "SLACK_APP_TOKEN": "xapp-1-A-1-x"})
    assert raised.value.problems[0].startswith(
        "SLACK_APP_TOKEN cannot be used with SLACK_CLIENT_ID"
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(base)
    assert raised.value.problems[0].startswith("SLACK_BOT_TOKEN is not set")


def test_an_install_asks_for_the_manifests_scopes():
    lines = MANIFEST.split("    bot:\n", 1)[1].splitlines()
    block = [line for line in lines[: next(i for i, x in enumerate(lines) if x[:6].strip())]]
    scopes = [x.split("#")[0].strip()[2:] for x in block if x.strip().startswith("- ")]
    assert scopes and sorted(BOT_SCOPES) == sorted(scopes)


def test_with_one_token_an_uninstall_cancels_what_was_pending(cadence, monkeypatch):
    """SLACK_BOT_TOKEN mode: the deployment's only token is gone; what was pending is
    cancelled, and the workspace is not marked (no install flow would ever clear the mark:
    a new token and a restart take it up again)."""
    with clock.fixed_at(CREATED):
        create_engagement_in(cadence, user=LEAD, team_id=TEAM)
    schedule_in(cadence, "acme-payments", user=LEAD)
    tick(cadence, monkeypatch, MON)
    reply = cadence.sim.event({"type": "app_uninstalled", "event_ts": "1700000000.000100"})
    assert reply.status == 200

    def statuses() -> list[str]:
        with cadence.db.read_session() as session:
            return list(session.execute(select(ScheduledJob.status)).scalars())

    cadence.wait_until(lambda: "pending" not in statuses(), what="pending jobs cancelled")
    assert "cancelled" in statuses()
    assert workspace_row(cadence.db, TEAM).uninstalled_at is None
