"""Who may do what: every `/cadence` command, every button and every form submission the app
binds (handlers/__init__.py), sent through Slack's front door as every kind of person, against
engagements set up through the real flows.

The rules are written once, as data (`CASES`: which roles may do what), from PRODUCT.md and the
listeners' docstrings. An allowed request must work (the form opens, the reply answers, the row
changes); any other must change nothing (every table's rows are the same before and after),
reveal nothing (the refusal names no detail of the engagement the person could not already see,
and nothing reaches Slack but the refusal), and say it is a refusal.

The set-up is shared by the module (one world per database): refusals change nothing, so they run
first against the untouched world; allowed requests that use something up (archive, delete,
acknowledge, reassign) get a fresh thing of their own. Also here: tampered private_metadata
(another engagement, another workspace's row), trigger_ids used twice or late, button values that
point at another engagement, and logs that never carry a token, a secret or a request body.
"""

from __future__ import annotations

import copy
import functools
import io
import itertools
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server

import pytest
from conftest import (
    ACME,
    ADMIN,
    BOT_TOKEN,
    DIGEST,
    EXTERNAL,
    GENERAL,
    LEAD,
    LEAD2,
    OUTSIDER,
    SIGNING_SECRET,
    STAKEHOLDER,
    TEAM,
    VENDOR,
    Cadence,
    _postgres_database,
    _QuietHandler,
    _ThreadingWSGIServer,
    app_services,
    make_settings,
)
from flows import GOOD_FORM, text_of
from slack_requests import Reply, SlackSim, sign
from sqlalchemy.dialects.postgresql import dialect as postgresql_dialect
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlmodel import SQLModel, select
from waiting import SERVE_POLL_SECONDS, wait_until

from bot.blocks.assurance import ACCEPT_MODAL as ASSURANCE_ACCEPT_MODAL
from bot.blocks.assurance import ADD_MODAL as ASSURANCE_ADD_MODAL
from bot.blocks.assurance import PROVIDE_MODAL as ASSURANCE_PROVIDE_MODAL
from bot.blocks.assurance import REJECT_MODAL as ASSURANCE_REJECT_MODAL
from bot.blocks.assurance import WAIVE_MODAL as ASSURANCE_WAIVE_MODAL
from bot.blocks.assurance_requirements import REQUIREMENTS_MODAL
from bot.blocks.cadences import CADENCE_MODAL
from bot.blocks.concerns import (
    COMMENT_MODAL,
    CONCERN_MODAL,
    RAISE_SHORTCUT,
    REASSIGN_MODAL,
    RESOLVE_MODAL,
)
from bot.blocks.deliverables import (
    ACCEPT_MODAL,
    CANCEL_MODAL,
    DELIVERABLE_MODAL,
    REJECT_MODAL,
    REPLAN_MODAL,
    SUBMIT_MODAL,
)
from bot.blocks.digest_schedule import DIGEST_SCHEDULE_VIEW
from bot.blocks.engagements import ENGAGEMENT_MODAL
from bot.blocks.feedback import FEEDBACK_MODAL
from bot.blocks.question_editor import QUESTION_MODAL, QUESTIONS_VIEW
from bot.blocks.risk_reviews import RISK_REVIEW_MODAL
from bot.blocks.updates import UPDATE_MODAL
from bot.demo.fake_slack import FakeSlack
from bot.domain.command_reference import parse
from bot.entry.cli import main as cli_main
from bot.entry.wsgi import CadenceWSGI
from bot.platform import clock
from handlers import ACTIONS, CLOSED_VIEWS, EVENTS, FUNCTIONS, SHORTCUTS, VIEWS
from handlers.commands import ROUTES
from handlers.workflow_steps import function_object
from storage import models
from storage.db import Database
from storage.models import (
    Cadence as CadenceRow,
)
from storage.models import (
    CheckIn,
    Concern,
    Deliverable,
    Engagement,
    Question,
    ScheduledJob,
    StatusUpdate,
    Workspace,
)

# --- the people --------------------------------------------------------------------------------

pytestmark = pytest.mark.shared_world  # one world per database (tests/conftest.py)

EXEC = "U0EXEC"  # reads the digest channel; on no engagement
OWNER = "U0OWNER"  # the workspace's Slack owner, on no engagement: steers the workspace
FOREIGN = "W0STRANGER"  # another organisation's person in a shared channel, on no engagement
FOREIGN_TEAM = "T0STRANGERS"
VENDOR_TEAM = "T0VENDORCO"  # EXTERNAL's own organisation (a vendor contact via Slack Connect)
VENDOR_B, STAKE_B = "U0VENDORB", "U0STAKEB"
INITECH = "C0INITECH"
OTHER_TEAM, OTHER_LEAD = "T0OTHERWS", "U0HOOLI"

PEOPLE: dict[str, str] = {
    "lead": LEAD,
    "vendor": VENDOR,
    "external": EXTERNAL,
    "stakeholder": STAKEHOLDER,
    "executive": EXEC,
    "outsider": OUTSIDER,
    "admin": ADMIN,
    "foreign": FOREIGN,
    "owner": OWNER,
}
ROLES = tuple(PEOPLE)
# The team Slack names in a payload: Slack Connect people send their own organisation's.
PAYLOAD_TEAM = {"external": VENDOR_TEAM, "foreign": FOREIGN_TEAM}

EVERYONE = frozenset(ROLES)
MEMBERS = frozenset({"lead", "vendor", "external", "stakeholder", "admin"})  # on A, or admin
MANAGERS = frozenset({"lead", "admin"})  # A's leads and Cadence admins
UPDATERS = frozenset({"lead", "vendor", "external", "admin"})  # vendor contacts, leads, admins
SURVEYED = frozenset({"lead", "stakeholder", "admin"})  # stakeholders, leads, admins
HANDLERS = frozenset({"lead", "vendor", "admin"})  # a concern's owner (VENDOR), leads, admins
OWNS = frozenset({"vendor"})  # a deliverable's owner (VENDOR)
ACCEPTS = frozenset({"lead"})  # its acceptors: none named, so A's leads
PLANNERS = frozenset({"lead", "vendor", "admin"})  # a deliverable's owner, leads, admins
READERS = EVERYONE - {"foreign"}  # deliverables: the installed workspace's and A's people
PROVIDES = frozenset({"vendor"})  # an evidence item's owner (VENDOR)
REVIEWS = frozenset({"lead"})  # its reviewers: none named, so A's leads
STEWARDS = frozenset({"admin", "owner"})  # steer the workspace: Cadence and Slack admins, owners
CREATORS = EVERYONE - {"foreign", "external"}  # the installed workspace's members (and admins)

# What a refusal may say: that it is one, whom to ask. What it may not: anything about the
# engagement the person could not already see where they asked.
REFUSAL_WORDS = (
    "Only <@",
    "Only the leads of",
    "Only a project lead",
    "Only a Cadence admin",
    "Only members of this workspace",
    "not sent to you",
    "are raised by the people on it",
    "come from its",
    "comes from its",
    "is for the people on its engagement",
    "Ask a lead",
    "not part of any engagement",
    "not on any engagement",
    "not on this engagement",
    "You are not on",
)
SUMMARY, BLOCKERS = "Migration at 60 percent", "Waiting on firewall rules"
SECRET_WORDS = (
    "Globex Consulting",  # A's vendor
    "Uptime",  # A's KPIs
    "Mean time to resolve",
    "Shared admin password",  # A's open concern
    SUMMARY,  # A's update
    BLOCKERS,
    STAKEHOLDER,
    VENDOR,
    EXTERNAL,
    ACME,
    DIGEST,
    "Initech",  # engagement B, and its concern
    "roadmap slip",
    "Hooli",  # another workspace's engagement
)

SETUP_AT = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)  # a Sunday
SLOT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # the Monday slot every cadence here uses
NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # the module's moment, after the slot


# --- the app, once per module and database ---------------------------------------------------------


def our_slack() -> FakeSlack:
    """The workspace's Slack: conftest's people and channels, and those this module adds."""
    fake = FakeSlack(team_id=TEAM).start()
    for user, name, tz, team in (
        (LEAD, "lena.lead", "Europe/Berlin", TEAM),
        (LEAD2, "lars.lead", "Europe/Berlin", TEAM),
        (ADMIN, "ada.admin", "America/New_York", TEAM),
        (VENDOR, "vic.vendor", "Asia/Kolkata", TEAM),
        (EXTERNAL, "ext.engineer", "Asia/Kolkata", VENDOR_TEAM),
        (STAKEHOLDER, "sam.stake", "America/New_York", TEAM),
        (OUTSIDER, "otto.other", "UTC", TEAM),
        (EXEC, "eve.exec", "UTC", TEAM),
        (OWNER, "olga.owner", "Europe/Berlin", TEAM),
        (FOREIGN, "sly.stranger", "UTC", FOREIGN_TEAM),
        (VENDOR_B, "ivan.initech", "UTC", TEAM),
        (STAKE_B, "stan.initech", "UTC", TEAM),
    ):
        fake.add_user(user, name=name, tz=tz, team_id=team, is_owner=user == OWNER)
    fake.add_channel(GENERAL, name="general", bot_is_member=True)
    fake.add_channel(ACME, name="acme-payments")
    fake.add_channel(DIGEST, name="exec-digest")
    fake.add_channel(INITECH, name="initech-data")
    return fake


@contextmanager
def serving(fake: FakeSlack, database_url: str) -> Iterator[Cadence]:
    """The real WSGI app on 127.0.0.1 (as conftest's `cadence`, for a module's lifetime)."""
    db = Database.from_url(database_url)
    services = app_services(make_settings(database_url, fake), db)
    application = CadenceWSGI(services)
    server = make_server(
        "127.0.0.1", 0, application, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": SERVE_POLL_SECONDS}, daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield Cadence(
            url, services, fake, SlackSim(url, fake, SIGNING_SECRET, team_id=fake.team_id)
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        application.close()
        db.dispose()


@dataclass
class World:
    """The app, and what the set-up made: ids by name (`a`, `b`, `other`, `c1`, …)."""

    app: Cadence
    ids: dict[str, int] = field(default_factory=dict)
    sims: dict[str, SlackSim] = field(default_factory=dict)

    @property
    def fake(self) -> FakeSlack:
        return self.app.fake

    def sim(self, role: str) -> SlackSim:
        """Slack's side for `role`: their payloads name their own organisation's team."""
        team = PAYLOAD_TEAM.get(role, TEAM)
        if team not in self.sims:
            self.sims[team] = SlackSim(self.app.url, self.fake, SIGNING_SECRET, team_id=team)
        return self.sims[team]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> Iterator[World]:
    with database(request, tmp_path_factory, sqlite_template, "authz") as url:
        fake = our_slack()
        try:
            with clock.fixed_at(SETUP_AT), serving(fake, url) as app:
                built = World(app)
                other_workspace(built, url)
                set_up(built)
                with clock.fixed_at(NOW):
                    after_the_slot(built)
                    quiet(built)
                    yield built
            assert fake.block_errors == [], f"Slack would have rejected: {fake.block_errors}"
        finally:
            fake.stop()


@contextmanager
def database(
    request: pytest.FixtureRequest, tmp: pytest.TempPathFactory, template: Path, prefix: str
) -> Iterator[str]:
    """A migrated database for the module: a copy of the run's template."""
    if request.param == "sqlite":
        path = tmp.mktemp(prefix) / "cadence.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    with _postgres_database(
        request.getfixturevalue("postgres_admin"),
        request.getfixturevalue("postgres_server_url"),
        f"cadence_{prefix}",
        template=request.getfixturevalue("postgres_template"),
    ) as url:
        yield url


# --- the set-up, through the real flows ------------------------------------------------------------


def opened_by(app: Cadence, reply: Reply, timeout: float = 5.0) -> dict[str, Any]:
    """The modal a request opened (its trigger's views.open), as Slack holds it now."""

    def found() -> dict[str, Any] | None:
        for call in app.fake.calls_to("views.open"):
            if call.args.get("trigger_id") == reply.trigger_id and call.ok:
                return app.fake.view(call.response["view"]["id"])
        return None

    return app.wait_until(found, timeout, what=f"a modal opened by {reply.payload!r:.200}")


def command_view(app: Cadence, text: str, user: str, sim: SlackSim | None = None) -> dict:
    reply = (sim or app.sim).command(text, user=user)
    assert reply.status == 200, reply.body
    view = opened_by(app, reply)
    if text == "engagement new":  # the time zone is filled in after opening
        app.wait_until(
            lambda: any(
                c.args.get("view_id") == view["id"] for c in app.fake.calls_to("views.update")
            ),
            what="the time zone",
        )
    return app.fake.view(view["id"])


def settled(app: Cadence, quiet_for: float = 0.15) -> None:
    """Wait until Slack has heard nothing for a moment (work after an ack that says nothing)."""
    seen = [len(app.fake.calls), time.monotonic()]

    def still() -> bool:
        if len(app.fake.calls) != seen[0]:
            seen[:] = [len(app.fake.calls), time.monotonic()]
        return time.monotonic() - seen[1] >= quiet_for

    app.wait_until(still, what="Slack to hear nothing more")


