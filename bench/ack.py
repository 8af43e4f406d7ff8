"""Ack latency benchmark (issue 10, item 3): how long Slack waits for Cadence's HTTP answer,
beside a bare Bolt app that only acknowledges, sequentially and with 50 concurrent clients.

    python bench/ack.py [--database sqlite|postgresql|both] [--quick] [--smoke]
                        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

The web process runs exactly as the Procfile's `web:` line says (read from the Procfile: gunicorn,
gthread, its threads, `bot.entry.wsgi:create_app()`), bound to 127.0.0.1 on a free port, with
SLACK_API_URL pointing at the fake Slack of `bot/demo/fake_slack/` (run in a child process, so
its CPU is not Cadence's) and DATABASE_URL at a scratch database migrated with Alembic and seeded
in bulk (in a child process) with 10 and 1,000 engagements: their people, three cadences each,
eight weeks of check-ins and updates, this week's check-in open, concerns. Beside it, under the
same gunicorn command line, `bench/bare_bolt.py`: a Bolt app that only acknowledges.

Request kinds, signed as Slack signs them, shaped as Slack sends them (`bot/demo/slack_sim.py`):
`/cadence help` (no database), `/cadence engagement list` (reads every engagement after the ack),
`/cadence skip <cadence>` (writes after the ack), `/cadence away <from> <to>` (writes before the
ack), a click on a check-in prompt's answer button (block_actions; reads, then opens the update
form with `views.open`) and a submission of the engagement edit form as the app rendered it
(view_submission; validates and writes before the ack). What is timed is the HTTP round trip of
one request: the ack. Clients are threads in this process, each with its own keep-alive
`http.client` connection; bodies are built before a phase starts and signed just before each
request is sent, outside the timer.

Three loads, each for Cadence and then the bare app: one client (kind by kind, each batch
followed by its work after the ack, so the server's CPU per request of each kind is printed);
50 clients back to back (each sends its next request as soon as the last is answered: the load
the issue measured, which saturates the server); 50 clients paced at one request per second
each (Poisson), the same offered load for both apps. Server CPU is read from /proc for gunicorn's
master and worker.

Targets: p99 under 1 s at 50 concurrent clients with 1,000 engagements; p50 within 1.5x the bare
app's for every kind. Also counted: answers that are not 2xx, apologies and Web API errors seen
by the fake Slack after the acks (work after the ack that failed), errors in the web log.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT)]

from common import FakeProcess, Rows, Scratch, record_result, stop_recording  # noqa: E402  (bench/ is the script's folder)
from sqlalchemy import insert, text  # noqa: E402

from bot.blocks.checkins import prompt  # noqa: E402
from bot.demo.slack_sim import (  # noqa: E402
    VERIFICATION_TOKEN,
    build_block_action,
    build_view_state,
    build_view_submission,
    find_element,
    sign,
)
from bot.domain.cadences import compute_next  # noqa: E402
from bot.domain.concerns import CATEGORIES  # noqa: E402
from bot.domain.engagements import (  # noqa: E402
    DEFAULT_RESOLVE_HOURS,
    DEFAULT_SLA_HOURS,
    SEVERITIES,
    slugify,
)
from bot.domain.updates.evidence import kpi_outcome  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import (  # noqa: E402
    Cadence,
    CheckIn,
    CheckInRecipient,
    Concern,
    ConcernSla,
    Engagement,
    EngagementMember,
    KpiDefinition,
    KpiValue,
    Person,
    StatusUpdate,
    UpdateRevision,
    Workspace,
)

TEAM = "T0ACKBENCH"
SIGNING_SECRET = "ack-bench-signing-secret-5f3a9c0e1b"
BOT_TOKEN = "xoxb-4242-4242-ackbench"
APP_ID = "A0CADENCE"
ADMIN = "U0ADMIN"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TZ = "Europe/Berlin"
WEEK = timedelta(days=7)
HOUR = timedelta(hours=1)
HISTORY_WEEKS = 8
MAX_LEADS = 50  # each lead leads size / 50 engagements (20 at 1,000)
FORMS = 40  # engagement edit forms opened (once, at setup) for the submissions
TIMEOUT_S = 30.0  # a request unanswered this long counts as failed
APOLOGY = "Sorry, something went wrong"  # an unexpected error, after the ack
DATABASE_AWAY = "did not answer in time"  # a request that gave up waiting for the database
KPI_TEMPLATES = (("Uptime", "%", 99.9, 99.5, True, 0.4), ("Response time", "h", 4.0, 6.0, False, 2.5))  # fmt: skip
KINDS = ("help", "list", "skip", "away", "button", "submit")
LABELS = {
    "help": "/cadence help",
    "list": "/cadence engagement list",
    "skip": "/cadence skip <cadence>",
    "away": "/cadence away <from> <to>",
    "button": "answer button (block_actions)",
    "submit": "engagement form (view_submission)",
}


@dataclass(frozen=True)
class Sizes:
    engagements: tuple[int, ...]
    sequential: int  # requests per kind, one at a time
    concurrent: int  # requests per kind, from `clients` clients (back to back, then paced)
    clients: int
    rate: float = 1.0  # requests per second per client when paced
    settle: bool = True  # wait for the work after the acks between phases (CPU per kind)


FULL = Sizes((10, 1_000), 30, 150, 50)
QUICK = Sizes((10, 1_000), 10, 50, 50)
SMOKE = Sizes((10,), 3, 3, 6, 5.0, settle=False)


@dataclass(frozen=True)
class Mode:
    """How requests are sent: by `clients` clients, each sending its next request as soon as
    it is answered (closed loop, the load the issue measured), or paced: each at `rate`
    requests per second on average (Poisson arrivals), sent on time whatever came before."""

    clients: int
    paced: float | None = None

    @property
    def label(self) -> str:
        return f"{self.clients}" if self.paced is None else f"{self.clients} @{self.paced:g}/s"


def modes(sizes: Sizes) -> tuple[Mode, ...]:
    return (Mode(1), Mode(sizes.clients), Mode(sizes.clients, sizes.rate))


# --- seeding (in a child process) ------------------------------------------------------------------
# Rows are inserted directly with Core bulk inserts, shaped as the domain writes them (see
# bench/digest.py, which seeds a year of history the same way): driving them through Slack for
# 1,000 engagements would take far longer than the measure.


def lead_of(i: int, size: int) -> str:
    return f"U0L{i % min(MAX_LEADS, size):03d}"


def _cadence_row(kind: str, rule_kind: str, rule: str, audience: str, eid: int, lead: str,
                 now: datetime) -> dict[str, Any]:  # fmt: skip
    row = dict(
        engagement_id=eid, kind=kind, rule=rule, rule_kind=rule_kind, local_time="09:00",
        timezone=TZ, start_date=(now - HISTORY_WEEKS * WEEK).date() if rule_kind == "every_n_weeks"
        else None, window_hours=48, reminder_hours=24, escalation_hours=24,
        escalation_user_ids=[], audience=audience, audience_user_ids=[], delivery="dm",
        recipient_local_time=False, status="active", created_by=lead,
        created_at=now - (HISTORY_WEEKS + 1) * WEEK, updated_at=now - (HISTORY_WEEKS + 1) * WEEK,
    )  # fmt: skip
    occurrence = compute_next(Cadence(team_id=TEAM, **row), now)
    assert occurrence is not None
    return {**row, "next_run_at": occurrence.at, "next_slot": occurrence.key}


def _engagement(rows: Rows, rng: random.Random, i: int, size: int, now: datetime) -> dict:
    """One engagement: a lead (one of 50), two vendor contacts, a stakeholder, two KPIs, SLAs,
    three cadences (weekly update, four-weekly survey, monthly risk review), eight weeks of
    weekly check-ins with updates, this week's check-in open and unanswered, two concerns."""
    created = now - (HISTORY_WEEKS + 1) * WEEK
    lead, vendors, stakeholder = lead_of(i, size), [f"U0V{i:05d}A", f"U0V{i:05d}B"], f"U0S{i:05d}"
    vendor = f"Vendor {i % 97}"
    name = f"Engagement {i:04d} with {vendor}"
    channel = f"C0E{i:07d}"
    eid = rows.add(
        Engagement, name=name, handle=slugify(name), vendor=vendor, channel_id=channel,
        digest_channel_id=None, escalation_user_id=None, timezone=TZ, holidays=[],
        concern_clock_pauses=False, summaries_in_channel=False, created_by=lead,
        created_at=created, updated_at=created, archived_at=None,
    )  # fmt: skip
    for user, role in [(lead, "lead"), *((v, "vendor") for v in vendors), (stakeholder, "stakeholder")]:  # fmt: skip
        rows.add(EngagementMember, engagement_id=eid, user_id=user, role=role)
    kpis = []
    for position, (kname, unit, target, tolerance, higher, spread) in enumerate(KPI_TEMPLATES):
        kpi_id = rows.add(
            KpiDefinition, engagement_id=eid, name=kname, unit=unit, target=target,
            higher_is_better=higher, tolerance=tolerance, position=position, retired_at=None,
        )  # fmt: skip
        kpis.append((kpi_id, target, tolerance, higher, spread))
    for severity in SEVERITIES:
        rows.add(ConcernSla, engagement_id=eid, severity=severity,
                 response_hours=DEFAULT_SLA_HOURS[severity],
                 resolve_hours=DEFAULT_RESOLVE_HOURS[severity])  # fmt: skip
    weekly = rows.add(Cadence, **_cadence_row("status_update", "weekly", "FREQ=WEEKLY;BYDAY=MO",
                                              "vendor", eid, lead, now))  # fmt: skip
    survey = rows.add(Cadence, **_cadence_row("feedback_survey", "every_n_weeks",
                                              "FREQ=WEEKLY;INTERVAL=4;BYDAY=WE", "stakeholders",
                                              eid, lead, now))  # fmt: skip
    review = rows.add(Cadence, **_cadence_row("risk_review", "monthly_day",
                                              "FREQ=MONTHLY;BYMONTHDAY=1", "vendor", eid, lead,
                                              now))  # fmt: skip
    open_checkin = 0
    for k in range(HISTORY_WEEKS, -1, -1):  # oldest first; k = 0 is this week's, still open
        at = now - k * WEEK - 2 * HOUR
        closes = at + 48 * HOUR
        checkin = rows.ids.get(CheckIn, 0) + 1
        answers = []
        for user in vendors:
            answered = None
            if k > 0 and rng.random() < 0.8:
                answered = at + timedelta(minutes=rng.randrange(30, 60 * 60))
                answers.append((answered, user, answered > closes))
            rows.add(CheckInRecipient, checkin_id=checkin, user_id=user,
                     status="answered" if answered else "pending", delivered_via="dm",
                     answered_at=answered)  # fmt: skip
        rows.add(
            CheckIn, cadence_id=weekly, engagement_id=eid, occurrence_key=f"w{k}",
            scheduled_for=at, window_closes_at=closes,
            status="open" if k == 0 else ("closed" if len(answers) == 2 else "overdue"),
            created_at=at, thread_ts=None,
        )  # fmt: skip
        if k == 0:
            open_checkin = checkin
        if not answers:
            continue
        answered, author, late = min(answers)
        rag = rng.choices(("green", "amber", "red"), (70, 22, 8))[0]
        update = rows.add(
            StatusUpdate, engagement_id=eid, checkin_id=checkin, author_user_id=author, rag=rag,
            summary=f"Week {HISTORY_WEEKS - k}: {rag}.", accomplishments="", next_steps="",
            blockers="", reason="" if rag == "green" else "Waiting on access.", blocker_lines=[],
            confidence=rng.randrange(1, 6), late=late, revision=1, channel_id=channel,
            message_ts=None, submitted_at=answered, updated_at=answered,
        )  # fmt: skip
        content = []
        for kpi_id, target, tolerance, higher, spread in kpis:
            value = round(target + rng.gauss(0, spread) * (0.6 if higher else 1), 2)
            outcome = kpi_outcome(value, target, higher, tolerance).value
            content.append({"kpi_id": kpi_id, "name": "", "unit": "", "value": value,
                            "target": target, "tolerance": tolerance, "higher_is_better": higher,
                            "met_target": outcome == "met", "outcome": outcome})  # fmt: skip
            rows.add(KpiValue, update_id=update, kpi_id=kpi_id, value=value,
                     met_target=outcome == "met")  # fmt: skip
        rows.add(UpdateRevision, update_id=update, revision=1, editor_user_id=author,
                 content={"rag": rag, "reason": "", "summary": f"Week {HISTORY_WEEKS - k}.",
                          "accomplishments": "", "next_steps": "", "blockers": "",
                          "blocker_lines": [], "confidence": 3, "kpis": content},
                 created_at=answered)  # fmt: skip
    for n, status in enumerate(("open", "resolved")):
        severity = SEVERITIES[(i + n) % len(SEVERITIES)]
        raised = now - timedelta(hours=rng.randrange(4, HISTORY_WEEKS * 7 * 24))
        ack_due = raised + DEFAULT_SLA_HOURS[severity] * HOUR
        resolve_due = raised + DEFAULT_RESOLVE_HOURS[severity] * HOUR
        resolved = min(raised + 24 * HOUR, now - HOUR) if status == "resolved" else None
        rows.add(
            Concern, engagement_id=eid, title=f"{severity.title()} concern {n} of engagement {i}",
            description="", severity=severity, category=CATEGORIES[n % len(CATEGORIES)],
            owner_user_id=vendors[0], raised_by=lead, raised_side="client", source="command",
            source_ref=None, quote="", due_on=None, status=status, round=0, raised_at=raised,
            acknowledged_at=resolved, resolved_at=resolved, resolution_note="",
            sla_due_at=None if resolved else ack_due, acknowledge_due_at=ack_due,
            resolve_due_at=resolve_due, channel_id=None, message_ts=None,
        )  # fmt: skip
    return {"id": eid, "name": name, "handle": slugify(name), "lead": lead, "vendors": vendors,
            "stakeholder": stakeholder, "channel": channel, "checkin": open_checkin,
            "cadences": [weekly, survey, review]}  # fmt: skip


