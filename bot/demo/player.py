"""Plays the story against the real app: Cadence's WSGI application served on 127.0.0.1, its
engine ticked at simulated moments, and the stand-in Slack recording what people would see.

Every person's step goes through the app's real entry point, as Slack would send it: a signed
slash command, a click on a button the app really posted, a form submission built from the
view the app really opened (`slack_sim.py`). Time moves only between steps, and only when
the app has finished what the last step started (`settle`), so every message is recorded at
the moment it would have appeared. Between steps the engine runs at each moment something
falls due (a prompt, a reminder, a deadline, the digest), as a ticker would.
"""

from __future__ import annotations

import secrets
import socketserver
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sqlalchemy import func
from sqlmodel import col, select

from bot.blocks.assurance import ASSURANCE_BUTTON
from bot.blocks.checkins import ANSWER_ACTION
from bot.blocks.concerns import CONCERN_BUTTON
from bot.blocks.deliverables import DELIVERABLE_BUTTON
from bot.blocks.health import HEALTH_ACTION
from bot.blocks.updates import BLOCKER_CONCERN_ACTION
from bot.demo import cast
from bot.demo.cast import Person
from bot.demo.forms import fill, shown_fields
from bot.demo.recorder import Action, RecordingSlack
from bot.demo.script import Step
from bot.demo.slack_sim import Reply, SlackSim
from bot.demo.slack_text import plain
from bot.demo.waiting import SERVE_POLL_SECONDS, wait_until
from bot.engine import tick as engine
from bot.entry.wsgi import CadenceWSGI
from bot.platform import clock
from bot.platform.config import load_settings
from bot.platform.services import Services
from storage import migrate
from storage.db import Database
from storage.models import Cadence, ScheduledJob, SlackRequest, Workspace

BOT_TOKEN = "xoxb-cadence-demo-not-a-real-token"
WAIT_S = 20.0  # for one effect of one step; the machine may be busy
QUIET_S = 0.02  # nothing new from the app for this long: it is done


class DemoError(Exception):
    """A step of the story did not go as written (the app refused it, or never answered)."""


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