def accepted(reply: Reply) -> None:
    assert reply.status == 200 and not (reply.json or {}).get("errors"), reply.body


def new_engagement(app: Cadence, user: str, **values: Any) -> int:
    view = command_view(app, "engagement new", user)
    accepted(app.sim.submit_view(view, {**GOOD_FORM, **values}, user=user))
    name = values.get("name", GOOD_FORM["name"])

    def row() -> int | None:
        with app.db.read_session() as session:
            found = session.exec(select(Engagement).where(Engagement.name == name)).first()
            return found.id if found else None

    return app.wait_until(row, what=f"{name} to exist")


def new_cadence(app: Cadence, user: str, handle: str, **values: Any) -> int:
    view = command_view(app, f"schedule {handle}", user)
    form = {
        "kind": "status_update",
        "rule_kind": "weekly",
        "rule_weekdays": ["0"],
        "rule_local_time": "09:00",
        "rule_timezone": "UTC",
        "window_hours": "48",
        "reminder_hours": "24",
        "audience": "vendor",
        "delivery": "dm",
        **values,
    }
    accepted(app.sim.submit_view(view, form, user=user))
    return newest(app, CadenceRow)


def new_concern(app: Cadence, user: str, handle: str, title: str, **values: Any) -> int:
    view = command_view(app, f"concern {handle} {title}", user)
    form = {"severity": "high", "category": "security", **values}
    accepted(app.sim.submit_view(view, form, user=user))
    return newest(app, Concern)


def newest(app: Cadence, model: type[SQLModel]) -> int:
    with app.db.read_session() as session:
        return session.exec(select(model.id).order_by(model.id.desc())).first()  # type: ignore[attr-defined]


def pushed_by(app: Cadence, reply: Reply) -> dict[str, Any]:
    """The modal a click in a modal pushed (views.push with its trigger), as Slack holds it."""

    def found() -> dict[str, Any] | None:
        for call in app.fake.calls_to("views.push"):
            if call.args.get("trigger_id") == reply.trigger_id and call.ok:
                return app.fake.view(call.response["view"]["id"])
        return None

    return app.wait_until(found, what="a modal pushed by a click")


def new_question(app: Cadence, cadence_id: int, text: str, user: str = LEAD) -> int:
    """A question added to a cadence through its list and the editor, by one of its leads."""
    listed = command_view(app, f"questions {cadence_id}", user)
    editor = pushed_by(app, app.sim.click(listed, "question_add", user=user))
    accepted(app.sim.submit_view(editor, {"text": text, "question_kind": "yes_no"}, user=user))
    return newest(app, Question)


def concern_card(app: Cadence, concern_id: int) -> dict[str, Any]:
    def card() -> dict[str, Any] | None:
        with app.db.read_session() as session:
            row = session.get(Concern, concern_id)
        if row is None or not row.message_ts:
            return None
        return app.fake.message(row.channel_id, row.message_ts)

    return app.wait_until(card, what=f"concern #{concern_id}'s card")


def resolve(app: Cadence, concern_id: int, user: str = LEAD) -> None:
    reply = app.sim.click(concern_card(app, concern_id), "concern:resolve", user=user)
    view = opened_by(app, reply)
    accepted(app.sim.submit_view(view, {"note": "Fixed for good."}, user=user))
    app.wait_until(lambda: status_of(app, concern_id) == "resolved", what=f"#{concern_id} resolved")


def status_of(app: Cadence, concern_id: int) -> str:
    with app.db.read_session() as session:
        row = session.get(Concern, concern_id)
        return row.status if row else ""


def new_deliverable(
    app: Cadence, title: str, user: str = LEAD, handle: str = "acme-payments", owner: str = VENDOR
) -> int:
    """A deliverable (on A, owned by VENDOR, unless said), due 18 Dec; accepted by the leads."""
    view = command_view(app, f"deliverable {handle} {title}", user)
    accepted(app.sim.submit_view(view, {"due_on": "2026-12-18", "owner": owner}, user=user))
    return newest(app, Deliverable)


def deliverable_card(app: Cadence, deliverable_id: int, button: str = "") -> dict[str, Any]:
    """Its card in A's channel, once it carries `button` (a step its status allows)."""

    def card() -> dict[str, Any] | None:
        with app.db.read_session() as session:
            row = session.get(Deliverable, deliverable_id)
        if row is None or not row.message_ts:
            return None
        found = app.fake.message(row.channel_id, row.message_ts)
        return found if button in json.dumps(found.get("blocks")) else None

    return app.wait_until(card, what=f"deliverable #{deliverable_id}'s card")


def submit_deliverable(app: Cadence, deliverable_id: int) -> None:
    card = deliverable_card(app, deliverable_id, "deliverable:submit")
    view = opened_by(app, app.sim.click(card, "deliverable:submit", user=VENDOR))
    accepted(app.sim.submit_view(view, {"note": "Delivered."}, user=VENDOR))
    deliverable_card(app, deliverable_id, "deliverable:accept")


def new_item(
    app: Cadence, kind: str, user: str = LEAD, handle: str = "acme-payments", owner: str = VENDOR
) -> int:
    """An evidence item (on A, owned by VENDOR, unless said), requested; reviewed by the leads."""
    view = command_view(app, f"assurance {handle} add", user)
    accepted(app.sim.submit_view(view, {"type": kind, "owner": owner}, user=user))
    return newest(app, models.AssuranceItem)


def item_card(app: Cadence, item_id: int, button: str = "") -> dict[str, Any]:
    """Its card in its engagement's channel, once it carries `button`."""

    def card() -> dict[str, Any] | None:
        with app.db.read_session() as session:
            row = session.get(models.AssuranceItem, item_id)
        if row is None or not row.message_ts:
            return None
        found = app.fake.message(row.channel_id, row.message_ts)
        return found if button in json.dumps(found.get("blocks")) else None

    return app.wait_until(card, what=f"evidence item #{item_id}'s card")


EVIDENCE = {"link": "https://example.com/evidence", "valid_until": "2027-06-30"}


def provide_item(app: Cadence, item_id: int) -> None:
    card = item_card(app, item_id, "assurance:provide")
    view = opened_by(app, app.sim.click(card, "assurance:provide", user=VENDOR))
    accepted(app.sim.submit_view(view, EVIDENCE, user=VENDOR))
    item_card(app, item_id, "assurance:accept")


def other_workspace(world: World, url: str) -> None:
    """Another workspace served by the same deployment: its engagement, cadence and concern,
    made through its own Slack (the rows a tampered id might point at)."""
    with FakeSlack(team_id=OTHER_TEAM, team_name="Hooli", team_domain="hooli") as fake:
        fake.add_user(OTHER_LEAD, name="gavin", tz="UTC")
        fake.add_user("U0HOOLIVEN", name="ven.hooli", tz="UTC")
        fake.add_channel("C0HOOLI", name="hooli")
        # Slack's view ids are unique across workspaces; two fakes counting from 1 are not.
        fake._ids = itertools.count(500_000)
        with serving(fake, url) as other:
            world.ids["other"] = new_engagement(
                other, OTHER_LEAD, name="Hooli Cloud", vendor="Hooli", channel="C0HOOLI",
                vendor_contacts=["U0HOOLIVEN"], stakeholders=[], kpis="",
            )  # fmt: skip
            world.ids["cad_other"] = new_cadence(other, OTHER_LEAD, "hooli-cloud")
            # Paused: the pass below speaks for our workspace only.
            reply = other.sim.command(f"pause {world.ids['cad_other']}", user=OTHER_LEAD)
            assert reply.status == 200
            other.wait_until(lambda: other.fake.responses, what="the pause")
            world.ids["c_other"] = new_concern(other, OTHER_LEAD, "hooli-cloud", "Hooli leak")
            world.ids["d_other"] = new_deliverable(other, "Hooli migration", OTHER_LEAD,
                                                   "hooli-cloud", "U0HOOLIVEN")  # fmt: skip
            world.ids["i_other"] = new_item(other, "iso27001", OTHER_LEAD, "hooli-cloud",
                                            "U0HOOLIVEN")  # fmt: skip


def set_up(world: World) -> None:
    """Engagement A (Acme Payments: LEAD leads; VENDOR and EXTERNAL are its vendor contacts,
    STAKEHOLDER its stakeholder; its digest goes to DIGEST) and engagement B (Initech Data, led
    by LEAD2); their cadences, concerns; a pass at the Monday slot opens the check-ins."""
    app, ids = world.app, world.ids
    ids["a"] = new_engagement(app, LEAD, stakeholders=[STAKEHOLDER], digest_channel=DIGEST)
    ids["b"] = new_engagement(
        app, LEAD2, name="Initech Data", vendor="Initech", channel=INITECH,
        vendor_contacts=[VENDOR_B], stakeholders=[STAKE_B], kpis="Latency (ms) <= 200",
    )  # fmt: skip
    ids["cad_a"] = new_cadence(app, LEAD, "acme-payments", audience="chosen",
                               audience_users=[VENDOR])  # fmt: skip
    ids["cad_feedback"] = new_cadence(app, LEAD, "acme-payments", kind="feedback_survey",
                                      audience="stakeholders")  # fmt: skip
    ids["cad_review"] = new_cadence(app, LEAD, "acme-payments", kind="risk_review",
                                    audience="chosen", audience_users=[VENDOR])  # fmt: skip
    ids["cad_b"] = new_cadence(app, LEAD2, "initech-data", audience="chosen",
                               audience_users=[VENDOR_B])  # fmt: skip
    ids["cad_paused"] = new_cadence(app, LEAD, "acme-payments", audience="leads")
    assert "Paused" in ask(world, f"pause {ids['cad_paused']}").text
    ids["c1"] = new_concern(app, STAKEHOLDER, "acme-payments", "Shared admin password")
    ids["c2"] = new_concern(app, STAKEHOLDER, "acme-payments", "Staging down on Mondays",
                            severity="medium", category="delivery")  # fmt: skip
    ids["cb"] = new_concern(app, LEAD2, "initech-data", "Initech roadmap slip")
    resolve(app, ids["c2"])
    ids["d1"] = new_deliverable(app, "Cutover runbook")
    ids["d2"] = new_deliverable(app, "Load test report")
    ids["db"] = new_deliverable(app, "Initech data map", LEAD2, "initech-data", VENDOR_B)
    submit_deliverable(app, ids["d2"])
    ids["q1"] = new_question(app, ids["cad_paused"], "Were the access reviews done?")
    ids["q_b"] = new_question(app, ids["cad_b"], "Was the data map kept current?", LEAD2)
    for n in range(20):  # more than a page of A's list: its "Next page" button
        new_deliverable(app, f"Filler item {n}")
    ids["i1"] = new_item(app, "iso27001")
    ids["i2"] = new_item(app, "soc2_type2")
    ids["ib"] = new_item(app, "iso27001", LEAD2, "initech-data", VENDOR_B)
    provide_item(app, ids["i2"])
    for _ in range(20):  # more than a page of A's register: its "Next page" button
        new_item(app, "background_checks")
    tick(world, SLOT)
    with app.db.read_session() as session:
        for name, cadence_id in (("chk_status", ids["cad_a"]), ("chk_feedback",
                                 ids["cad_feedback"]), ("chk_review", ids["cad_review"]),
                                 ("chk_b", ids["cad_b"])):  # fmt: skip
            checkin = session.exec(select(CheckIn).where(CheckIn.cadence_id == cadence_id)).one()
            ids[name] = checkin.id


def after_the_slot(world: World) -> None:
    """EXTERNAL (a vendor contact from another organisation) sends an ad hoc update on A with
    a blocker; B's vendor answers B's check-in."""
    app, ids = world.app, world.ids
    view = command_view(app, "update acme-payments", EXTERNAL, world.sim("external"))
    accepted(world.sim("external").submit_view(
        view, {"rag": "green", "summary": SUMMARY, "blockers": BLOCKERS}, user=EXTERNAL
    ))  # fmt: skip
    ids["upd_a"] = newest(app, StatusUpdate)
    view = command_view(app, "update initech-data", VENDOR_B)
    accepted(app.sim.submit_view(view, {"rag": "green", "summary": "Initech fine."},
                                 user=VENDOR_B))  # fmt: skip
    ids["upd_b"] = newest(app, StatusUpdate)
    summary_message(world, ids["upd_a"])
    # The digest's schedule, saved once: the form no longer fills in a time zone after opening.
    view = command_view(app, "digest schedule", ADMIN)
    app.wait_until(
        lambda: any(c.args.get("view_id") == view["id"] for c in app.fake.calls_to("views.update")),
        what="the admin's time zone in the schedule form",
    )
    accepted(app.sim.submit_view(app.fake.view(view["id"]), {}, user=ADMIN))
    assert "Posting the digest" in ask(world, "digest send", ADMIN).text
    assert "Building the digest" in ask(world, "digest preview").text


def tick(world: World, at: datetime) -> None:
    """`python -m bot tick --now <at>`, its real entry point, in this process."""
    settings = world.app.services.settings
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": settings.slack_api_url,
        "DATABASE_URL": settings.database_url,
        "CADENCE_ADMINS": ADMIN,
        "CADENCE_CHANNEL_PACE_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        out = io.StringIO()
        with redirect_stdout(out):
            code = cli_main(["tick", "--now", at.isoformat()])
        assert code == 0, out.getvalue()