INSERT_ORDER = (
    Engagement, EngagementMember, KpiDefinition, ConcernSla, Cadence, CheckIn, CheckInRecipient,
    StatusUpdate, UpdateRevision, KpiValue, Concern, Person,
)  # fmt: skip


def seed(url: str, size: int) -> dict[str, Any]:
    """`size` engagements of one workspace; what the requests need to know about them."""
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(size)
    rows = Rows(TEAM)
    engagements = [_engagement(rows, rng, i, size, now) for i in range(size)]
    users: dict[str, bool] = {ADMIN: True}  # user -> has opened Home
    for e in engagements:
        users[e["lead"]] = True
        users[e["vendors"][0]] = True
        users.setdefault(e["vendors"][1], False)
        users.setdefault(e["stakeholder"], False)
    for user, opened in users.items():
        rows.add(Person, user_id=user, tz=TZ, status_emoji="", external=False, refreshed_at=now,
                 home_opened_at=now - WEEK if opened else None)  # fmt: skip
    db = Database.from_url(url)
    with db.engine.begin() as conn:
        conn.execute(insert(Workspace.__table__), [{
            "team_id": TEAM, "name": "Ack bench", "digest_channel_id": None,
            "digest_rule": "FREQ=WEEKLY;BYDAY=MO", "digest_local_time": "09:00",
            "digest_timezone": TZ, "digest_next_run_at": now + WEEK, "digest_last_run_at": None,
            "created_at": now - 60 * WEEK,
        }])  # fmt: skip
        for model in INSERT_ORDER:
            table_rows = rows.tables.get(model, [])
            for start in range(0, len(table_rows), 10_000):
                conn.execute(insert(model.__table__), table_rows[start : start + 10_000])
        if db.engine.dialect.name == "postgresql":  # ids given explicitly: move the sequences on
            for model in INSERT_ORDER:
                name = model.__table__.name
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"(SELECT max(id) FROM {name}))"))  # fmt: skip
    with db.engine.connect() as conn:  # what autovacuum or `PRAGMA optimize` would have done
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    db.dispose()
    rows_inserted = sum(len(r) for r in rows.tables.values()) + 1
    return {"engagements": engagements, "users": sorted(users), "rows": rows_inserted}