@dataclass
class Player:
    """The app, its database and the stand-in Slack for one run (use it as a context manager),
    and the people's verbs the story calls (`script.People`)."""

    workdir: Path
    on_moment: Callable[[datetime], None] = lambda _moment: None
    fake: RecordingSlack = field(init=False)
    services: Services = field(init=False)
    sim: SlackSim = field(init=False)
    replies_to: dict[str, tuple[str, str]] = field(init=False, default_factory=dict)
    """response_url name → (the person, the channel) its answers were for."""

    def __post_init__(self) -> None:
        self.now = datetime.min.replace(tzinfo=UTC)
        self._last_tick: datetime | None = None
        self._stop: list[Callable[[], None]] = []

    # --- the running app ---------------------------------------------------------------------

    def __enter__(self) -> Player:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        self.fake = RecordingSlack(
            moment=lambda: self.now,
            team_id=cast.TEAM,
            team_name=cast.TEAM_NAME,
            team_domain=cast.TEAM_DOMAIN,
        ).start()
        self._stop.append(self.fake.stop)
        cast.populate(self.fake)
        database_url = f"sqlite:///{self.workdir / 'cadence.db'}"
        migrate.upgrade(database_url)
        signing_secret = secrets.token_hex(16)  # made up: only this run's requests carry it
        settings = load_settings(
            {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": signing_secret,
                "DATABASE_URL": database_url,
                "SLACK_API_URL": self.fake.base_url,
                "CADENCE_ADMINS": ",".join(p.user_id for p in cast.ADMINS),
                "LOG_LEVEL": "WARNING",
                # Slack's pace of a message a second per channel protects nothing here.
                "CADENCE_CHANNEL_PACE_SECONDS": "0",
            }
        )
        db = Database.from_url(database_url)
        self._stop.append(db.dispose)
        self.services = Services(settings=settings, db=db)
        application = CadenceWSGI(self.services)
        self._stop.append(application.close)
        server = make_server(
            "127.0.0.1",
            0,
            application,
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": SERVE_POLL_SECONDS}, daemon=True
        )
        thread.start()

        def stop_server() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        self._stop.append(stop_server)
        self.sim = SlackSim(
            f"http://127.0.0.1:{server.server_port}",
            self.fake,
            signing_secret,
            team_id=cast.TEAM,
            team_domain=cast.TEAM_DOMAIN,
            timeout=WAIT_S,
        )

    def close(self) -> None:
        while self._stop:
            self._stop.pop()()

    # --- time --------------------------------------------------------------------------------

    def play(self, steps: Sequence[Step], until: datetime) -> None:
        """Each step at its moment, the engine at every moment in between that something falls
        due, then on to `until`."""
        for step in steps:
            self.advance_to(step.at)
            with self._at(step.at):
                try:
                    step.do(self)
                except (DemoError, AssertionError, ValueError) as e:
                    raise DemoError(f"{step.what} ({step.at:%a %d %b %H:%M}): {e}") from e
        self.advance_to(until)

    def advance_to(self, moment: datetime) -> None:
        while (due := self._next_due()) is not None and due <= moment:
            self.tick(max(due, self.now))
        self.now = max(self.now, moment)
        self.on_moment(self.now)

    def tick(self, moment: datetime) -> None:
        """One engine pass at `moment` (what `python -m bot tick --now` does)."""
        with self._at(moment):
            engine.tick(self.services, moment)
        self._last_tick = moment
        self.on_moment(moment)

    @contextmanager
    def _at(self, moment: datetime) -> Iterator[datetime]:
        self.now = max(self.now, moment)
        with clock.fixed_at(moment) as now:
            yield now

    def _next_due(self) -> datetime | None:
        """The next moment the engine has something to do, after its last pass (what is
        still due at or before it, the next pass does too)."""
        after = self._last_tick
        with self.services.db.read_session() as session:
            found: list[datetime] = []
            for column, where in (
                (ScheduledJob.due_at, col(ScheduledJob.status) == "pending"),
                (Cadence.next_run_at, col(Cadence.status) == "active"),
                (Workspace.digest_next_run_at, col(Workspace.digest_next_run_at).is_not(None)),
            ):
                query = select(column).where(where).where(col(column).is_not(None))
                if after is not None:
                    query = query.where(col(column) > after)
                first = session.exec(query.order_by(column).limit(1)).first()
                if first is not None:
                    found.append(first)
        return min(found) if found else None

    # --- waiting for the app -----------------------------------------------------------------

    def _receipts(self) -> int:
        """Requests the app has acted on at this moment (each change records its request)."""
        with self.services.db.read_session() as session:
            return session.exec(
                select(func.count()).select_from(SlackRequest).where(SlackRequest.at >= self.now)
            ).one()

    def _busy(self) -> bool:
        """Messages due now not yet sent, or being sent."""
        with self.services.db.read_session() as session:
            return bool(
                session.exec(
                    select(func.count())
                    .select_from(ScheduledJob)
                    .where(
                        (
                            (col(ScheduledJob.status) == "pending")
                            & (col(ScheduledJob.due_at) <= self.now)
                        )
                        | (col(ScheduledJob.status) == "claimed")
                    )
                ).one()
            )

    def settle(self, receipts_before: int | None = None) -> None:
        """Wait until the app has done what the last request started: the change saved (when
        it makes one), every message it caused sent, and Slack quiet. What the app leaves for
        the engine's next pass is sent by a pass now, as the ticker would soon after."""
        if receipts_before is not None:
            wait_until(
                lambda: self._receipts() > receipts_before, WAIT_S, "the app to save the change"
            )
        for _attempt in range(3):
            try:
                wait_until(lambda: not self._busy(), 2.0, "the app's messages to go out")
                break
            except AssertionError:
                self.tick(self.now)

        def quiet() -> bool:
            before = self.fake.activity()
            time.sleep(QUIET_S)
            return before == self.fake.activity()

        wait_until(quiet, WAIT_S, "Slack to be quiet")

    # --- what a person does, as Slack sends it ---------------------------------------------

    def _remember_reply(self, reply: Reply, who: Person, where: str) -> None:
        if reply.response_url:
            name = urllib.parse.unquote(reply.response_url.rsplit("/", 1)[-1])
            self.replies_to[name] = (who.user_id, where)

    def _answered(self, reply: Reply, who: Person, where: str) -> None:
        """An answer Slack shows from the HTTP reply itself (an ack with text)."""
        if reply.status != 200:
            raise DemoError(f"the app answered HTTP {reply.status}: {reply.body[:200]}")
        answer = reply.json or {}
        if answer.get("text") or answer.get("blocks"):
            self.fake.stamp(action=Action(who.user_id, where, "reply", "", answer=answer))

    def command(self, who: Person, where: str, text: str) -> Reply:
        self.fake.stamp(action=Action(who.user_id, where, "command", f"/cadence {text}"))
        reply = self.sim.command(text, user=who.user_id, channel=where)
        self._remember_reply(reply, who, where)
        self._answered(reply, who, where)
        return reply

    def click(
        self, who: Person, where: str, message: dict[str, Any], action_id: str, **kw: Any
    ) -> Reply:
        label = _button_label(message, action_id, kw.get("block_id"))
        self.fake.stamp(action=Action(who.user_id, where, "click", label))
        reply = self.sim.click(message, action_id, user=who.user_id, channel=where, **kw)
        self._remember_reply(reply, who, where)
        self._answered(reply, who, where)
        return reply

    def _opened(self, before: int, *, filled_in: bool = False) -> dict[str, Any]:
        """The modal the last request opened (after the app filled it in, when it does)."""
        call = self.fake.wait_for("views.open", count=before + 1, timeout=WAIT_S)[before]
        if not call.ok:
            raise DemoError(f"the form did not open: {call.response.get('error')}")
        view_id = call.response["view"]["id"]
        if filled_in:
            wait_until(
                lambda: any(
                    c.args.get("view_id") == view_id for c in self.fake.calls_to("views.update")
                ),
                WAIT_S,
                "the form to be filled in",
            )
        return self.fake.view(view_id)

    def open_by_command(self, who: Person, where: str, text: str, **kw: Any) -> dict[str, Any]:
        before = len(self.fake.calls_to("views.open"))
        self.command(who, where, text)
        return self._opened(before, **kw)

    def open_by_click(
        self, who: Person, where: str, message: dict[str, Any], action_id: str
    ) -> dict[str, Any]:
        before = len(self.fake.calls_to("views.open"))
        self.click(who, where, message, action_id)
        return self._opened(before)

    def submit(
        self, who: Person, where: str, view: dict[str, Any], form: Mapping[str, Any]
    ) -> Reply:
        """Fill in the form as the person would and send it; wait for what it causes."""
        values = fill(view, form)
        title = str((view.get("title") or {}).get("text") or "Form")
        shown = shown_fields(view, values, self.names_of_people(), self.names_of_channels())
        self.fake.stamp(action=Action(who.user_id, where, "submit", title, shown))
        receipts = self._receipts()
        reply = self.sim.submit_view(view, values, user=who.user_id)
        if reply.status != 200 or (reply.json or {}).get("errors"):
            raise DemoError(f"the {title} form was refused: {reply.body[:300]}")
        self.settle(receipts)
        return reply

    def names_of_people(self) -> dict[str, str]:
        return {p.user_id: p.name for p in cast.PEOPLE}

    def names_of_channels(self) -> dict[str, str]:
        return {c.channel_id: c.name for c in cast.CHANNELS}

    # --- the verbs of the story (script.People) ----------------------------------------------

    def create_engagement(self, who: Person, channel: str, form: Mapping[str, Any]) -> None:
        view = self.open_by_command(who, channel, "engagement new", filled_in=True)
        self.submit(who, channel, view, form)

    def schedule(self, who: Person, channel: str, handle: str, form: Mapping[str, Any]) -> None:
        view = self.open_by_command(who, channel, f"schedule {handle}")
        rule = form.get("rule_kind") or "weekly"
        if rule != "weekly":  # choosing another kind of rule redraws the form with its fields
            self.choose(who, view, "rule_kind", rule)
            wanted = {"monthly_day": "rule_month_day", "cron": "rule_cron"}.get(rule, "rule_kind")
            wait_until(
                lambda: any(
                    b.get("block_id") == wanted for b in self.fake.view(view["id"])["blocks"]
                ),
                WAIT_S,
                "the form with the rule's fields",
            )
            view = self.fake.view(view["id"])
        self.submit(who, channel, view, form)

    def choose(self, who: Person, view: dict[str, Any], action_id: str, value: str) -> None:
        """Pick an option of a select in an open form (the app may redraw the form); the
        transcript shows the form as sent, not each choice made on the way."""
        reply = self.sim.click(view, action_id, value=value, user=who.user_id)
        if reply.status != 200:
            raise DemoError(f"the app answered HTTP {reply.status}: {reply.body[:200]}")

    def schedule_digest(self, who: Person, channel: str, form: Mapping[str, Any]) -> None:
        view = self.open_by_command(who, channel, "digest schedule")
        self.submit(who, channel, view, form)

    def answer_checkin(self, who: Person, engagement: str, form: Mapping[str, Any]) -> None:
        dm = self.fake.dm_channel_id(who.user_id)
        prompt = self._latest(dm, ANSWER_ACTION, engagement)
        view = self.open_by_click(who, dm, prompt, ANSWER_ACTION)
        self.submit(who, dm, view, form)

    def raise_concern(
        self, who: Person, channel: str, handle: str, title: str, form: Mapping[str, Any]
    ) -> None:
        view = self.open_by_command(who, channel, f"concern {handle} {title}")
        self.submit(who, channel, view, form)

    def raise_blockers_as_concern(
        self, who: Person, channel: str, engagement: str, form: Mapping[str, Any]
    ) -> None:
        summary = self._latest(channel, BLOCKER_CONCERN_ACTION, engagement)
        view = self.open_by_click(who, channel, summary, BLOCKER_CONCERN_ACTION)
        self.submit(who, channel, view, form)

    def acknowledge_concern(self, who: Person, channel: str, title: str) -> None:
        action = f"{CONCERN_BUTTON}:acknowledge"
        card = self._latest(channel, action, title)
        receipts = self._receipts()
        self.click(who, channel, card, action)
        self.settle(receipts)

    def resolve_concern(self, who: Person, channel: str, title: str, note: str) -> None:
        action = f"{CONCERN_BUTTON}:resolve"
        card = self._latest(channel, action, title)
        view = self.open_by_click(who, channel, card, action)
        self.submit(who, channel, view, {"note": note})

    def open_health_card(self, who: Person, channel: str, engagement: str) -> None:
        digest = self._latest(channel, HEALTH_ACTION, engagement)
        block = next(
            b
            for b in digest.get("blocks") or []
            if (b.get("accessory") or {}).get("action_id") == HEALTH_ACTION
            and engagement in str((b.get("text") or {}).get("text"))
        )
        before = len(self.fake.responses)
        reply = self.click(who, channel, digest, HEALTH_ACTION, block_id=block["block_id"])
        if not (reply.json or {}).get("blocks"):
            wait_until(lambda: len(self.fake.responses) > before, WAIT_S, "the health card")
        self.settle()

    def export(self, who: Person, channel: str, handle: str) -> None:
        receipts = self._receipts()
        self.command(who, channel, f"export {handle}")
        self.settle(receipts)

    def add_deliverable(
        self, who: Person, channel: str, handle: str, title: str, form: Mapping[str, Any]
    ) -> None:
        view = self.open_by_command(who, channel, f"deliverable {handle} {title}")
        self.submit(who, channel, view, form)

    def deliverable_step(
        self,
        who: Person,
        channel: str,
        title: str,
        step: str,
        form: Mapping[str, Any] | None = None,
    ) -> None:
        """A click on the deliverable card's button; a step with a form fills it in."""
        action = f"{DELIVERABLE_BUTTON}:{step}"
        card = self._latest(channel, action, title)
        if form is None:
            receipts = self._receipts()
            self.click(who, channel, card, action)
            self.settle(receipts)
            return
        view = self.open_by_click(who, channel, card, action)
        self.submit(who, channel, view, form)

    def add_evidence(self, who: Person, channel: str, handle: str, form: Mapping[str, Any]) -> None:
        view = self.open_by_command(who, channel, f"assurance {handle} add")
        self.submit(who, channel, view, form)

    def evidence_step(
        self, who: Person, channel: str, title: str, step: str, form: Mapping[str, Any]
    ) -> None:
        """A click on the evidence card's button (provide, accept, reject, waive) and its form."""
        action = f"{ASSURANCE_BUTTON}:{step}"
        card = self._latest(channel, action, title)
        view = self.open_by_click(who, channel, card, action)
        self.submit(who, channel, view, form)

    def _latest(self, channel: str, action_id: str, words: str) -> dict[str, Any]:
        """The newest message in `channel` with the button `action_id` that mentions `words`."""
        for message in reversed(self.fake.messages(channel)):
            if _has_action(message, action_id) and words in plain(message).replace("&amp;", "&"):
                return {**message, "channel": channel}
        raise DemoError(f"no message with {action_id!r} about {words!r} in {channel}")


def _elements(message: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for block in message.get("blocks") or []:
        if isinstance(block.get("accessory"), dict):
            yield block, block["accessory"]
        for element in block.get("elements") or []:
            if isinstance(element, dict):
                yield block, element


def _has_action(message: Mapping[str, Any], action_id: str) -> bool:
    return any(e.get("action_id") == action_id for _, e in _elements(message))


def _button_label(message: Mapping[str, Any], action_id: str, block_id: str | None) -> str:
    for block, element in _elements(message):
        if element.get("action_id") == action_id and block_id in (None, block.get("block_id")):
            return str((element.get("text") or {}).get("text") or action_id)
    return action_id