def quiet(world: World) -> None:
    """Wait until nothing due is left for the outbox (what the last request caused is sent)."""

    def idle() -> bool:
        with world.app.db.read_session() as session:
            busy = session.exec(
                select(ScheduledJob.id)
                .where(ScheduledJob.due_at <= clock.now())
                .where(ScheduledJob.status.in_(("pending", "claimed")))  # type: ignore[attr-defined]
            ).first()
        return busy is None

    world.app.wait_until(idle, 10, what="the outbox to finish")


def summary_message(world: World, update_id: int) -> dict[str, Any]:
    """The update's summary in its channel (with its Edit and blocker buttons)."""

    def found() -> dict[str, Any] | None:
        for message in world.fake.messages():
            for block in message.get("blocks") or []:
                for element in block.get("elements") or []:
                    if (
                        isinstance(element, dict)
                        and element.get("value") == str(update_id)
                        and (element.get("action_id") == "status_update_edit")
                    ):
                        return message
        return None

    return world.app.wait_until(found, what=f"update {update_id}'s summary")


def prompt_message(world: World, checkin_id: int) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for message in world.fake.messages():
            if f'"value": "{checkin_id}"' in json.dumps(message.get("blocks")) and (
                "checkin_answer" in json.dumps(message.get("blocks"))
            ):
                return message
        return None

    return world.app.wait_until(found, what=f"check-in {checkin_id}'s prompt")


# --- seeing what a request did ----------------------------------------------------------------------

READ_ONLY = frozenset({"auth.test", "users.info", "conversations.info", "conversations.open"})


@dataclass
class Sent:
    """One request as `role` sent it, and where Slack's records stood just before it."""

    role: str
    user: str
    reply: Reply
    calls: int
    responses: int
    kind: str  # "command", "click", "submission", "shortcut", "event", "step"
    source: str = ""  # what the person could already read where they asked


@dataclass
class Seen:
    """What the person saw: a modal ("view"), a reply ("inline" in the ack, "ephemeral" by
    response_url, "dm"), inline form errors ("errors"), a form accepted ("accepted"), their Home
    tab ("home"); `body` is the message or view itself."""

    kind: str
    text: str
    body: dict[str, Any] = field(default_factory=dict)


def sending(
    world: World, role: str, user: str, kind: str, source: str, request: Callable[[], Reply]
) -> Sent:
    calls, responses = len(world.fake.calls), len(world.fake.responses)
    reply = request()
    assert reply.status == 200, f"{kind} as {role}: HTTP {reply.status} {reply.body[:300]}"
    return Sent(role, user, reply, calls, responses, kind, source)


def observe(world: World, sent: Sent, timeout: float = 5.0, *, dm: bool = True) -> Seen:
    """Wait for what the person sees in answer (the listener's last act); `dm=False` when a DM
    to them might be about something else (a confirmation of an earlier change)."""
    if sent.kind == "step":  # a Workflow Builder step: how Slack heard it end
        execution = sent.reply.execution
        world.app.wait_until(lambda: execution.state != "running", timeout, what="the step's end")
        if execution.state == "failed":
            return Seen("step-failed", execution.error or "")
        return Seen("step-completed", json.dumps(execution.outputs), execution.outputs or {})
    body = sent.reply.json or {}
    if body.get("response_action") == "errors":
        return Seen("errors", "\n".join(map(str, body["errors"].values())), body)
    if body.get("text") or body.get("blocks"):
        return Seen("inline", text_of(body), body)
    if sent.kind == "submission":
        return Seen("accepted", "")
    fake, user = world.fake, sent.user
    dm_channel = fake.dm_channel_id(user) if dm and fake.user(user) else None

    def look() -> Seen | None:
        for call in list(fake.calls)[sent.calls :]:
            if call.method == "views.open" and call.args.get("trigger_id") == sent.reply.trigger_id:
                if not call.ok:
                    return Seen("view-failed", str(call.response.get("error")))
                return Seen("view", "", fake.view(call.response["view"]["id"]))
            if (
                dm
                and call.method == "chat.postMessage"
                and (call.args.get("channel") in (user, dm_channel))
            ):
                message = {**call.args, **(call.response.get("message") or {})}
                message["channel"] = call.response.get("channel") or dm_channel
                return Seen("dm", text_of(call.args), message)
            if call.method == "views.publish" and call.args.get("user_id") == user:
                view = call.args.get("view")
                view = json.loads(view) if isinstance(view, str) else view
                return Seen("home", json.dumps(view), view)
        url = sent.reply.response_url or ""
        for posted in list(fake.responses)[sent.responses :]:
            if url.endswith("/" + posted.name):
                return Seen(
                    "ephemeral", text_of(posted.body) or json.dumps(posted.body), posted.body
                )
        return None

    return world.app.wait_until(look, timeout, what=f"an answer to the {sent.kind} of {sent.role}")


def snapshot(world: World) -> dict[str, list[str]]:
    """Every table's rows (as text, sorted): what "changed nothing" compares.

    Of `person`, only who opened Home: the rest of that table is what Slack last said of a
    person (their zone, their standing), which checking who may do something learns and keeps
    for a few minutes, a refusal included; it is Slack's fact, not the person's change.

    The database writes every table's rows out in one statement (`_snapshot_sql`): read as
    Python rows, two snapshots a request were over half the matrix's time, the world growing
    with every fresh engagement; a statement a table was still a quarter."""
    with world.app.db.read() as conn:
        return {
            name: sorted(text.split(ROW_END)) if text else []
            for name, text in conn.exec_driver_sql(_snapshot_sql(conn.dialect.name)).all()
        }


ROW_END = chr(30)  # between a table's rows (ASCII's record separator: not in a value)


@functools.cache
def _snapshot_sql(dialect: str) -> str:
    """One SELECT of (table, its rows' text): each row's columns quoted, joined by ROW_END."""
    quote = (
        postgresql_dialect() if dialect == "postgresql" else sqlite_dialect()
    ).identifier_preparer.quote
    parts = []
    for table in SQLModel.metadata.sorted_tables:
        name, columns, where = quote(table.name), [c.name for c in table.columns], ""
        if table.name == "person":
            columns, where = (
                ["team_id", "user_id", "home_opened_at"],
                "WHERE home_opened_at IS NOT NULL",
            )
        if dialect == "postgresql":
            row = f"ROW({', '.join(quote(c) for c in columns)})::text"
            joined = "string_agg(r, chr(30))"
        else:
            row = " || ',' || ".join(f"quote({quote(c)})" for c in columns)
            joined = "group_concat(r, char(30))"
        rows = f"SELECT {joined} FROM (SELECT {row} AS r FROM {name} {where}) AS listed"
        parts.append(f"SELECT '{table.name}' AS name, ({rows}) AS text")
    return " UNION ALL ".join(parts)


def digest_send_again(world: World) -> dict[str, int]:
    """Let `digest send` be used again now (it is limited to once a quarter hour)."""
    with world.app.db.session() as session:
        for row in session.exec(select(Workspace)).all():
            row.digest_manual_sent_at = None
            session.add(row)
    return {}


def assert_refused(world: World, sent: Sent, seen: Seen, before: dict[str, list[str]]) -> None:
    """A refusal: said as one, naming nothing the person could not already read, changing no
    row, and the only thing that reached Slack. A step's refusal writes only its end, the job
    that fails it (and the delivery, so a retry of it acts once)."""
    assert seen.kind in ("inline", "errors", "ephemeral", "dm", "step-failed"), (
        seen.kind, seen.text[:300],
    )  # fmt: skip
    assert any(w in seen.text for w in REFUSAL_WORDS), f"not a refusal: {seen.text!r}"
    leaked = [w for w in SECRET_WORDS if w in seen.text and w not in sent.source and w != sent.user]
    assert not leaked, f"the refusal to {sent.role} names {leaked}: {seen.text!r}"
    after = snapshot(world)
    if seen.kind == "step-failed":  # its one write: the failed end (and the delivery, once)
        ends = [r for r in after["scheduledjob"] if r not in before["scheduledjob"]]
        assert len(ends) == 1 and "step-end:execution=" in ends[0], ends
        assert len(after["slackrequest"]) == len(before["slackrequest"]) + 1
        after = {**after, "scheduledjob": before["scheduledjob"],
                 "slackrequest": before["slackrequest"]}  # fmt: skip
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    assert not changed, f"a refused request changed {list(changed)}: {changed}"
    url = sent.reply.response_url or ""
    others = [
        f"{c.method} {json.dumps(c.args)[:200]}"
        for c in list(world.fake.calls)[sent.calls :]
        if c.method not in READ_ONLY
        and not (seen.kind == "dm" and c.method == "chat.postMessage")
        and not (seen.kind == "step-failed" and c.method == "functions.completeError")
    ]
    others += [
        f"response {p.name}"
        for p in list(world.fake.responses)[sent.responses :]
        if not url.endswith("/" + p.name)
    ]
    assert not others, f"besides the refusal, Slack got: {others}"
    if seen.kind == "dm":
        dms = [c for c in list(world.fake.calls)[sent.calls :] if c.method == "chat.postMessage"]
        assert len(dms) == 1, [c.args for c in dms]


def ask(world: World, text: str, user: str = LEAD, channel: str = GENERAL) -> Seen:
    """A command someone runs to get what another request clicks on (a list, a card)."""
    sent = sending(world, "prep", user, "command", "",
                   lambda: world.app.sim.command(text, user=user, channel=channel))  # fmt: skip
    return observe(world, sent, dm=False)


def candidates(block: dict[str, Any]) -> list[dict[str, Any]]:
    found = [block[k] for k in ("accessory", "element") if isinstance(block.get(k), dict)]
    return found + [e for e in block.get("elements") or [] if isinstance(e, dict)]


def narrowed(container: dict[str, Any], action_id: str, value: str | None) -> dict[str, Any]:
    """`container` with only the block of the element `action_id` whose value (or one of whose
    options) is `value`: so a click finds that element, not another row's."""
    for block in container.get("blocks") or []:
        for element in candidates(block):
            values = [element.get("value")] + [o.get("value") for o in element.get("options", [])]
            if element.get("action_id") == action_id and (value is None or value in values):
                out = copy.deepcopy(container)
                out["blocks"] = [block]
                return out
    raise AssertionError(f"no {action_id} with value {value} in {json.dumps(container)[:500]}")


def retargeted(container: dict[str, Any], action_id: str, value: str) -> dict[str, Any]:
    """The same message with the button's value pointing elsewhere (a tampered payload)."""
    out = narrowed(container, action_id, None)
    for element in candidates(out["blocks"][0]):
        if element.get("action_id") == action_id:
            element["value"] = value
    return out


# --- what a request acts on: the things the app really rendered ------------------------------------

_fresh = iter(range(1, 10**6))


def fresh_engagement(world: World, role: str) -> str:
    """An engagement of LEAD's to use up (archive); its handle."""
    name = f"Disposable {role} {next(_fresh)}"
    new_engagement(world.app, LEAD, name=name, channel=GENERAL, vendor_contacts=[VENDOR],
                   stakeholders=[], kpis="")  # fmt: skip
    quiet(world)
    return name.lower().replace(" ", "-")


def fresh_cadence(world: World) -> int:
    cadence_id = new_cadence(world.app, LEAD, "acme-payments", audience="leads")
    quiet(world)
    return cadence_id


def paused_cadence(world: World) -> int:
    cadence_id = fresh_cadence(world)
    assert "Paused" in ask(world, f"pause {cadence_id}").text
    return cadence_id


def fresh_concern(world: World, *, resolved: bool = False) -> int:
    """A concern on A raised by STAKEHOLDER and owned by VENDOR, as c1 (c2 when resolved)."""
    concern_id = new_concern(world.app, STAKEHOLDER, "acme-payments",
                             f"Spare concern {next(_fresh)}", severity="low",
                             category="delivery")  # fmt: skip
    if resolved:
        resolve(world.app, concern_id)
    quiet(world)
    return concern_id


Source = tuple[dict[str, Any], str]  # a message or view to click in, and its channel


def archive_confirmation(world: World, fresh: str | None) -> Source:
    handle = fresh_engagement(world, fresh) if fresh else "acme-payments"
    return ask(world, f"engagement archive {handle}").body, GENERAL


def cadence_row(button: str, *, use_up: bool = False, paused: bool = False):
    """The button of one cadence in the list (`paused`: of a paused one)."""

    def prepare(world: World, fresh: str | None) -> Source:
        if fresh and (use_up or paused):
            cadence_id = fresh_cadence(world)
            if paused:
                assert "Paused" in ask(world, f"pause {cadence_id}").text
        else:
            cadence_id = world.ids["cad_paused" if paused else "cad_a"]
        listed = ask(world, "cadences acme-payments").body
        return narrowed(listed, f"cadence_button:{button}", str(cadence_id)), GENERAL

    return prepare


def questions_list(world: World, fresh: str | None) -> Source:
    """The questions of A's paused cadence (one of them q1), as its lead opened them."""
    return command_view(world.app, f"questions {world.ids['cad_paused']}", LEAD), GENERAL