def seed_apart(url: str, size: int) -> dict[str, Any]:
    """Seed in a child process, so its rows never sit in this process's heap."""
    done = subprocess.run(
        [sys.executable, __file__, "--seed", url, str(size)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


# --- the servers -----------------------------------------------------------------------------------


def procfile_web(port: int, app: str | None = None, pythonpath: Path | None = None) -> list[str]:
    """The Procfile's `web:` command line, bound to 127.0.0.1:`port`; with `app`, serving that
    WSGI factory instead of Cadence's (and `pythonpath` to import it from)."""
    line = next(
        raw.split(":", 1)[1]
        for raw in (ROOT / "Procfile").read_text().splitlines()
        if raw.startswith("web:")
    )
    args = shlex.split(line)
    assert args[0] == "gunicorn", args
    args = [a.replace("0.0.0.0:$PORT", f"127.0.0.1:{port}") for a in args[1:]]
    if f"127.0.0.1:{port}" not in args:
        raise RuntimeError(f"the Procfile's web line no longer binds 0.0.0.0:$PORT: {line}")
    if app is not None:
        args[-1] = app
    if pythonpath is not None:
        args[:0] = ["--pythonpath", str(pythonpath)]
    # gunicorn 27 opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl): two
    # servers at once would take it from each other. Serving is the same without it.
    args[:0] = ["--no-control-socket"]
    return [sys.executable, "-m", "gunicorn", *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One gunicorn (master and worker) in a process group of its own; its log in a file."""

    def __init__(self, label: str, env: dict[str, str], log_dir: Path, *, bare: bool) -> None:
        self.label = label
        self.port = free_port()
        self.log_path = log_dir / f"{label}.log"
        if bare:
            command = procfile_web(self.port, "bare_bolt:create_app()", BENCH)
        else:
            command = procfile_web(self.port)
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.command = command

    def cpu_seconds(self) -> float:
        """User and system CPU of the master and its workers so far (from /proc)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in [self.process.pid, *_children(self.process.pid)]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        return total

    def log_lines(self, *marks: str) -> list[str]:
        """The lines of its log holding any of `marks`."""
        text_ = self.log_path.read_text(errors="replace")
        return [line for line in text_.splitlines() if any(m in line for m in marks)]

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(p) for p in found]


def server_env(database_url: str, fake: FakeProcess) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "CADENCE_", "DATABASE_", "WEB_CONCURRENCY", "PORT"))}  # fmt: skip
    env.update({
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url, "DATABASE_URL": database_url, "CADENCE_ADMINS": ADMIN,
        "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
    })  # fmt: skip
    return env