def delete_confirmation(world: World, fresh: str | None) -> Source:
    return ask(world, f"delete {world.ids['cad_a']}").body, GENERAL


def prompt_of(checkin: str):
    def prepare(world: World, fresh: str | None) -> Source:
        message = prompt_message(world, world.ids[checkin])
        return message, message["channel"]

    return prepare


def lead_home(world: World, fresh: str | None) -> Source:
    """A lead's Home tab, where the choice of how one hears of answers is (everyone's own)."""
    before = len(world.fake.calls_to("views.publish"))
    accepted(world.sim("lead").app_home_opened(LEAD))
    world.fake.wait_for("views.publish", count=before + 1)
    view = world.fake.home_view(LEAD)
    assert view is not None
    return view, GENERAL


def update_summary(world: World, fresh: str | None) -> Source:
    message = summary_message(world, world.ids["upd_a"])
    return message, message["channel"]


def card_of(*, use_up: bool = False, resolved: bool = False):
    def prepare(world: World, fresh: str | None) -> Source:
        if fresh and use_up:
            concern_id = fresh_concern(world, resolved=resolved)
        else:
            concern_id = world.ids["c2" if resolved else "c1"]
        card = concern_card(world.app, concern_id)
        return card, card["channel"]

    return prepare


def concern_menu(world: World, fresh: str | None) -> Source:
    concern_id = fresh_concern(world) if fresh else world.ids["c1"]
    listed = ask(world, "concerns acme-payments").body
    return narrowed(listed, "concern_menu", f"acknowledge:{concern_id}"), GENERAL


def fresh_deliverable(world: World, *, submitted: bool = False) -> int:
    """A deliverable on A as d1 (d2, submitted, when `submitted`), to use up."""
    deliverable_id = new_deliverable(world.app, f"Spare deliverable {next(_fresh)}")
    if submitted:
        submit_deliverable(world.app, deliverable_id)
    quiet(world)
    return deliverable_id


def deliverable_of(*, use_up: bool = False, submitted: bool = False):
    def prepare(world: World, fresh: str | None) -> Source:
        if fresh and use_up:
            deliverable_id = fresh_deliverable(world, submitted=submitted)
        else:
            deliverable_id = world.ids["d2" if submitted else "d1"]
        card = deliverable_card(world.app, deliverable_id)
        return card, card["channel"]

    return prepare


def deliverable_menu(world: World, fresh: str | None) -> Source:
    listed = ask(world, "deliverables acme-payments").body
    return narrowed(listed, "deliverable_menu", f"replan:{world.ids['d1']}"), GENERAL


def deliverables_page(world: World, fresh: str | None) -> Source:
    listed = ask(world, "deliverables acme-payments").body
    return narrowed(listed, "deliverables_more", None), GENERAL


def fresh_item(world: World, *, received: bool = False) -> int:
    """An evidence item on A as i1 (i2, provided, when `received`), to use up."""
    item_id = new_item(world.app, "iso27001")
    if received:
        provide_item(world.app, item_id)
    quiet(world)
    return item_id


def item_of(*, use_up: bool = False, received: bool = False):
    def prepare(world: World, fresh: str | None) -> Source:
        if fresh and use_up:
            item_id = fresh_item(world, received=received)
        else:
            item_id = world.ids["i2" if received else "i1"]
        card = item_card(world.app, item_id)
        return card, card["channel"]

    return prepare


def assurance_menu(world: World, fresh: str | None) -> Source:
    listed = ask(world, "assurance acme-payments").body
    return narrowed(listed, "assurance_menu", f"waive:{world.ids['i1']}"), GENERAL


def assurance_page(world: World, fresh: str | None) -> Source:
    listed = ask(world, "assurance acme-payments").body
    return narrowed(listed, "assurance_more", None), GENERAL


def digest_message(world: World, fresh: str | None) -> Source:
    for message in world.fake.messages(DIGEST):
        if '"health_card"' in json.dumps(message.get("blocks")):
            return narrowed(message, "health_card", str(world.ids["a"])), DIGEST
    raise AssertionError("no digest in the digest channel")


def preview_message(world: World, fresh: str | None) -> Source:
    channel = world.fake.dm_channel_id(LEAD)
    for message in world.fake.messages(channel):
        if '"health_card"' in json.dumps(message.get("blocks")):
            return narrowed(message, "health_card", str(world.ids["a"])), channel
    raise AssertionError("no digest preview in the lead's DM")


def health_card(world: World, fresh: str | None) -> Source:
    return ask(world, "status acme-payments").body, GENERAL


def schedule_form(world: World, fresh: str | None) -> Source:
    return command_view(world.app, "schedule acme-payments", LEAD), GENERAL


def message_in_acme(world: World, fresh: str | None) -> Source:
    return world.fake.say(ACME, STAKEHOLDER, "The VPN config sits in a public bucket"), ACME


# --- forms, as opened for someone who may open them ------------------------------------------------

Opener = Callable[[World, str | None], tuple[dict[str, Any], str]]  # the form, and what the
# person could read where it was opened


def by_command(text: str, user: str = LEAD, *, self_open: bool = False) -> Opener:
    """The form a command opens (for the role itself when `self_open` and it is allowed)."""

    def prepare(world: World, fresh: str | None) -> tuple[dict[str, Any], str]:
        if self_open and fresh:
            view = command_view(world.app, text, PEOPLE[fresh], world.sim(fresh))
        else:
            view = command_view(world.app, text, user)
        return view, json.dumps(view)

    return prepare


def by_click(source: Callable[[World, str | None], Source], action_id: str, user: str) -> Opener:
    def prepare(world: World, fresh: str | None) -> tuple[dict[str, Any], str]:
        container, channel = source(world, fresh)
        reply = world.app.sim.click(container, action_id, user=user, channel=channel)
        view = opened_by(world.app, reply)
        return view, json.dumps(container) + json.dumps(view)

    return prepare


def by_push(source: Callable[[World, str | None], Source], action_id: str, user: str) -> Opener:
    """The form a click in a modal pushes on it (the question editor over the list)."""

    def prepare(world: World, fresh: str | None) -> tuple[dict[str, Any], str]:
        container, _ = source(world, fresh)
        view = pushed_by(world.app, world.app.sim.click(container, action_id, user=user))
        return view, json.dumps(container) + json.dumps(view)

    return prepare


def question_editor(world: World, fresh: str | None) -> tuple[dict[str, Any], str]:
    """The editor of q1, pushed from its list by its Edit (by LEAD)."""
    listed, _ = questions_list(world, fresh)
    reply = world.app.sim.click(listed, "question_menu", user=LEAD, value=f"edit:{world.ids['q1']}")
    view = pushed_by(world.app, reply)
    return view, json.dumps(listed) + json.dumps(view)


def new_question_editor(world: World, fresh: str | None) -> Source:
    """A new question's editor, pushed on the list of A's paused cadence (by LEAD)."""
    listed, channel = questions_list(world, fresh)
    return pushed_by(world.app, world.app.sim.click(listed, "question_add", user=LEAD)), channel


# --- the matrix -------------------------------------------------------------------------------------

Works = Callable[[World, Sent, Seen], None]


@dataclass(frozen=True)
class Case:
    name: str
    allowed: frozenset[str]
    send: Callable[[World, str, bool], Sent]
    works: Works
    answers: bool = True  # the person is answered (else only the change shows, elsewhere)
    # What the request reaches in handlers/__init__.py: ("command", typed text), ("action",
    # action_id), ("view", callback_id), ("shortcut", callback_id), ("event", type) or
    # ("function", a Workflow Builder step's callback_id).
    binding: tuple[str, str] = ("", "")

    def __str__(self) -> str:
        return self.name


def command(
    text: str,
    allowed: frozenset[str],
    works: Works,
    *,
    channel: str = GENERAL,
    fresh_ids: Callable[[World], dict[str, int]] | None = None,
) -> Case:
    """`fresh_ids`: for an allowed run, ids of things of its own to use up."""

    def send(world: World, role: str, fresh: bool) -> Sent:
        ids = {**world.ids, **(fresh_ids(world) if fresh and fresh_ids else {})}
        typed = text.format(**ids)
        return sending(world, role, PEOPLE[role], "command", "", lambda: world.sim(role).command(
            typed, user=PEOPLE[role], channel=channel))  # fmt: skip

    return Case(f"/cadence {text}", allowed, send, works, binding=("command", text))


MENU_CHOICE = {
    "concern_menu": "acknowledge:",
    "deliverable_menu": "replan:",
    "assurance_menu": "waive:",
    "question_menu": "edit:",
}


def click(
    name: str,
    source: Callable[[World, str | None], Source],
    action_id: str,
    allowed: frozenset[str],
    works: Works,
    *,
    option: str | None = None,
    answers: bool = True,
) -> Case:
    def send(world: World, role: str, fresh: bool) -> Sent:
        container, channel = source(world, role if fresh else None)
        chosen = option
        if action_id in MENU_CHOICE:  # the row's own value
            chosen = next(
                o["value"] for b in container["blocks"] for e in candidates(b)
                for o in e.get("options", []) if o["value"].startswith(MENU_CHOICE[action_id])
            )  # fmt: skip
        return sending(world, role, PEOPLE[role], "click", json.dumps(container),
                       lambda: world.sim(role).click(container, action_id, user=PEOPLE[role],
                                                     value=chosen, channel=channel))  # fmt: skip

    return Case(name, allowed, send, works, answers, binding=("action", action_id))


def submission(
    name: str,
    opener: Opener,
    allowed: frozenset[str],
    works: Works,
    values: dict[str, Any] | Callable[[str], dict[str, Any]] | None = None,
    *,
    callback: str,
) -> Case:
    def send(world: World, role: str, fresh: bool) -> Sent:
        view, source = opener(world, role if fresh else None)
        assert view.get("callback_id") == callback, (name, view.get("callback_id"))
        filled = values(role) if callable(values) else values or {}
        return sending(world, role, PEOPLE[role], "submission", source,
                       lambda: world.sim(role).submit_view(view, filled, user=PEOPLE[role]))  # fmt: skip

    return Case(name, allowed, send, works, binding=("view", callback))


def shortcut(world: World, role: str, fresh: bool) -> Sent:
    message, channel = message_in_acme(world, None)
    return sending(world, role, PEOPLE[role], "shortcut", json.dumps(message),
                   lambda: world.sim(role).message_shortcut("raise_concern_from_message", message,
                                                            user=PEOPLE[role], channel=channel))  # fmt: skip


def home(world: World, role: str, fresh: bool) -> Sent:
    return sending(world, role, PEOPLE[role], "event", "",
                   lambda: world.sim(role).app_home_opened(PEOPLE[role]))  # fmt: skip


def step(callback_id: str, actor: str, **inputs: Any) -> Callable[[World, str, bool], Sent]:
    """A workflow someone runs reaches the step: Slack's function_executed event, about the
    installed workspace, with the person as its user_context input."""

    def send(world: World, role: str, fresh: bool) -> Sent:
        known = {name: value(world) if callable(value) else value for name, value in inputs.items()}
        filled = {**known, actor: {"id": PEOPLE[role], "secret": "b4a7f0c2e1d9"}}
        return sending(world, role, PEOPLE[role], "step", "", lambda: world.app.sim.function_executed(
            callback_id, filled, definition=function_object(callback_id)))  # fmt: skip

    return send


def acme_status_cadence(world: World) -> int:
    """Acme's first active status-update cadence: the cases before may have scheduled more, and
    with several the step asks which (as a person running the workflow would say)."""
    with world.app.db.read_session() as session:
        found = session.exec(
            select(CadenceRow.id)
            .where(CadenceRow.kind == "status_update")
            .where(CadenceRow.status == "active")
            .where(CadenceRow.engagement_id == world.ids["a"])
            .order_by(CadenceRow.id)
        ).first()
    assert found is not None, "Acme has no active status-update cadence to ask with"
    return found


def step_done(model: type[SQLModel], output: str, by: str | None) -> Works:
    """The step completed, and its output names the row it made (by this person)."""

    def works(world: World, sent: Sent, seen: Seen) -> None:
        assert seen.kind == "step-completed", (seen.kind, seen.text)
        with world.app.db.read_session() as session:
            row = session.get(model, seen.body[output])
        assert row is not None and (by is None or getattr(row, by) == sent.user), seen.body

    return works


def typed_to_cadence(world: World, role: str, fresh: bool) -> Sent:
    """A message the person types in Cadence's Messages tab (their DM with it)."""
    user = PEOPLE[role]
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": world.fake.dm_channel_id(user),
        "user": user,
        "text": "hello? what can you do",
        "ts": f"{time.time():.6f}",
    }
    return sending(world, role, user, "event", "", lambda: world.sim(role).event(event))


def opens(callback_id: str) -> Works:
    def works(world: World, sent: Sent, seen: Seen) -> None:
        assert seen.kind == "view", (seen.kind, seen.text)
        assert seen.body["callback_id"] == callback_id

    return works


def says(*words: str) -> Works:
    def works(world: World, sent: Sent, seen: Seen) -> None:
        assert seen.kind in ("inline", "ephemeral", "dm"), (seen.kind, seen.text)
        assert not any(w in seen.text for w in ("Sorry, something went wrong",)), seen.text
        for word in words:
            assert word in seen.text, (word, seen.text)

    return works


def saved(model: type[SQLModel] | None = None) -> Works:
    """The form was accepted and (given a table) a row of it was written by this person."""

    def works(world: World, sent: Sent, seen: Seen) -> None:
        assert seen.kind == "accepted", (seen.kind, seen.text)
        if model is not None:
            with world.app.db.read_session() as session:
                rows = session.execute(model.__table__.select()).all()  # type: ignore[attr-defined]
            assert any(sent.user in map(str, row) for row in rows), f"no {model.__name__} row"

    return works


def concern_is(status: str) -> Works:
    def works(world: World, sent: Sent, seen: Seen) -> None:
        ref = json.loads(sent.source)
        value = next(e.get("value") for b in ref["blocks"] for e in candidates(b)
                     if str(e.get("action_id", "")).startswith("concern"))  # fmt: skip
        concern_id = int(str(value).rpartition(":")[2]) if value else None
        if concern_id is None:
            options = [o["value"] for b in ref["blocks"] for e in candidates(b)
                       for o in e.get("options", [])]  # fmt: skip
            concern_id = int(next(o for o in options if o.startswith("acknowledge:")).split(":")[1])
        world.app.wait_until(lambda: status_of(world.app, concern_id) == status,
                             what=f"#{concern_id} {status}")  # fmt: skip

    return works


def deliverable_is(status: str) -> Works:
    def works(world: World, sent: Sent, seen: Seen) -> None:
        ref = json.loads(sent.source)
        value = next(e.get("value") for b in ref["blocks"] for e in candidates(b)
                     if str(e.get("action_id", "")).startswith("deliverable"))  # fmt: skip

        def now_is() -> bool:
            with world.app.db.read_session() as session:
                row = session.get(Deliverable, int(value))
            return row is not None and row.status == status

        world.app.wait_until(now_is, what=f"deliverable {value} {status}")

    return works


def timeline_sent(world: World, sent: Sent, seen: Seen) -> None:
    """`deliverables <eng> chart`: said at once, then the PNG arrives in the asker's DM."""
    says("Drawing the deliverables' timeline")(world, sent, seen)
    dm = world.fake.dm_channel_id(sent.user)
    world.app.wait_until(
        lambda: any(
            f[3] == dm and f[2].startswith(b"\x89PNG") for f in world.fake.uploaded_files()
        ),
        what=f"the timeline in {sent.role}'s DM",
    )


def refreshed(world: World, sent: Sent, seen: Seen) -> None:
    """The schedule form's preview was redrawn (views.update of the form clicked in)."""
    view_id = json.loads(sent.source)["id"]
    world.app.wait_until(
        lambda: any(c.args.get("view_id") == view_id and c.ok
                    for c in list(world.fake.calls)[sent.calls :]),
        what="the preview to be redrawn",
    )  # fmt: skip


def pushes(callback_id: str) -> Works:
    """A click in a modal pushed the form `callback_id` on it."""

    def works(world: World, sent: Sent, seen: Seen) -> None:
        assert pushed_by(world.app, sent.reply)["callback_id"] == callback_id

    return works


def list_redrawn(world: World, sent: Sent, seen: Seen) -> None:
    """The questions list clicked in was drawn again, with what the click did."""
    view_id = json.loads(sent.source)["id"]
    world.app.wait_until(
        lambda: any(c.method == "views.update" and c.args.get("view_id") == view_id and c.ok
                    for c in list(world.fake.calls)[sent.calls :]),
        what="the questions list to be redrawn",
    )  # fmt: skip


def anything(world: World, sent: Sent, seen: Seen) -> None:
    assert "Sorry, something went wrong" not in seen.text, seen.text


def home_published(world: World, sent: Sent, seen: Seen) -> None:
    assert seen.kind == "home", seen.kind
    if sent.role not in MEMBERS:
        assert "Acme Payments" not in seen.text and "Shared admin password" not in seen.text, (
            seen.text
        )


UPDATE = {"rag": "green", "summary": "All good this week."}
FEEDBACK = {"communication": "4", "quality": "4", "timeliness": "3", "overall": "4"}
ACCESS = "Only "