# --- requests --------------------------------------------------------------------------------------


class Requests:
    """Bodies of each kind of request, as Slack builds them, for one seeded workspace."""

    def __init__(self, facts: dict[str, Any], fake: FakeProcess, dms: dict[str, str]) -> None:
        self.engagements = facts["engagements"]
        self.fake = fake
        self.dms = dms
        self.forms: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (view, engagement)
        self.views = itertools.count(1)
        self.today = datetime.now(UTC).date()

    def command(self, text_: str, user: str, channel: str, n: int, trigger: str | None = None) -> str:  # fmt: skip
        return urllib.parse.urlencode({
            "token": VERIFICATION_TOKEN, "team_id": TEAM, "team_domain": "ackbench",
            "channel_id": channel, "channel_name": channel.lower(), "user_id": user,
            "user_name": user.lower(), "command": "/cadence", "text": text_, "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"{self.fake.root_url}/response/cmd-{n}-{uuid.uuid4().hex[:6]}",
            "trigger_id": trigger or f"{n}{random.randrange(10**9):09d}.{uuid.uuid4().hex}",
        })  # fmt: skip

    def open_forms(self, url: str, client: Any = None) -> None:
        """Open the engagement edit form of up to FORMS engagements through the app itself (a
        signed `/cadence engagement edit` each) and keep the views Slack holds. `client` (with
        `post` and `close`, as Client's) sends them instead of an HTTP client of `url`."""
        chosen = self.engagements[:FORMS]
        triggers = self.fake.ask("triggers", n=len(chosen))["ids"]
        client = client or Client(url)
        for n, (e, trigger) in enumerate(zip(chosen, triggers, strict=True)):
            body = self.command(
                f"engagement edit {e['handle']}", e["lead"], e["channel"], n, trigger
            )
            status, _, _ = client.post(body, "application/x-www-form-urlencoded")
            if status != 200:
                raise RuntimeError(f"/cadence engagement edit answered {status}")
        client.close()
        by_id = {e["id"]: e for e in chosen}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            views = self.fake.ask("views")["views"]
            forms = []
            for view in views:
                meta = json.loads(view.get("private_metadata") or "{}")
                if meta.get("mode") == "edit" and meta.get("engagement_id") in by_id:
                    forms.append((view, by_id[meta["engagement_id"]]))
            if len(forms) >= len(chosen):
                self.forms = forms
                return
            time.sleep(0.2)
        raise RuntimeError(f"only {len(forms)} of {len(chosen)} edit forms opened")

    def plan(
        self, per_kind: int, rng: random.Random, kinds: tuple[str, ...] = KINDS
    ) -> list[tuple[str, str]]:
        """`per_kind` requests of each of `kinds`, shuffled: (kind, body)."""
        triggers = iter(self.fake.ask("triggers", n=per_kind)["ids"] if "button" in kinds else ())
        out = []
        for kind in kinds:
            for n in range(per_kind):
                out.append((kind, self.body(kind, n, rng, triggers)))
        rng.shuffle(out)
        return out

    def body(self, kind: str, n: int, rng: random.Random, triggers) -> str:
        es = self.engagements
        e = es[rng.randrange(len(es))]
        if kind == "help":
            return self.command("help", e["lead"], e["channel"], n)
        if kind == "list":
            return self.command("engagement list", e["lead"], e["channel"], n)
        if kind == "skip":  # round robin over every cadence: two at once rarely share one
            e = es[n % len(es)]
            cadence = e["cadences"][(n // len(es)) % len(e["cadences"])]
            return self.command(f"skip {cadence}", e["lead"], e["channel"], n)
        if kind == "away":
            start = self.today + timedelta(days=30 + n % 7)
            dates = f"{start.isoformat()} {(start + timedelta(days=4)).isoformat()}"
            return self.command(f"away {dates}", e["vendors"][0], e["channel"], n)
        if kind == "button":
            return self.click(e, next(triggers), n)
        if kind == "submit":
            view, e = self.forms[n % len(self.forms)]
            return self.submission(view, e, n)
        raise ValueError(kind)

    def click(self, e: dict[str, Any], trigger: str, n: int) -> str:
        """A vendor clicks the answer button of this week's prompt in their DM."""
        user = e["vendors"][0]
        dm = self.dms[user]
        message = prompt(checkin_id=e["checkin"], kind="status_update", engagement_name=e["name"],
                         closes_at=datetime.now(UTC) + 46 * HOUR, tz=TZ)  # fmt: skip
        message = {"type": "message", "user": "U0CADBOT", "bot_id": "B0CADBOT",
                   "ts": f"{1700000000 + n}.000100", **message}  # fmt: skip
        block, element = find_element(message, "checkin_answer")
        payload = {
            "type": "block_actions", "user": _user(user), "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN, "team": {"id": TEAM, "domain": "ackbench"},
            "enterprise": None, "is_enterprise_install": False,
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": dm,
                          "is_ephemeral": False},
            "trigger_id": trigger, "channel": {"id": dm, "name": "directmessage"},
            "message": message, "state": build_view_state(message, check_required=False),
            "response_url": f"{self.fake.root_url}/response/action-{n}-{uuid.uuid4().hex[:6]}",
            "actions": [build_block_action(block, element)],
        }  # fmt: skip
        return urllib.parse.urlencode({"payload": json.dumps(payload)})

    def submission(self, view: dict[str, Any], e: dict[str, Any], n: int) -> str:
        """The lead saves the engagement form with the vendor's name changed (each submission
        is a modal of its own: Slack names a submission by its view id)."""
        view = {**view, "id": f"V0ACK{next(self.views):07d}", "hash": uuid.uuid4().hex[:20]}
        vendor = f"Vendor {e['id'] % 97}" + ("" if n % 2 else " Ltd")
        payload = build_view_submission(view, {"vendor": vendor}, user=e["lead"], team_id=TEAM,
                                        team_domain="ackbench", api_app_id=APP_ID)  # fmt: skip
        return urllib.parse.urlencode({"payload": json.dumps(payload)})


def _user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM}