CASES: tuple[Case, ...] = (
    # -- commands --
    command("help", EVERYONE, says("/cadence")),
    command("engagement new", CREATORS, opens("engagement_form")),
    command("engagement list", EVERYONE, says("engagement")),
    command("engagement edit acme-payments", MANAGERS, opens("engagement_form")),
    command("engagement archive acme-payments", MANAGERS, says("Archive")),
    command("schedule acme-payments", MANAGERS, opens("cadence_form")),
    command("cadences acme-payments", EVERYONE, says("cadence")),
    command(
        "pause {cad_a}", MANAGERS, says("Paused"), fresh_ids=lambda w: {"cad_a": fresh_cadence(w)}
    ),
    command(
        "skip {cad_a}", MANAGERS, says("Skipped"), fresh_ids=lambda w: {"cad_a": fresh_cadence(w)}
    ),
    command(
        "resume {cad_paused}",
        MANAGERS,
        says("Resumed"),
        fresh_ids=lambda w: {"cad_paused": paused_cadence(w)},
    ),
    command("delete {cad_a}", MANAGERS, says("Delete this cadence?")),
    command("questions {cad_paused}", MANAGERS, opens(QUESTIONS_VIEW)),
    command("questions acme-payments", MANAGERS, opens(QUESTIONS_VIEW)),
    command("update acme-payments", UPDATERS, opens("status_update_form")),
    command("feedback acme-payments", SURVEYED, opens("feedback_form")),
    command("concern acme-payments Fresh worry", MEMBERS, opens("concern_form")),
    command("concerns acme-payments", MEMBERS, says("Shared admin password")),
    command("concerns", EVERYONE, anything),
    command("deliverable acme-payments Fresh item", MANAGERS, opens("deliverable_form")),
    command("deliverables acme-payments", READERS, says("Cutover runbook")),
    # Not to another organisation's people: Slack lets no app DM them a file (they are told).
    command("deliverables acme-payments chart", READERS - {"external"}, timeline_sent),
    command("deliverables", EVERYONE, anything),
    command("assurance acme-payments", MEMBERS, says("ISO 27001 certificate")),
    command("assurance acme-payments add", MANAGERS, opens(ASSURANCE_ADD_MODAL)),
    command("assurance", EVERYONE, anything),
    command("away 2026-12-21 2026-12-24", EVERYONE, says("You are away")),
    command("away off", EVERYONE, anything),
    command("status acme-payments", MEMBERS, says("Acme Payments")),
    command("digest preview", EVERYONE, anything),
    command("digest send", STEWARDS, says("Posting the digest"), fresh_ids=digest_send_again),
    command("digest schedule", STEWARDS, opens("digest_schedule")),
    command("assurance requirements", STEWARDS, opens(REQUIREMENTS_MODAL)),
    command("retention", EVERYONE, says("forever (the default)")),
    command("retention answers 730", STEWARDS, says("Saved", "730 days")),
    command("export acme-payments", MANAGERS, says("Exporting Acme Payments")),
    # -- buttons and menus --
    click(
        "archive: confirm",
        archive_confirmation,
        "engagement_archive_confirm",
        MANAGERS,
        says("Archived"),
    ),
    click("archive: cancel", archive_confirmation, "engagement_archive_cancel", EVERYONE, anything),
    click(
        "schedule form: rule changed",
        schedule_form,
        "rule_kind",
        MANAGERS,
        refreshed,
        option="monthly_day",
        answers=False,
    ),
    click(
        "cadence: edit", cadence_row("edit"), "cadence_button:edit", MANAGERS, opens("cadence_form")
    ),
    click(
        "cadence: pause",
        cadence_row("pause", use_up=True),
        "cadence_button:pause",
        MANAGERS,
        says("Paused"),
    ),
    click(
        "cadence: resume",
        cadence_row("resume", paused=True),
        "cadence_button:resume",
        MANAGERS,
        says("Resumed"),
    ),
    click("cadence: skip", cadence_row("skip"), "cadence_button:skip", MANAGERS, says("Skipped")),
    click(
        "cadence: delete",
        cadence_row("delete", use_up=True),
        "cadence_button:delete",
        MANAGERS,
        says("Deleted"),
    ),
    click("cadence: cancel", delete_confirmation, "cadence_button:cancel", EVERYONE, anything),
    click(
        "cadence: questions",
        cadence_row("questions"),
        "cadence_button:questions",
        MANAGERS,
        opens(QUESTIONS_VIEW),
    ),
    click(
        "questions: add",
        questions_list,
        "question_add",
        MANAGERS,
        pushes(QUESTION_MODAL),
        answers=False,
    ),
    click(
        "questions: edit from the menu",
        questions_list,
        "question_menu",
        MANAGERS,
        pushes(QUESTION_MODAL),
        answers=False,
    ),
    click(
        "question editor: its type changed",
        new_question_editor,
        "question_kind",
        MANAGERS,
        refreshed,
        option="number",
        answers=False,
    ),
    click(
        "questions: a template",
        questions_list,
        "question_template",
        MANAGERS,
        list_redrawn,
        option="security_review",
        answers=False,
    ),
    click(
        "prompt: status update",
        prompt_of("chk_status"),
        "checkin_answer",
        frozenset({"vendor"}),
        opens("status_update_form"),
    ),
    click(
        "prompt: feedback",
        prompt_of("chk_feedback"),
        "checkin_answer",
        frozenset({"stakeholder"}),
        opens("feedback_form"),
    ),
    click(
        "prompt: risk review",
        prompt_of("chk_review"),
        "checkin_answer",
        frozenset({"vendor"}),
        opens("risk_review_form"),
    ),
    click(
        "update: edit",
        update_summary,
        "status_update_edit",
        frozenset({"external", "lead", "admin"}),
        opens("status_update_form"),
    ),
    click(
        "update: blocker to concern",
        update_summary,
        "status_update_blocker_concern",
        MEMBERS,
        opens("concern_form"),
    ),
    click(
        "concern: acknowledge",
        card_of(use_up=True),
        "concern:acknowledge",
        HANDLERS,
        concern_is("acknowledged"),
        answers=False,
    ),
    click(
        "concern: resolve", card_of(), "concern:resolve", HANDLERS, opens("concern_resolve_form")
    ),
    click(
        "concern: reassign", card_of(), "concern:reassign", HANDLERS, opens("concern_reassign_form")
    ),
    click("concern: comment", card_of(), "concern:comment", MEMBERS, opens("concern_comment_form")),
    click(
        "concern: reopen",
        card_of(use_up=True, resolved=True),
        "concern:reopen",
        HANDLERS | {"stakeholder"},
        concern_is("reopened"),
        answers=False,
    ),
    click(
        "concern list: acknowledge",
        concern_menu,
        "concern_menu",
        HANDLERS,
        concern_is("acknowledged"),
        answers=False,
    ),
    click(
        "deliverable: start",
        deliverable_of(use_up=True),
        "deliverable:start",
        OWNS,
        deliverable_is("in_progress"),
        answers=False,
    ),
    click("deliverable: submit", deliverable_of(), "deliverable:submit", OWNS, opens(SUBMIT_MODAL)),
    click(
        "deliverable: accept",
        deliverable_of(submitted=True),
        "deliverable:accept",
        ACCEPTS,
        opens(ACCEPT_MODAL),
    ),
    click(
        "deliverable: reject",
        deliverable_of(submitted=True),
        "deliverable:reject",
        ACCEPTS,
        opens(REJECT_MODAL),
    ),
    click(
        "deliverable: replan", deliverable_of(), "deliverable:replan", PLANNERS, opens(REPLAN_MODAL)
    ),
    click(
        "deliverable: cancel", deliverable_of(), "deliverable:cancel", MANAGERS, opens(CANCEL_MODAL)
    ),
    click(
        "deliverable list: re-plan",
        deliverable_menu,
        "deliverable_menu",
        PLANNERS,
        opens(REPLAN_MODAL),
    ),
    click(
        "deliverable list: next page",
        deliverables_page,
        "deliverables_more",
        READERS,
        says("Deliverables of Acme Payments"),
    ),
    click(
        "assurance: provide",
        item_of(),
        "assurance:provide",
        PROVIDES,
        opens(ASSURANCE_PROVIDE_MODAL),
    ),
    click("assurance: waive", item_of(), "assurance:waive", MANAGERS, opens(ASSURANCE_WAIVE_MODAL)),
    click(
        "assurance: accept",
        item_of(received=True),
        "assurance:accept",
        REVIEWS,
        opens(ASSURANCE_ACCEPT_MODAL),
    ),
    click(
        "assurance: reject",
        item_of(received=True),
        "assurance:reject",
        REVIEWS,
        opens(ASSURANCE_REJECT_MODAL),
    ),
    click(
        "assurance list: waive",
        assurance_menu,
        "assurance_menu",
        MANAGERS,
        opens(ASSURANCE_WAIVE_MODAL),
    ),
    click(
        "assurance list: next page",
        assurance_page,
        "assurance_more",
        MEMBERS,
        says("Evidence of Acme Payments"),
    ),
    click("digest: health card", digest_message, "health_card", EVERYONE, says("Acme Payments")),
    click("preview: health card", preview_message, "health_card", MEMBERS, says("Acme Payments")),
    click(
        "card: give an update",
        health_card,
        "health_card:update",
        UPDATERS,
        opens("status_update_form"),
    ),
    click(
        "card: raise a concern", health_card, "health_card:concern", MEMBERS, opens("concern_form")
    ),
    click(
        "card: see concerns",
        health_card,
        "health_card:concerns",
        MEMBERS,
        says("Shared admin password"),
    ),
    # -- form submissions --
    submission(
        "form: new engagement",
        by_command("engagement new", self_open=True),
        CREATORS,
        saved(Engagement),
        lambda role: {**GOOD_FORM, "name": f"New by {role}", "channel": GENERAL},
        callback=ENGAGEMENT_MODAL,
    ),
    submission(
        "form: edit engagement",
        by_command("engagement edit acme-payments"),
        MANAGERS,
        saved(),
        callback=ENGAGEMENT_MODAL,
    ),
    submission(
        "form: new cadence",
        by_command("schedule acme-payments"),
        MANAGERS,
        saved(CadenceRow),
        {"rule_weekdays": ["2"], "rule_local_time": "10:00"},
        callback=CADENCE_MODAL,
    ),
    submission(
        "form: edit cadence",
        by_click(cadence_row("edit"), "cadence_button:edit", LEAD),
        MANAGERS,
        saved(),
        callback=CADENCE_MODAL,
    ),
    submission(
        "form: question",
        by_push(questions_list, "question_add", LEAD),
        MANAGERS,
        saved(Question),
        {"text": "Asked by form", "question_kind": "date"},
        callback=QUESTION_MODAL,
    ),
    submission(
        "form: ad hoc update",
        by_command("update acme-payments"),
        UPDATERS,
        saved(StatusUpdate),
        UPDATE,
        callback=UPDATE_MODAL,
    ),
    submission(
        "form: check-in update",
        by_click(prompt_of("chk_status"), "checkin_answer", VENDOR),
        frozenset({"vendor"}),
        saved(StatusUpdate),
        UPDATE,
        callback=UPDATE_MODAL,
    ),
    submission(
        "form: edit update",
        by_click(update_summary, "status_update_edit", LEAD),
        frozenset({"external", "lead", "admin"}),
        saved(),
        callback=UPDATE_MODAL,
    ),
    submission(
        "form: ad hoc feedback",
        by_command("feedback acme-payments"),
        SURVEYED,
        saved(),
        FEEDBACK,
        callback=FEEDBACK_MODAL,
    ),
    submission(
        "form: check-in feedback",
        by_click(prompt_of("chk_feedback"), "checkin_answer", STAKEHOLDER),
        frozenset({"stakeholder"}),
        saved(),
        FEEDBACK,
        callback=FEEDBACK_MODAL,
    ),
    submission(
        "form: risk review",
        by_click(prompt_of("chk_review"), "checkin_answer", VENDOR),
        frozenset({"vendor"}),
        saved(),
        callback=RISK_REVIEW_MODAL,
    ),
    submission(
        "form: raise concern",
        by_command("concern acme-payments Raised by form"),
        MEMBERS,
        saved(Concern),
        {"severity": "low", "category": "quality"},
        callback=CONCERN_MODAL,
    ),
    submission(
        "form: comment",
        by_click(card_of(), "concern:comment", LEAD),
        MEMBERS,
        saved(),
        {"note": "Seen, thanks."},
        callback=COMMENT_MODAL,
    ),
    submission(
        "form: resolve",
        by_click(card_of(use_up=True), "concern:resolve", LEAD),
        HANDLERS,
        saved(),
        {"note": "Keys rotated."},
        callback=RESOLVE_MODAL,
    ),
    submission(
        "form: reassign",
        by_click(card_of(use_up=True), "concern:reassign", LEAD),
        HANDLERS,
        saved(),
        {"owner": LEAD2},
        callback=REASSIGN_MODAL,
    ),
    submission(
        "form: new deliverable",
        by_command("deliverable acme-payments Made by form"),
        MANAGERS,
        saved(Deliverable),
        {"due_on": "2026-12-18", "owner": VENDOR},
        callback=DELIVERABLE_MODAL,
    ),
    submission(
        "form: submit deliverable",
        by_click(deliverable_of(use_up=True), "deliverable:submit", VENDOR),
        OWNS,
        saved(),
        {"link": "https://example.com/delivered"},
        callback=SUBMIT_MODAL,
    ),
    submission(
        "form: accept deliverable",
        by_click(deliverable_of(use_up=True, submitted=True), "deliverable:accept", LEAD),
        ACCEPTS,
        saved(),
        callback=ACCEPT_MODAL,
    ),
    submission(
        "form: reject deliverable",
        by_click(deliverable_of(use_up=True, submitted=True), "deliverable:reject", LEAD),
        ACCEPTS,
        saved(),
        {"reason": "The report has no p99."},
        callback=REJECT_MODAL,
    ),
    submission(
        "form: re-plan deliverable",
        by_click(deliverable_of(use_up=True), "deliverable:replan", LEAD),
        PLANNERS,
        saved(),
        {"due_on": "2026-12-23", "reason": "Freeze week."},
        callback=REPLAN_MODAL,
    ),
    submission(
        "form: cancel deliverable",
        by_click(deliverable_of(use_up=True), "deliverable:cancel", LEAD),
        MANAGERS,
        saved(),
        {"reason": "Out of scope."},
        callback=CANCEL_MODAL,
    ),
    submission(
        "form: new evidence item",
        by_command("assurance acme-payments add"),
        MANAGERS,
        saved(models.AssuranceItem),
        {"type": "dpa", "owner": VENDOR},
        callback=ASSURANCE_ADD_MODAL,
    ),
    submission(
        "form: provide evidence",
        by_click(item_of(use_up=True), "assurance:provide", VENDOR),
        PROVIDES,
        saved(),
        EVIDENCE,
        callback=ASSURANCE_PROVIDE_MODAL,
    ),
    submission(
        "form: accept evidence",
        by_click(item_of(use_up=True, received=True), "assurance:accept", LEAD),
        REVIEWS,
        saved(),
        callback=ASSURANCE_ACCEPT_MODAL,
    ),
    submission(
        "form: reject evidence",
        by_click(item_of(use_up=True, received=True), "assurance:reject", LEAD),
        REVIEWS,
        saved(),
        {"reason": "The report is a year old."},
        callback=ASSURANCE_REJECT_MODAL,
    ),
    submission(
        "form: waive evidence",
        by_click(item_of(use_up=True), "assurance:waive", LEAD),
        MANAGERS,
        saved(),
        {"reason": "No personal data in scope."},
        callback=ASSURANCE_WAIVE_MODAL,
    ),
    submission(
        "form: digest schedule",
        by_command("digest schedule", ADMIN),
        STEWARDS,
        saved(),
        callback=DIGEST_SCHEDULE_VIEW,
    ),
    submission(
        "form: due diligence requirements",
        by_command("assurance requirements", ADMIN),
        STEWARDS,
        saved(),
        callback=REQUIREMENTS_MODAL,
    ),
    # -- the shortcut, the Home tab and the Messages tab --
    Case(
        "shortcut: raise a concern from a message",
        MEMBERS,
        shortcut,
        opens("concern_form"),
        binding=("shortcut", RAISE_SHORTCUT),
    ),
    Case(
        "event: Home opened", EVERYONE, home, home_published, binding=("event", "app_home_opened")
    ),
    # Anyone's own choice, whatever view the click came from: it never names another person.
    click(
        "home: how I hear of answers",
        lead_home,
        "notify_mode",
        EVERYONE,
        home_published,
        option="daily",
    ),
    # -- Workflow Builder steps: the person who runs the workflow, checked as by the commands --
    Case(
        "step: raise a concern",
        MEMBERS,
        step("raise_concern", "raised_by", engagement="acme-payments", title="From a workflow"),
        step_done(Concern, "concern_id", "raised_by"),
        binding=("function", "raise_concern"),
    ),
    Case(
        "step: ask for a status update now",
        MANAGERS,
        step(
            "ask_status_update",
            "requested_by",
            engagement="acme-payments",
            cadence=acme_status_cadence,
        ),
        step_done(CheckIn, "checkin_id", None),
        binding=("function", "ask_status_update"),
    ),
    Case(
        "step: add a deliverable",
        MANAGERS,
        step(
            "add_deliverable",
            "added_by",
            engagement="acme-payments",
            title="From a workflow",
            due_date="2026-12-18",
        ),
        step_done(Deliverable, "deliverable_id", "created_by"),
        binding=("function", "add_deliverable"),
    ),
    Case(
        "event: a message in the Messages tab",
        EVERYONE,
        typed_to_cadence,
        says("/cadence help"),
        binding=("event", "message"),
    ),
)
# Bindings no person can reach: Slack itself sends these events (signed, about the workspace
# that installed Cadence), and tests/test_workspaces.py drives them.
NOT_A_PERSONS: dict[tuple[str, str], str] = {
    ("event", "app_uninstalled"): "Slack's notice that the workspace uninstalled Cadence",
    ("event", "tokens_revoked"): "Slack's notice that the workspace revoked Cadence's token",
    ("closed", ".*"): "a modal closed: only acknowledged, nothing read or changed",
}
# Bugs in listeners this suite may not change: the row fails until its owner fixes it.
KNOWN: dict[str, str] = {}


# The whole matrix runs in CI; the fast loop (`-m "not slow"`) tries every binding with the
# outsider, one other role it refuses and one role it allows, the roles taken in turn from one
# binding to the next so that each is tried on many. A listener without a check fails there
# already (the outsider); a role that gains what its neighbour may do is CI's to find.
EXHAUSTIVE = pytest.mark.slow  # every role of every binding: about 1,000 requests a database


def sampled(index: int, roles: list[str], *, keep: tuple[str, ...] = ()) -> set[str]:
    """The roles of the `index`th binding the fast loop tries: those in `keep` it has, and one
    more, in turn."""
    chosen = {role for role in keep if role in roles}
    others = [role for role in roles if role not in chosen]
    if others:
        chosen.add(others[index % len(others)])
    return chosen


def rows_of(case: Case, roles: list[str], fast: set[str]) -> list[Any]:
    return [pytest.param(case, role, marks=() if role in fast else EXHAUSTIVE) for role in roles]


def refused() -> list[Any]:
    """Every case with every role it refuses; a known bug with one role only (each row waits
    out the refusal that does not come), marked to fail until it is fixed."""
    rows: list[Any] = []
    for index, case in enumerate(CASES):
        roles = [role for role in ROLES if role not in case.allowed]
        if case.name in KNOWN:
            mark = pytest.mark.xfail(strict=True, reason=KNOWN[case.name])
            rows.append(pytest.param(case, "outsider", marks=mark))
        else:
            rows += rows_of(case, roles, sampled(index, roles, keep=("outsider",)))
    return rows


def allowed() -> list[Any]:
    rows: list[Any] = []
    for index, case in enumerate(CASES):
        roles = [role for role in ROLES if role in case.allowed]
        rows += rows_of(case, roles, sampled(index, roles))
    return rows


REFUSED = refused()
ALLOWED = allowed()


def case_id(value: Any) -> str:
    return str(value)


def test_every_binding_the_app_answers_has_a_row():
    """A new listener (a command route, a button, a form, a shortcut, an event) fails here
    until the matrix says who may use it: so no listener ships without a permission check that
    every kind of person has tried. And no row names a binding the app does not have."""
    gaps = missing_rows(CASES)
    assert not gaps, f"bindings with no row in CASES (who may use them?): {gaps}"
    tables = {"action": ACTIONS, "view": VIEWS, "shortcut": SHORTCUTS, "event": EVENTS,
              "function": FUNCTIONS}  # fmt: skip
    strays = [
        case.name
        for case in CASES
        if case.binding[0] != "command"
        and not any(binds(key, case.binding[1]) for key in tables[case.binding[0]])
    ]
    assert not strays, f"rows whose binding the app does not have: {strays}"


def test_the_coverage_check_finds_a_listener_without_a_row():
    """The check above can fail: without the rows of one route, one button and one form, it
    names exactly those."""
    dropped = {("command", "export acme-payments"), ("action", "status_update_edit"),
               ("view", FEEDBACK_MODAL)}  # fmt: skip
    assert missing_rows([c for c in CASES if c.binding not in dropped]) == [
        "/cadence export",
        "action status_update_edit",
        f"view {FEEDBACK_MODAL}",
    ]


def binds(key: str | re.Pattern, name: str) -> bool:
    """Whether a binding's key (an id, or a pattern of ids) answers `name`."""
    return bool(key.search(name)) if isinstance(key, re.Pattern) else key == name


def missing_rows(cases: list[Case] | tuple[Case, ...]) -> list[str]:
    """Every command route and listener binding in handlers/ that no case reaches (Slack's own
    notices in NOT_A_PERSONS aside), sorted."""
    covered = {case.binding for case in cases}
    typed = [parse(text) for kind, text in covered if kind == "command"]
    words = [(p.name, *p.args) for p in typed]
    gaps = [
        "/cadence " + " ".join(route)
        for route in ROUTES
        if not any(w[: len(route)] == route for w in words)
    ]
    tables = {"action": ACTIONS, "view": VIEWS, "shortcut": SHORTCUTS, "event": EVENTS,
              "function": FUNCTIONS, "closed": CLOSED_VIEWS}  # fmt: skip
    for kind, table in tables.items():
        names = [name for k, name in covered if k == kind]
        for key in table:
            label = key.pattern if isinstance(key, re.Pattern) else key
            if (kind, label) not in NOT_A_PERSONS and not any(binds(key, n) for n in names):
                gaps.append(f"{kind} {label}")
    return sorted(gaps)


# --- tampered forms, retargeted buttons, and triggers used twice --------------------------------

NOT_THERE = ("no longer exists", "out of date", "is damaged", "There is no", "does not ask")
ELSEWHERE = ("Hooli", "roadmap slip", "Initech fine", "Latency")  # B's and the other workspace's


def tampered(view: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The view as a forged submission would carry it: private_metadata pointing elsewhere."""
    out = copy.deepcopy(view)
    metadata = json.loads(out.get("private_metadata") or "{}")
    out["private_metadata"] = json.dumps({**metadata, **changes})
    return out


def assert_turned_away(world: World, sent: Sent, before: dict[str, list[str]]) -> None:
    """Refused (not allowed, or not found in this workspace), nothing changed, nothing said
    about the other engagement or workspace, nothing else sent to Slack."""
    seen = observe(world, sent)
    assert seen.kind in ("inline", "errors", "ephemeral", "dm"), (seen.kind, seen.text[:300])
    assert any(w in seen.text for w in REFUSAL_WORDS + NOT_THERE), seen.text
    assert not [w for w in ELSEWHERE if w in seen.text], seen.text
    sent.source = " ".join(SECRET_WORDS)  # the lead may read A; the rest is checked above
    assert_refused_quietly(world, sent, before)


def assert_refused_quietly(world: World, sent: Sent, before: dict[str, list[str]]) -> None:
    after = snapshot(world)
    assert {t for t in before if before[t] != after[t]} == set(), "a refused request wrote"
    url = sent.reply.response_url or ""
    others = [
        c.method
        for c in list(world.fake.calls)[sent.calls :]
        if c.method not in READ_ONLY and c.method != "chat.postMessage"
    ]
    others += [p.name for p in list(world.fake.responses)[sent.responses :]
               if not url.endswith("/" + p.name)]  # fmt: skip
    assert not others, others


FORMS: dict[str, tuple[Opener, dict[str, Any]]] = {
    "engagement": (by_command("engagement edit acme-payments"), {}),
    "cadence": (by_command("schedule acme-payments"), {"rule_weekdays": ["2"]}),
    "cadence edit": (by_click(cadence_row("edit"), "cadence_button:edit", LEAD), {}),
    "question": (
        by_push(questions_list, "question_add", LEAD),
        {"text": "Tampered", "question_kind": "rating"},
    ),
    "question edit": (question_editor, {"text": "Tampered edit"}),
    "update": (by_command("update acme-payments"), UPDATE),
    "update edit": (by_click(update_summary, "status_update_edit", LEAD), {}),
    "feedback": (by_command("feedback acme-payments"), FEEDBACK),
    "concern": (
        by_command("concern acme-payments Tampered"),
        {"severity": "low", "category": "quality"},
    ),
    "resolve": (by_click(card_of(), "concern:resolve", LEAD), {"note": "Done."}),
    "reassign": (by_click(card_of(), "concern:reassign", LEAD), {"owner": LEAD2}),
    "comment": (by_click(card_of(), "concern:comment", LEAD), {"note": "Hm."}),
    "risk review": (by_click(prompt_of("chk_review"), "checkin_answer", VENDOR), {}),
    "deliverable": (
        by_command("deliverable acme-payments Tampered"),
        {"due_on": "2026-12-18", "owner": VENDOR},
    ),
    "submit deliverable": (
        by_click(deliverable_of(), "deliverable:submit", VENDOR),
        {"note": "Done."},
    ),
    "accept deliverable": (
        by_click(deliverable_of(submitted=True), "deliverable:accept", LEAD),
        {},
    ),
    "reject deliverable": (
        by_click(deliverable_of(submitted=True), "deliverable:reject", LEAD),
        {"reason": "No."},
    ),
    "re-plan deliverable": (
        by_click(deliverable_of(), "deliverable:replan", LEAD),
        {"due_on": "2026-12-23", "reason": "Later."},
    ),
    "cancel deliverable": (
        by_click(deliverable_of(), "deliverable:cancel", LEAD),
        {"reason": "Dropped."},
    ),
    "evidence item": (
        by_command("assurance acme-payments add"),
        {"type": "dpa", "owner": VENDOR},
    ),
    "provide evidence": (by_click(item_of(), "assurance:provide", VENDOR), EVIDENCE),
    "accept evidence": (by_click(item_of(received=True), "assurance:accept", LEAD), {}),
    "reject evidence": (
        by_click(item_of(received=True), "assurance:reject", LEAD),
        {"reason": "No."},
    ),
    "waive evidence": (by_click(item_of(), "assurance:waive", LEAD), {"reason": "No."}),
}
TAMPERINGS = [
    ("engagement", "engagement_id", "b", LEAD),
    ("engagement", "engagement_id", "other", LEAD),
    ("cadence", "engagement_id", "b", LEAD),
    ("cadence", "engagement_id", "other", LEAD),
    ("cadence edit", "cadence_id", "cad_b", LEAD),
    ("cadence edit", "cadence_id", "cad_other", LEAD),
    ("question", "cadence_id", "cad_b", LEAD),
    ("question", "cadence_id", "cad_other", LEAD),
    ("question", "engagement_id", "b", LEAD),
    ("question edit", "question_id", "q_b", LEAD),
    ("update", "engagement_id", "b", LEAD),
    ("update", "engagement_id", "other", LEAD),
    ("update", "checkin_id", "chk_b", LEAD),
    ("update edit", "update_id", "upd_b", LEAD),
    ("feedback", "engagement_id", "b", LEAD),
    ("feedback", "checkin_id", "chk_b", LEAD),
    ("concern", "engagement_id", "b", LEAD),
    ("concern", "engagement_id", "other", LEAD),
    ("resolve", "concern_id", "cb", LEAD),
    ("resolve", "concern_id", "c_other", LEAD),
    ("reassign", "concern_id", "cb", LEAD),
    ("comment", "concern_id", "c_other", LEAD),
    ("risk review", "checkin_id", "chk_b", VENDOR),
    ("deliverable", "engagement_id", "b", LEAD),
    ("deliverable", "engagement_id", "other", LEAD),
    ("submit deliverable", "deliverable_id", "db", VENDOR),
    ("submit deliverable", "deliverable_id", "d_other", VENDOR),
    ("accept deliverable", "deliverable_id", "db", LEAD),
    ("reject deliverable", "deliverable_id", "d_other", LEAD),
    ("re-plan deliverable", "deliverable_id", "db", LEAD),
    ("cancel deliverable", "deliverable_id", "db", LEAD),
    ("evidence item", "engagement_id", "b", LEAD),
    ("evidence item", "engagement_id", "other", LEAD),
    ("provide evidence", "item_id", "ib", VENDOR),
    ("provide evidence", "item_id", "i_other", VENDOR),
    ("accept evidence", "item_id", "ib", LEAD),
    ("reject evidence", "item_id", "i_other", LEAD),
    ("waive evidence", "item_id", "ib", LEAD),
]


# The modal each form above is (its `FormSpec`); a form that names no row in private_metadata
# (the workspace's digest schedule) has nothing to tamper with.
TAMPERED_FORMS = {
    "engagement": ENGAGEMENT_MODAL, "cadence": CADENCE_MODAL, "cadence edit": CADENCE_MODAL,
    "question": QUESTION_MODAL, "question edit": QUESTION_MODAL,
    "update": UPDATE_MODAL, "update edit": UPDATE_MODAL, "feedback": FEEDBACK_MODAL,
    "concern": CONCERN_MODAL, "resolve": RESOLVE_MODAL, "reassign": REASSIGN_MODAL,
    "comment": COMMENT_MODAL, "risk review": RISK_REVIEW_MODAL,
    "deliverable": DELIVERABLE_MODAL, "submit deliverable": SUBMIT_MODAL,
    "accept deliverable": ACCEPT_MODAL, "reject deliverable": REJECT_MODAL,
    "re-plan deliverable": REPLAN_MODAL, "cancel deliverable": CANCEL_MODAL,
    "evidence item": ASSURANCE_ADD_MODAL, "provide evidence": ASSURANCE_PROVIDE_MODAL,
    "accept evidence": ASSURANCE_ACCEPT_MODAL, "reject evidence": ASSURANCE_REJECT_MODAL,
    "waive evidence": ASSURANCE_WAIVE_MODAL,
}  # fmt: skip
NO_IDS_IN_METADATA = {DIGEST_SCHEDULE_VIEW, REQUIREMENTS_MODAL}


def test_every_form_binding_that_carries_ids_is_tampered_with():
    """A new form spec fails here until its private_metadata is tried pointing elsewhere."""
    assert set(TAMPERED_FORMS) == set(FORMS)
    tried = {TAMPERED_FORMS[form] for form, *_ in TAMPERINGS}
    assert set(VIEWS) - NO_IDS_IN_METADATA == tried


@pytest.mark.parametrize(("form", "key", "target", "user"), TAMPERINGS,
                         ids=[f"{f}:{k}->{t}" for f, k, t, _ in TAMPERINGS])  # fmt: skip
def test_a_form_whose_metadata_points_elsewhere_is_refused(world, form, key, target, user):
    """private_metadata is a hint: pointed at another engagement (one the person does not lead)
    or at another workspace's row, the submission is refused and nothing is written."""
    quiet(world)
    opener, values = FORMS[form]
    view, _ = opener(world, None)
    forged = tampered(view, **{key: world.ids[target]})
    before = snapshot(world)
    sent = sending(world, "lead", user, "submission", "",
                   lambda: world.app.sim.submit_view(forged, values, user=user))  # fmt: skip
    assert_turned_away(world, sent, before)


def test_a_risk_review_cannot_change_another_engagements_concern(world):
    """The review's form lists the concerns it asks about in private_metadata: pointed at B's
    concern and another workspace's (with an answer resolving B's), it is refused whole."""
    quiet(world)
    view, _ = FORMS["risk review"][0](world, None)
    forged = tampered(view, concern_ids=[world.ids["c1"], world.ids["cb"], world.ids["c_other"]])
    # The forged form asks about B's concern as it does about A's: resolved, with a note.
    c1, cb = world.ids["c1"], world.ids["cb"]
    ours = [b for b in forged["blocks"] if b.get("block_id") in (f"status_{c1}", f"note_{c1}")]
    theirs = json.loads(json.dumps(ours).replace(f'_{c1}"', f'_{cb}"'))
    forged["blocks"] += theirs
    before = snapshot(world)
    sent = sending(world, "vendor", VENDOR, "submission", "", lambda: world.app.sim.submit_view(
        forged, {f"status_{cb}": "resolved", f"note_{cb}": "Closed by a forged form."}, user=VENDOR,
        check_required=False))  # fmt: skip
    assert_turned_away(world, sent, before)
    assert status_of(world.app, world.ids["cb"]) == "open"


RETARGETS = [
    ("archive", archive_confirmation, "engagement_archive_confirm", "b"),
    ("archive", archive_confirmation, "engagement_archive_confirm", "other"),
    ("cadence pause", cadence_row("pause"), "cadence_button:pause", "cad_b"),
    ("cadence pause", cadence_row("pause"), "cadence_button:pause", "cad_other"),
    ("cadence edit", cadence_row("edit"), "cadence_button:edit", "cad_b"),
    ("update edit", update_summary, "status_update_edit", "upd_b"),
    ("blocker", update_summary, "status_update_blocker_concern", "upd_b"),
    ("acknowledge", card_of(), "concern:acknowledge", "cb"),
    ("acknowledge", card_of(), "concern:acknowledge", "c_other"),
    ("resolve", card_of(), "concern:resolve", "cb"),
    ("health card", preview_message, "health_card", "b"),
    ("health card", preview_message, "health_card", "other"),
    ("card: update", health_card, "health_card:update", "b"),
    ("card: concerns", health_card, "health_card:concerns", "b"),
    ("assurance waive", item_of(), "assurance:waive", "ib"),
    ("assurance waive", item_of(), "assurance:waive", "i_other"),
]


@pytest.mark.parametrize(("what", "source", "action_id", "target"), RETARGETS,
                         ids=[f"{w}->{t}" for w, _, _, t in RETARGETS])  # fmt: skip
def test_a_button_whose_value_points_at_another_engagement_is_refused(
    world, what, source, action_id, target
):
    """A's lead clicks a button of theirs whose value was changed to B's (or another
    workspace's) id: refused, nothing changes, nothing about B is said."""
    quiet(world)
    container, channel = source(world, None)
    forged = retargeted(container, action_id, str(world.ids[target]))
    before = snapshot(world)
    sent = sending(world, "lead", LEAD, "click", "", lambda: world.app.sim.click(
        forged, action_id, user=LEAD, channel=channel))  # fmt: skip
    assert_turned_away(world, sent, before)


def test_the_prompt_of_another_engagements_check_in_is_refused(world):
    quiet(world)
    container, channel = prompt_of("chk_status")(world, None)
    forged = retargeted(container, "checkin_answer", str(world.ids["chk_b"]))
    before = snapshot(world)
    sent = sending(world, "vendor", VENDOR, "click", "", lambda: world.app.sim.click(
        forged, "checkin_answer", user=VENDOR, channel=channel))  # fmt: skip
    assert_turned_away(world, sent, before)


def test_the_list_menu_cannot_act_on_another_engagements_concern(world):
    quiet(world)
    listed = ask(world, "concerns", user=ADMIN).body  # the admin sees B's too
    menu = narrowed(listed, "concern_menu", f"acknowledge:{world.ids['cb']}")
    before = snapshot(world)
    sent = sending(world, "lead", LEAD, "click", "", lambda: world.app.sim.click(
        menu, "concern_menu", user=LEAD, value=f"acknowledge:{world.ids['cb']}"))  # fmt: skip
    seen = observe(world, sent)
    assert "Only <@" in seen.text and "roadmap slip" not in seen.text, seen.text
    assert_refused_quietly(world, sent, before)


def command_with_trigger(world: World, text: str, user: str, trigger_id: str) -> Sent:
    """A signed slash command carrying a trigger_id of the test's choosing."""
    sim = world.app.sim
    fields = {
        "token": "legacy-verification-token", "team_id": TEAM, "team_domain": "acme",
        "channel_id": GENERAL, "channel_name": "general", "user_id": user,
        "user_name": user.lower(), "command": "/cadence", "text": text,
        "api_app_id": world.fake.app_id, "is_enterprise_install": "false",
        "response_url": world.fake.response_url(f"trigger-{next(_fresh)}"),
        "trigger_id": trigger_id,
    }  # fmt: skip
    body = urllib.parse.urlencode(fields)

    def post() -> Reply:
        reply = sim.raw_post(body, sign(body, SIGNING_SECRET))
        reply.response_url, reply.trigger_id = fields["response_url"], trigger_id
        return reply

    return sending(world, "lead", user, "command", "", post)


@pytest.mark.parametrize("spoiled", ["used", "expired"])
def test_a_trigger_used_once_already_or_too_late_opens_nothing(world, spoiled):
    """Slack lets a trigger_id open one modal, within 3 s: a reused or stale one opens nothing,
    the person is told to run the command again, and nothing is written."""
    quiet(world)
    trigger = world.fake.new_trigger_id()
    if spoiled == "used":
        first = command_with_trigger(world, "engagement edit acme-payments", LEAD, trigger)
        assert observe(world, first).kind == "view"
    else:
        world.fake.expire_trigger(trigger)
    before = snapshot(world)
    sent = command_with_trigger(world, "engagement edit acme-payments", LEAD, trigger)
    url = sent.reply.response_url or ""
    told = world.app.wait_until(
        lambda: [p.body for p in list(world.fake.responses)[sent.responses :]
                 if url.endswith("/" + p.name)],
        what="the person to be told",
    )  # fmt: skip
    assert "run the command again" in text_of(told[0]), told
    opened = [c for c in list(world.fake.calls)[sent.calls :] if c.method == "views.open"]
    assert [c.ok for c in opened] == [False]
    assert snapshot(world) == before


# --- lists: what each person may read ----------------------------------------------------------


def test_the_concern_list_shows_a_person_only_their_engagements_concerns(world):
    quiet(world)
    for role in ("outsider", "executive", "foreign"):
        seen = observe(world, sending(world, role, PEOPLE[role], "command", "", lambda role=role:
                       world.sim(role).command("concerns", user=PEOPLE[role])))  # fmt: skip
        assert "Shared admin password" not in seen.text and "roadmap slip" not in seen.text
    seen = ask(world, "concerns", user=VENDOR)
    assert "Shared admin password" in seen.text and "roadmap slip" not in seen.text
    seen = ask(world, "concerns", user=ADMIN)
    assert "Shared admin password" in seen.text and "roadmap slip" in seen.text


def test_a_person_of_another_organisation_lists_only_their_engagements(world):
    quiet(world)
    seen = observe(world, sending(world, "foreign", FOREIGN, "command", "", lambda:
                   world.sim("foreign").command("engagement list", user=FOREIGN)))  # fmt: skip
    assert "Acme Payments" not in seen.text and "Initech" not in seen.text, seen.text


def test_a_person_of_another_organisation_lists_no_cadences_of_others(world):
    quiet(world)
    seen = observe(world, sending(world, "foreign", FOREIGN, "command", "", lambda:
                   world.sim("foreign").command("cadences", user=FOREIGN)))  # fmt: skip
    assert "Acme Payments" not in seen.text and "Initech" not in seen.text, seen.text


def test_a_vendor_contact_of_another_organisation_lists_only_their_engagements(world):
    """A vendor contact from the vendor's own workspace (Slack Connect) is on engagement A:
    their lists show A and its cadences, never B (Initech) nor any other of the workspace."""
    quiet(world)
    for text in ("engagement list", "cadences"):
        seen = observe(world, sending(world, "external", EXTERNAL, "command", "", lambda
                       text=text: world.sim("external").command(text, user=EXTERNAL)))  # fmt: skip
        assert "Acme Payments" in seen.text, (text, seen.text)
        assert "Initech" not in seen.text, (text, seen.text)


def test_the_installed_workspace_and_admins_list_every_engagement(world):
    """The rule's other side: a member of the workspace Cadence is installed in, even on no
    engagement, and a Cadence admin see the whole list, as before."""
    quiet(world)
    for user in (OUTSIDER, ADMIN):
        for text in ("engagement list", "cadences"):
            seen = ask(world, text, user=user)
            assert "Acme Payments" in seen.text and "Initech" in seen.text, (user, seen.text)


# --- logs ---------------------------------------------------------------------------------------


def logged_requests(world: World, canary: str) -> list[Reply]:
    """A command, a refusal, one from another organisation, an unknown one, a form and a
    forged request, each carrying `canary` where a person types."""
    app = world.app
    replies = [
        app.sim.command(f"concern acme-payments {canary}", user=LEAD),
        app.sim.command(f"status {canary}", user=OUTSIDER),
        world.sim("foreign").command(f"engagement edit acme-payments {canary}", user=FOREIGN),
        app.sim.command(f"nonsense {canary}", user=LEAD),
    ]
    view = opened_by(app, replies[0])
    replies.append(app.sim.submit_view(view, {"severity": "low", "category": "quality",
                                              "description": canary}, user=LEAD))  # fmt: skip
    body = urllib.parse.urlencode({"command": "/cadence", "text": canary})
    replies.append(app.sim.raw_post(body, sign(body, "not-the-secret")))  # a forged signature
    assert [r.status for r in replies] == [200, 200, 200, 200, 200, 401]
    quiet(world)
    settled(app)
    return replies


@contextmanager
def everything_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """caplog at DEBUG, and every logger there is at DEBUG too (Bolt sets its own levels)."""
    loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)]
    levels = [lg.level for lg in loggers]
    caplog.set_level(logging.DEBUG)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [f"{s!r}: " + next(ln for ln in text.splitlines() if s in ln)[:300]
            for s in secrets if s and s in text]  # fmt: skip