# --- the client ------------------------------------------------------------------------------------


class Client:
    """One client's keep-alive HTTP connection to one server."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn: http.client.HTTPConnection | None = None
        self.used = False

    def post(self, body: str, content_type: str) -> tuple[int, float, bytes]:
        """(status, seconds, body) of one signed POST; status 0 for a timeout or a dropped
        connection. A reused connection that the server had closed is opened again and the
        request sent again, timed afresh (what any keep-alive client does)."""
        data = body.encode()
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_S)
                self.used = False
            reused = self.used
            headers = sign(body, SIGNING_SECRET, content_type=content_type)
            start = time.perf_counter()
            try:
                self.conn.request("POST", "/slack/events", body=data, headers=headers)
                response = self.conn.getresponse()
                answer = response.read()
                seconds = time.perf_counter() - start
                self.used = True
                if (response.getheader("Connection") or "").lower() == "close":
                    self.close()
                return response.status, seconds, answer
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if reused and attempt == 0:
                    continue
                return 0, time.perf_counter() - start, b""
            except (TimeoutError, OSError, http.client.HTTPException):
                self.close()
                return 0, time.perf_counter() - start, b""
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


@dataclass
class Outcome:
    kind: str
    status: int
    seconds: float
    refused: str = ""  # a view submission answered with errors: what they said


def refusal(kind: str, answer: bytes) -> str:
    """The inline errors a form submission was answered with, if any."""
    if kind != "submit" or b'"errors"' not in answer:
        return ""
    try:
        errors = json.loads(answer).get("errors") or {}
    except ValueError:
        return answer.decode(errors="replace")[:200]
    return "; ".join(str(v) for v in errors.values())[:200] or "errors"


def run_phase(url: str, plan: list[tuple[str, str]], clients: int) -> list[Outcome]:
    """Send `plan` with `clients` threads, each taking the next request when answered."""
    outcomes: list[Outcome | None] = [None] * len(plan)
    counter = itertools.count()
    ready = threading.Barrier(clients)

    def work() -> None:
        client = Client(url)
        ready.wait()
        while (i := next(counter)) < len(plan):
            kind, body = plan[i]
            status, seconds, answer = client.post(body, "application/x-www-form-urlencoded")
            outcomes[i] = Outcome(kind, status, seconds, refusal(kind, answer))
        client.close()

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [o for o in outcomes if o is not None]


def run_paced(url: str, plan: list[tuple[str, str]], clients: int, rate: float) -> list[Outcome]:
    """Send `plan` from `clients` threads, each sending at `rate` requests per second on
    average (exponential gaps, from a seeded generator), whether or not the last one was
    answered late (a late answer delays only that client's next request)."""
    outcomes: list[Outcome | None] = [None] * len(plan)
    ready = threading.Barrier(clients)

    def work(index: int) -> None:
        gaps = random.Random(index)
        client = Client(url)
        ready.wait()
        due = time.perf_counter() + gaps.expovariate(rate)
        for i in range(index, len(plan), clients):
            kind, body = plan[i]
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            status, seconds, answer = client.post(body, "application/x-www-form-urlencoded")
            outcomes[i] = Outcome(kind, status, seconds, refusal(kind, answer))
            due += gaps.expovariate(rate)
        client.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [o for o in outcomes if o is not None]


def wait_idle(server: Server, limit_s: float = 300, idle_share: float = 0.05) -> float:
    """Until the server has used under `idle_share` of a core for a second: its work after the
    acks is done (messages still waiting for their turn in a channel cost next to nothing).
    The seconds that took, not counting the idle second."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit_s:
        before = server.cpu_seconds()
        time.sleep(1.0)
        if server.cpu_seconds() - before < idle_share:
            return time.perf_counter() - start - 1.0
    return time.perf_counter() - start


# --- the measure -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


@dataclass
class Phase:
    app: str  # "cadence" or "bare"
    mode: Mode
    outcomes: list[Outcome]
    wall_s: float
    cpu_s: float
    drain_s: float = 0.0
    cpu_by_kind: dict[str, float] = field(default_factory=dict)  # sequential only

    def of(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]

    def p(self, kind: str, q: float) -> float:
        return percentile([o.seconds for o in self.of(kind)], q)

    def bad(self, kind: str | None = None) -> int:
        return sum(1 for o in self.outcomes if (kind is None or o.kind == kind)
                   and not 200 <= o.status < 300)  # fmt: skip

    def refused(self) -> list[str]:
        return [o.refused for o in self.outcomes if o.refused]


@dataclass
class Case:
    backend: str
    size: int
    rows: int
    seed_s: float
    phases: list[Phase] = field(default_factory=list)
    after_ack: dict[str, Any] = field(default_factory=dict)
    log_errors: int = 0
    log_warnings: list[str] = field(default_factory=list)

    def pair(self, mode: Mode) -> tuple[Phase, Phase]:
        cadence = next(p for p in self.phases if p.app == "cadence" and p.mode == mode)
        bare = next(p for p in self.phases if p.app == "bare" and p.mode == mode)
        return cadence, bare


def warm(url: str, requests: Requests, rng: random.Random) -> None:
    """A few requests of each kind, not measured: imports, pools, statement caches."""
    run_phase(url, requests.plan(2, rng), 2)


def measure_case(backend: str, scratch: Scratch, size: int, sizes: Sizes, fake: FakeProcess,
                 bare: Server, log_dir: Path) -> Case:  # fmt: skip
    url = scratch.new(f"e{size}")
    t0 = time.perf_counter()
    facts = seed_apart(url, size)
    case = Case(backend, size, facts["rows"], time.perf_counter() - t0)
    channels = [e["channel"] for e in facts["engagements"]]
    dms = {}
    for start in range(0, len(facts["users"]), 1_000):
        chunk = facts["users"][start : start + 1_000]
        dms.update(fake.ask("people", users=chunk, channels=channels if start == 0 else [])["dms"])
    server = Server(f"cadence-{backend.lower()}-{size}", server_env(url, fake), log_dir, bare=False)
    try:
        cadence_url = f"http://127.0.0.1:{server.port}"
        wait_ready(server)
        requests = Requests(facts, fake, dms)
        requests.open_forms(cadence_url)
        rng = random.Random(size)
        bare_url = f"http://127.0.0.1:{bare.port}"
        warm(cadence_url, requests, rng)
        warm(bare_url, requests, rng)
        fake.wait_quiet(quiet_s=1.5 if sizes.settle else 0.3)
        fake.ask("reset")
        apps = (("cadence", cadence_url, server), ("bare", bare_url, bare))
        for app, target, srv in apps:  # one at a time, kind by kind: CPU per kind
            case.phases.append(
                sequential(app, target, srv, requests, sizes.sequential, rng, fake, sizes.settle)
            )
        for mode in modes(sizes)[1:]:
            for app, target, srv in apps:
                plan = requests.plan(sizes.concurrent, rng)
                cpu0, t1 = srv.cpu_seconds(), time.perf_counter()
                if mode.paced is None:
                    outcomes = run_phase(target, plan, mode.clients)
                else:
                    outcomes = run_paced(target, plan, mode.clients, mode.paced)
                wall = time.perf_counter() - t1
                drain = wait_idle(srv) if sizes.settle else 0.0
                case.phases.append(Phase(app, mode, outcomes, wall, srv.cpu_seconds() - cpu0,
                                         drain))  # fmt: skip
        # the messages still waiting for their turn in a channel, then count what failed
        fake.wait_quiet(*((1.5, 30) if sizes.settle else (0.3, 10)))
        case.after_ack = fake.ask("stats")
        fake.ask("reset")
        case.log_errors = len(server.log_lines(" ERROR ", "Traceback"))
        case.log_warnings = server.log_lines(" WARNING ")
    finally:
        server.close()
    return case


def sequential(app: str, url: str, server: Server, requests: Requests, per_kind: int,
               rng: random.Random, fake: FakeProcess, settle: bool) -> Phase:  # fmt: skip
    """One request at a time, kind by kind, each kind's batch followed by its work after the
    acks (until the fake Slack has been quiet for a second): the server's CPU per kind."""
    outcomes: list[Outcome] = []
    cpu_by_kind: dict[str, float] = {}
    wall = cpu = 0.0
    for kind in KINDS:
        plan = requests.plan(per_kind, rng, (kind,))
        cpu0, t0 = server.cpu_seconds(), time.perf_counter()
        outcomes += run_phase(url, plan, 1)
        wall += time.perf_counter() - t0
        if settle:
            fake.wait_quiet(quiet_s=1.0)
            wait_idle(server)
        used = server.cpu_seconds() - cpu0
        cpu += used
        cpu_by_kind[kind] = used / per_kind
    return Phase(app, Mode(1), outcomes, wall, cpu, 0.0, cpu_by_kind)


def wait_ready(server: Server, limit_s: float = 60) -> None:
    """Until /healthz answers 200 (the worker has loaded the app and reached the database)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.label} exited:\n{server.log_path.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.label} did not become ready:\n{server.log_path.read_text()[-3000:]}")  # fmt: skip


def wait_bare(server: Server, limit_s: float = 60) -> None:
    """Until the bare app acknowledges a signed `/cadence help`."""
    deadline = time.monotonic() + limit_s
    body = urllib.parse.urlencode({"command": "/cadence", "text": "help", "team_id": TEAM,
                                   "user_id": ADMIN, "trigger_id": "1.x"})  # fmt: skip
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.label} exited:\n{server.log_path.read_text()[-3000:]}")
        client = Client(f"http://127.0.0.1:{server.port}")
        status, _, _ = client.post(body, "application/x-www-form-urlencoded")
        client.close()
        if status == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{server.label} did not become ready")


# --- report ----------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def report_case(case: Case, sizes: Sizes) -> None:
    print(f"\n== {case.backend} · {case.size:,} engagements ({case.rows:,} rows, seeded in"
          f" {case.seed_s:.1f} s) ==")  # fmt: skip
    head = (f"{'clients':>8} {'request':<34} {'n':>4} {'Cadence p50':>11} {'p99':>8}"
            f" {'bare p50':>9} {'p99':>8} {'p50 ×bare':>9} {'p99 ×bare':>9} {'non-2xx':>7}"
            f" {'CPU/req':>8}")  # fmt: skip
    print(head)
    print("-" * len(head))
    for mode in modes(sizes):
        cadence, bare = case.pair(mode)
        for kind in KINDS:
            c50, c99, b50, b99 = (cadence.p(kind, 50), cadence.p(kind, 99), bare.p(kind, 50),
                                  bare.p(kind, 99))  # fmt: skip
            cpu = cadence.cpu_by_kind.get(kind)
            print(f"{mode.label:>8} {LABELS[kind]:<34} {len(cadence.of(kind)):>4} {ms(c50):>11}"
                  f" {ms(c99):>8} {ms(b50):>9} {ms(b99):>8} {c50 / b50:>8.1f}x {c99 / b99:>8.1f}x"
                  f" {cadence.bad(kind) + bare.bad(kind):>7}"
                  f" {'' if cpu is None else f'{cpu * 1e3:.1f} ms':>8}")  # fmt: skip
        n = len(cadence.outcomes)
        if mode.paced is not None:
            print(f"{'':>8} offered {mode.clients * mode.paced:g} req/s (each client"
                  f" {mode.paced:g}/s, Poisson)")  # fmt: skip
        print(f"{'':>8} {n} requests each: Cadence {n / cadence.wall_s:.0f} req/s, server CPU "
              f"{cadence.cpu_s * 1e3 / n:.1f} ms/request (bare {n / bare.wall_s:.0f} req/s, "
              f"{bare.cpu_s * 1e3 / n:.1f} ms/request)"
              + (f"; busy {cadence.drain_s:.1f} s after its last ack" if mode.clients > 1 else ""))  # fmt: skip
    refused = [r for p in case.phases if p.app == "cadence" for r in p.refused()]
    stats = case.after_ack
    print(f"after the acks: {stats.get('apologies', 0)} apologies for an error, "
          f"{stats.get('database_away', 0)} for a database that did not answer in time, Web API"
          f" errors {stats.get('api_errors') or 'none'}, {stats.get('block_errors', 0)} block "
          f"errors; {len(refused)} form submissions refused"
          f"{' (' + refused[0] + ')' if refused else ''}; web log: {case.log_errors} errors, "
          f"{len(case.log_warnings)} warnings")  # fmt: skip
    for line in sorted({w.split(" WARNING ", 1)[-1][:150] for w in case.log_warnings})[:3]:
        print(f"  warning: {line}")


def verdicts(cases: list[Case], sizes: Sizes) -> bool:
    """Each target, for the closed loop (the load the issue measured) and for paced clients."""
    print("\n== Targets ==")
    ok = True
    for mode in modes(sizes)[1:]:
        for case in cases:
            if case.size != max(sizes.engagements):
                continue
            cadence, _ = case.pair(mode)
            worst = max(KINDS, key=lambda k: cadence.p(k, 99))
            good = cadence.p(worst, 99) < 1.0
            ok &= good
            print(f"{case.backend}, {case.size:,} engagements, {mode.label} clients: p99 of the"
                  f" worst kind ({LABELS[worst]}) {ms(cadence.p(worst, 99))}   target < 1 s   "
                  f"{'PASS' if good else 'FAIL'}")  # fmt: skip
    for mode in modes(sizes):
        for case in cases:
            cadence, bare = case.pair(mode)
            ratios = {k: cadence.p(k, 50) / bare.p(k, 50) for k in KINDS}
            worst = max(KINDS, key=lambda k: ratios[k])
            good = ratios[worst] <= 1.5
            ok &= good
            print(f"{case.backend}, {case.size:,} engagements, {mode.label} clients: p50 against"
                  f" bare, worst {LABELS[worst]} {ratios[worst]:.1f}x   target <= 1.5x   "
                  f"{'PASS' if good else 'FAIL'}")  # fmt: skip
    bad = sum(p.bad() for c in cases for p in c.phases)
    ok &= bad == 0
    print(f"answers that are not 2xx: {bad}   {'PASS' if bad == 0 else 'FAIL'}")
    return ok


def record(cases: list[Case], sizes: Sizes) -> None:
    """The headline figures of the largest size into bench/results.json (what the docs quote),
    each against the bare app measured in the same run."""
    for case in cases:
        if case.size != max(sizes.engagements):
            continue
        b, one, closed, paced = case.backend.lower(), *modes(sizes)
        for mode, key in ((one, "one_client"), (closed, "back_to_back"), (paced, "paced")):
            cadence, bare = case.pair(mode)
            ratios = [cadence.p(k, 50) / bare.p(k, 50) for k in KINDS]
            record_result(f"ack.{b}.{key}.p50_ratio", (min(ratios), max(ratios)), "x", digits=1)
            p50 = [cadence.p(k, 50) * 1e3 for k in KINDS]
            record_result(f"ack.{b}.{key}.p50", (min(p50), max(p50)), "ms")
            worst = max(KINDS, key=lambda k: cadence.p(k, 99))
            record_result(f"ack.{b}.{key}.p99_max", cadence.p(worst, 99) * 1e3, "ms",
                          baseline_ratio=cadence.p(worst, 99) / bare.p(worst, 99),
                          baseline="the bare Bolt app's p99 of the same kind")  # fmt: skip
            kind = re.sub(r" <[^>]+>", "", LABELS[worst])  # no <from>: the docs are Markdown
            record_result(f"ack.{b}.{key}.p99_worst_kind", kind, "")
            n = len(cadence.outcomes)
            record_result(f"ack.{b}.{key}.requests_per_s", n / cadence.wall_s, "",
                          baseline_ratio=bare.wall_s / cadence.wall_s,
                          baseline="the bare Bolt app's requests a second")  # fmt: skip
            record_result(f"ack.{b}.{key}.bare_requests_per_s", n / bare.wall_s, "")
            record_result(f"ack.{b}.{key}.cpu_per_request", cadence.cpu_s * 1e3 / n, "ms",
                          digits=1, baseline_ratio=cadence.cpu_s / bare.cpu_s,
                          baseline="the bare Bolt app's CPU per request")  # fmt: skip
            record_result(f"ack.{b}.{key}.bare_cpu_per_request", bare.cpu_s * 1e3 / n, "ms",
                          digits=1)  # fmt: skip
        cadence, bare = case.pair(one)
        for kind in KINDS:
            cpu, floor = cadence.cpu_by_kind[kind] * 1e3, bare.cpu_by_kind[kind] * 1e3
            record_result(f"ack.{b}.cpu_per_request.{kind}", cpu, "ms", digits=1,
                          baseline_ratio=cpu / floor if floor else None,
                          baseline="the bare Bolt app's CPU per request of the same kind")  # fmt: skip
        bad = sum(p.bad() for p in case.phases)
        record_result(f"ack.{b}.not_2xx", bad, "")


def run_backend(label: str, postgres_url: str | None, sizes: Sizes, log_dir: Path) -> list[Case]:
    scratch = Scratch(postgres_url, prefix="ack")
    fake = FakeProcess(
        team_id=TEAM,
        app_id=APP_ID,
        tz=TZ,
        still_clock=True,  # trigger ids handed out before a phase stay good
        backlog=512,  # 50 clients' `respond` posts at once
        counted={"apologies": APOLOGY, "database_away": DATABASE_AWAY},
    )
    bare = Server(f"bare-{label.lower()}", server_env("sqlite://", fake), log_dir, bare=True)
    cases = []
    try:
        wait_bare(bare)
        for size in sizes.engagements:
            case = measure_case(label, scratch, size, sizes, fake, bare, log_dir)
            report_case(case, sizes)
            cases.append(case)
    finally:
        bare.close()
        fake.close()
        scratch.close()
    return cases


def smoke(log_dir: Path) -> int:
    """A few requests of each kind on SQLite: every one answered 200 within 3 s."""
    cases = run_backend("SQLite", None, SMOKE, log_dir)
    outcomes = [o for c in cases for p in c.phases for o in p.outcomes]
    slow = [o for o in outcomes if o.status != 200 or o.seconds >= 3 or o.refused]
    print(f"\nsmoke: {len(outcomes)} requests, {len(slow)} not answered 200 within 3 s"
          f"{': ' + str(slow[:5]) if slow else ''}")  # fmt: skip
    return 0 if outcomes and not slow else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG)
    parser.add_argument("--quick", action="store_true", help="fewer requests per kind")
    parser.add_argument("--smoke", action="store_true",
                        help="a few requests of each kind on SQLite, 10 engagements; exit 1 "
                             "unless every one is answered 200 within 3 s")  # fmt: skip
    parser.add_argument("--keep-logs", metavar="DIR", help="write the web processes' logs here")
    parser.add_argument("--seed", nargs=2, metavar=("URL", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed:  # child-process mode
        print(json.dumps(seed(args.seed[0], int(args.seed[1]))))
        return 0
    with tempfile.TemporaryDirectory(prefix="cadence-ack-logs-") as tmp:
        log_dir = Path(args.keep_logs) if args.keep_logs else Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        if args.smoke:
            stop_recording("a smoke run")
            return smoke(log_dir)
        sizes = QUICK if args.quick else FULL
        print(f"ack latency: {' '.join(shlex.quote(a) for a in procfile_web(0)[1:])} (Procfile,"
              f" port chosen); {sizes.sequential} requests per kind one at a time, "
              f"{sizes.concurrent} per kind from {sizes.clients} clients (threads, keep-alive)")  # fmt: skip
        cases: list[Case] = []
        if args.database in ("sqlite", "both"):
            cases += run_backend("SQLite", None, sizes, log_dir)
        if args.database in ("postgresql", "both"):
            cases += run_backend("PostgreSQL", args.postgres_url, sizes, log_dir)
        ok = verdicts(cases, sizes)
        record(cases, sizes)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