OURS = ("cadence", "bot.", "handlers", "storage")  # the loggers of Cadence's own code


def test_logs_carry_no_token_secret_or_request_body(world, caplog):
    """With every logger at DEBUG, whatever a request does (a command, a refusal, a form, a
    forged request), no log line names the bot token or the signing secret; and Cadence's own
    lines never quote what a request carried (what was typed, its response_url, trigger_id or
    token)."""
    canary = f"canary-{next(_fresh)}-Zq9"
    with everything_at_debug(caplog):
        replies = logged_requests(world, canary)
    assert not leaks(caplog.text, [BOT_TOKEN, SIGNING_SECRET])
    ours = [r for r in caplog.records if r.name.startswith(OURS)]
    assert ours, "Cadence logged nothing at DEBUG: the check would prove nothing"
    text = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in ours)
    carried = [canary, "legacy-verification-token"]
    carried += [part for r in replies for part in (r.response_url, r.trigger_id) if part]
    assert not leaks(text, carried)


def test_a_forged_request_body_is_not_logged_at_info(world, caplog):
    with everything_at_debug(caplog):
        caplog.set_level(logging.INFO)
        for lg in (logging.getLogger(n) for n in list(logging.root.manager.loggerDict)):
            lg.setLevel(logging.INFO)
        body = urllib.parse.urlencode({"command": "/cadence", "text": "canary-forged-Jw3"})
        assert world.app.sim.raw_post(body, sign(body, "not-the-secret")).status == 401
    assert not leaks(caplog.text, ["canary-forged-Jw3"])


def test_no_log_line_at_debug_quotes_what_people_typed(world, caplog):
    canary = f"canary-{next(_fresh)}-Zq9"
    with everything_at_debug(caplog):
        replies = logged_requests(world, canary)
    urls = [r.response_url for r in replies if r.response_url]
    assert not leaks(caplog.text, [canary, *urls])


ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def served(tmp_path: Path, fake: FakeSlack, database_url: str) -> Iterator[tuple[str, list[str]]]:
    """`python -m bot` (serve and scheduler, one process) at LOG_LEVEL=DEBUG; its URL, and a
    list that holds everything it printed once it has stopped."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "CADENCE_", "DATABASE_URL", "PORT", "LOG_"))}  # fmt: skip
    env |= {
        "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.base_url,
        "DATABASE_URL": database_url, "PORT": str(port), "CADENCE_ADMINS": ADMIN,
        "LOG_LEVEL": "DEBUG", "CADENCE_TICK_SECONDS": "1",
    }  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url, output = f"http://127.0.0.1:{port}", []
    # Read as it comes: at DEBUG a full pipe would stop the process mid-request.
    reader = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
    reader.start()

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError("the server exited")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(up, 30, "the server to come up", interval=0.05)
        yield url, output
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=10)


@pytest.mark.slow  # starts the app's process
def test_a_served_process_logs_no_token_secret_or_request_body(tmp_path, fake_slack, sqlite_url):
    """`python -m bot` as deployed, at LOG_LEVEL=DEBUG: its whole output after commands, a
    form, a refusal and a forged request names no secret and quotes no request body."""
    canary = "canary-served-Qx7"
    with served(tmp_path, fake_slack, sqlite_url) as (url, output):
        sim = SlackSim(url, fake_slack, SIGNING_SECRET, team_id=TEAM)
        replies = [sim.command(f"status {canary}"), sim.command(f"pause {canary}")]
        opening = sim.command("engagement new", user=LEAD)
        view = fake_slack.wait_for("views.open")[-1].response["view"]
        form = {**GOOD_FORM, "name": f"Served {canary}", "timezone": "UTC"}
        replies += [opening, sim.submit_view(fake_slack.view(view["id"]), form)]
        body = urllib.parse.urlencode({"text": canary})
        replies.append(sim.raw_post(body, sign(body, "not-the-secret")))
        assert [r.status for r in replies] == [200, 200, 200, 200, 401]
        wait_until(
            lambda: any(
                "is set up" in str(c.args) for c in fake_slack.calls_to("chat.postMessage")
            ),
            10,
            "the creator's confirmation",
        )
    text = "\n".join(output)
    assert "DEBUG" in text, "nothing was logged at DEBUG: the check would prove nothing"
    assert not leaks(text, [BOT_TOKEN, SIGNING_SECRET, "legacy-verification-token"])
    # A line is "<date> <time> <LEVEL> <logger>: <message>" (bot/platform/logs.py).
    ours = "\n".join(ln for ln in text.splitlines() if ln.split(" ")[3:4] and
                     ln.split(" ")[3].startswith(OURS))  # fmt: skip
    assert ours, "no line of Cadence's own to check"
    assert not leaks(ours, [canary, *(r.response_url or "" for r in replies)])


# --- the matrix's rows (last: the allowed ones use things up) ---------------------------------


@pytest.mark.parametrize(("case", "role"), REFUSED, ids=case_id)
def test_a_request_someone_may_not_make_changes_nothing_and_reveals_nothing(world, case, role):
    quiet(world)
    before = snapshot(world)
    sent = case.send(world, role, False)
    # What it opened to prepare (the lead's forms, lists) changed nothing either.
    # A known bug's row waits less for the refusal that does not come (a fixed one is quick).
    seen = observe(world, sent, timeout=2.0 if case.name in KNOWN else 5.0)
    assert_refused(world, sent, seen, before)


@pytest.mark.parametrize(("case", "role"), ALLOWED, ids=case_id)
def test_a_request_someone_may_make_works(world, case, role):
    quiet(world)
    sent = case.send(world, role, True)
    if not case.answers:
        case.works(world, sent, Seen("none", ""))
        return
    seen = observe(world, sent)
    assert not (
        seen.kind in ("inline", "ephemeral", "dm", "errors")
        and any(w in seen.text for w in REFUSAL_WORDS[:-4])
    ), f"{role} was refused: {seen.text!r}"
    case.works(world, sent, seen)
