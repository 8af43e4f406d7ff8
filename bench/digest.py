"""Executive-digest benchmark: building one digest (figures, blocks, chart) for 10, 100 and 1,000
engagements with a year of weekly history each; prints each figure next to its target.

    python bench/digest.py [--sizes 10,100,1000] [--postgres URL] [--repeat 3]

What is measured is the code a `DIGEST_POST` and a `DIGEST_CHART` job run
(`bot/engine/digests.py`): `_figures` (`figures.load` in a read session, `figures.compute`,
`ordered`), `bot.blocks.digest.digest_message`, and `bot.blocks.chart.digest_chart` with
`chart_alt_text`. Statements are counted with a `before_cursor_execute` listener on the engine,
the garbage collector's share with `gc.callbacks`, peak memory with tracemalloc (a run of its
own, since tracing slows Python down) and the process's peak RSS. Seeding (not measured) runs
in a child process, so its rows never sit in the measuring process's heap.

The baseline beside each time is a bare loop that reads the same rows with SQLAlchemy Core
(the same tables and filters as the loader, no ORM, no figures) and touches each row once: on a
shared, noisy machine the ratio moves less than the milliseconds do.

Targets (issue 9, item 10): 1,000 engagements within 10x the time of 100; a statement count that
does not grow with the number of engagements; under 5 s for 1,000. Issue 23, item 4: load+compute
growing no faster than 1.2x the bare read's growth from 100 to 1,000 engagements. (100
workspaces' digests at the same minute: bench/digest_minute.py.)
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from common import Rows, Scratch, record_result  # noqa: E402  (bench/ is the script's folder)
from sqlalchemy import event, insert, or_, select, text  # noqa: E402

from bot.blocks import chart  # noqa: E402
from bot.blocks.digest import digest_message  # noqa: E402
from bot.domain import figures  # noqa: E402
from bot.domain.concerns import CATEGORIES, OPEN_STATUSES  # noqa: E402
from bot.domain.engagements import (  # noqa: E402
    DEFAULT_RESOLVE_HOURS,
    DEFAULT_SLA_HOURS,
    SEVERITIES,
)
from bot.domain.updates.evidence import kpi_outcome  # noqa: E402
from bot.domain.updates.records import UPDATE_KINDS  # noqa: E402
from bot.engine import digests  # noqa: E402
from bot.engine.delivery import Sender  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.jobs import ClaimedJob, JobKind  # noqa: E402
from storage.models import (  # noqa: E402
    Cadence,
    CheckIn,
    CheckInRecipient,
    Concern,
    ConcernSla,
    Engagement,
    EngagementMember,
    Feedback,
    KpiDefinition,
    KpiValue,
    StatusUpdate,
    UpdateRevision,
    Workspace,
)

TEAM = "T0DIGEST"
LEAD = "U0BLEAD"
DIGEST_CHANNEL = "C0DIGEST"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Berlin: the default slot
SINCE = NOW - timedelta(days=7)  # the last digest
WEEK = timedelta(days=7)
HOUR = timedelta(hours=1)
HISTORY_WEEKS = 52
SURVEYS = 12  # a feedback survey every four weeks
KPI_TEMPLATES = (  # name, unit, target, tolerance, higher_is_better, spread
    ("Uptime", "%", 99.9, 99.5, True, 0.4),
    ("Response time", "h", 4.0, 6.0, False, 2.5),
    ("Open defects", "", 5.0, None, False, 3.0),
)
RAGS = ("green", "amber", "red")
PROFILES = (  # weights of green, amber, red: most engagements fine, some troubled
    (85, 12, 3),
    (85, 12, 3),
    (60, 30, 10),
    (30, 45, 25),
)
FATES = ("on_time", "late", "missed", "away")
FATE_WEIGHTS = (60, 15, 15, 10)
DEFAULT_SIZES = (10, 100, 1_000)
BATCH = 10_000


# --- seeding --------------------------------------------------------------------------------------
# The bench seeds rows directly, with Core bulk inserts (executemany), shaped as the domain writes
# them (see `UpdateInput.content` in bot/domain/updates/validation.py for a revision's content):
# driving a year of weekly history through Slack and the engine for 1,000 engagements would take
# hours.


def _kpi_content(rng: random.Random, kpis: list[tuple[int, tuple]]) -> list[dict[str, Any]]:
    out = []
    for kpi_id, (name, unit, target, tolerance, higher, spread) in kpis:
        value = round(target + rng.gauss(0, spread) * (0.6 if higher else 1), 2)
        outcome = kpi_outcome(value, target, higher, tolerance)
        out.append({
            "kpi_id": kpi_id, "name": name, "unit": unit, "value": value, "target": target,
            "tolerance": tolerance, "higher_is_better": higher,
            "met_target": outcome.value == "met", "outcome": outcome.value,
        })  # fmt: skip
    return out


def _engagement(
    rows: Rows, rng: random.Random, i: int, digest_channel: str = DIGEST_CHANNEL
) -> None:
    """One engagement: members, 2–3 KPIs, SLAs, a weekly status update with 52 weeks of
    check-ins, recipients, updates and revisions; a feedback survey every four weeks with
    answers; concerns of every severity and status with their deadlines."""
    created = NOW - (HISTORY_WEEKS + 2) * WEEK
    vendor = f"Vendor {i % 97}"
    eid = rows.add(
        Engagement, name=f"Engagement {i:04d} · {vendor}"[:80], handle=f"eng-{i}", vendor=vendor,
        channel_id=f"C0E{i:07d}", digest_channel_id=digest_channel, timezone="Europe/Berlin",
        holidays=[], created_by=LEAD, created_at=created, updated_at=created,
    )  # fmt: skip
    vendors = [f"U0V{i:06d}A", f"U0V{i:06d}B"]
    stakeholder = f"U0S{i:06d}"
    for user, role in [(LEAD, "lead"), *((v, "vendor") for v in vendors), (stakeholder, "stakeholder")]:  # fmt: skip
        rows.add(EngagementMember, engagement_id=eid, user_id=user, role=role)
    kpis = []
    for position, template in enumerate(KPI_TEMPLATES[: 2 + i % 2]):
        name, unit, target, tolerance, higher, _ = template
        kpi_id = rows.add(
            KpiDefinition, engagement_id=eid, name=name, unit=unit, target=target,
            higher_is_better=higher, tolerance=tolerance, position=position, retired_at=None,
        )  # fmt: skip
        kpis.append((kpi_id, template))
    for severity in SEVERITIES:
        rows.add(ConcernSla, engagement_id=eid, severity=severity,
                 response_hours=DEFAULT_SLA_HOURS[severity],
                 resolve_hours=DEFAULT_RESOLVE_HOURS[severity])  # fmt: skip

    cadence = dict(
        engagement_id=eid, local_time="09:00", timezone="Europe/Berlin", start_date=None,
        window_hours=48, reminder_hours=24, escalation_hours=24, escalation_user_ids=[],
        audience_user_ids=[], delivery="dm", recipient_local_time=False, status="active",
        created_by=LEAD, created_at=created, updated_at=created,
    )  # fmt: skip
    weekly = rows.add(
        Cadence, kind="status_update", rule="FREQ=WEEKLY;BYDAY=MO", rule_kind="weekly",
        audience="vendor", next_run_at=NOW + WEEK, next_slot="2026-11-30T09:00", **cadence,
    )  # fmt: skip
    survey = rows.add(
        Cadence, kind="feedback_survey", rule="FREQ=WEEKLY;INTERVAL=4;BYDAY=WE",
        rule_kind="every_n_weeks", audience="stakeholders", next_run_at=NOW + 2 * 24 * HOUR,
        next_slot="2026-11-25T09:00", **cadence,
    )  # fmt: skip

    weights = PROFILES[i % len(PROFILES)]
    for k in range(HISTORY_WEEKS - 1, -1, -1):  # oldest first; k = 0 is this morning's, still open
        at = NOW - k * WEEK
        closes = at + 48 * HOUR
        answers = []
        checkin = rows.ids.get(CheckIn, 0) + 1
        for user in vendors:
            fate = rng.choices(FATES, FATE_WEIGHTS)[0]
            if k == 0 and fate != "on_time":
                fate = "missed"  # still inside its window: pending
            answered = None
            if fate == "on_time":
                answered = at + timedelta(minutes=rng.randrange(30, 47 * 60))
                if answered > NOW:
                    answered, fate = None, "missed"
            elif fate == "late":
                answered = closes + timedelta(minutes=rng.randrange(30, 72 * 60))
            status = {"on_time": "answered", "late": "answered", "away": "away"}.get(
                fate, "pending"
            )
            rows.add(CheckInRecipient, checkin_id=checkin, user_id=user, status=status,
                     delivered_via="dm", answered_at=answered)  # fmt: skip
            if answered is not None:
                answers.append((answered, user, fate == "late"))
        pending = len(answers) < 2
        rows.add(
            CheckIn, cadence_id=weekly, engagement_id=eid, occurrence_key=f"w{k}",
            scheduled_for=at, window_closes_at=closes,
            status="open" if k == 0 else ("overdue" if pending else "closed"),
            created_at=at, thread_ts=None,
        )  # fmt: skip
        if answers:
            answered, author, late = min(answers)
            rag = rng.choices(RAGS, weights)[0]
            revisions = 2 if rng.random() < 0.2 else 1
            update = rows.add(
                StatusUpdate, engagement_id=eid, checkin_id=checkin, author_user_id=author,
                rag=rag, summary=f"Week {HISTORY_WEEKS - k}: {rag}.", accomplishments="",
                next_steps="", blockers="", reason="" if rag == "green" else "Waiting on access.",
                blocker_lines=[], confidence=rng.randrange(1, 6), late=late, revision=revisions,
                channel_id=f"C0E{i:07d}", message_ts=None, submitted_at=answered,
                updated_at=answered,
            )  # fmt: skip
            for revision in range(1, revisions + 1):
                kpi_content = _kpi_content(rng, kpis)
                rows.add(UpdateRevision, update_id=update, revision=revision, editor_user_id=author,
                         content={"rag": rag, "reason": "", "summary": f"Week {HISTORY_WEEKS - k}.",
                                  "accomplishments": "", "next_steps": "", "blockers": "",
                                  "blocker_lines": [], "confidence": 3, "kpis": kpi_content},
                         created_at=answered + (revision - 1) * HOUR)  # fmt: skip
            for k_content in kpi_content:  # the latest revision's figures, as _write_kpis keeps
                rows.add(KpiValue, update_id=update, kpi_id=k_content["kpi_id"],
                         value=k_content["value"], met_target=k_content["met_target"])  # fmt: skip

    for k in range(SURVEYS):
        at = NOW - (k * 4 + 1) * WEEK + 2 * 24 * HOUR  # Wednesdays
        checkin = rows.add(
            CheckIn, cadence_id=survey, engagement_id=eid, occurrence_key=f"s{k}",
            scheduled_for=at, window_closes_at=at + 48 * HOUR, status="closed",
            created_at=at, thread_ts=None,
        )  # fmt: skip
        answered = rng.random() < 0.75
        when = at + timedelta(hours=rng.randrange(1, 47))
        rows.add(CheckInRecipient, checkin_id=checkin, user_id=stakeholder,
                 status="answered" if answered else "pending", delivered_via="dm",
                 answered_at=when if answered else None)  # fmt: skip
        if answered:
            base = rng.choice((2, 3, 4, 4, 5))
            scores = [max(1, min(5, base + rng.choice((-1, 0, 0, 1)))) for _ in range(4)]
            rows.add(Feedback, engagement_id=eid, checkin_id=checkin, author_user_id=stakeholder,
                     communication=scores[0], quality=scores[1], timeliness=scores[2],
                     overall=scores[3], comment="", anonymous=k % 3 == 0,
                     submitted_at=when)  # fmt: skip

    for n in range(8):  # every severity and every status, over the year
        severity = SEVERITIES[(i + n) % len(SEVERITIES)]
        status = ("resolved", "resolved", "resolved", "acknowledged", "open", "open",
                  "reopened", "acknowledged")[n]  # fmt: skip
        raised = NOW - timedelta(hours=rng.randrange(2, HISTORY_WEEKS * 7 * 24))
        ack_hours, resolve_hours = DEFAULT_SLA_HOURS[severity], DEFAULT_RESOLVE_HOURS[severity]
        ack_due, resolve_due = raised + ack_hours * HOUR, raised + resolve_hours * HOUR
        acknowledged = resolved = None
        rounds = 0
        if status in ("acknowledged", "resolved"):
            acknowledged = raised + ack_hours * rng.uniform(0.2, 1.6) * HOUR  # some late
            if status == "resolved":
                resolved = raised + resolve_hours * rng.uniform(0.3, 1.7) * HOUR
                resolved = max(resolved, acknowledged + HOUR)
        elif status == "reopened":  # resolved once, reopened: its clocks start again
            rounds = 1
            reopened = raised + resolve_hours * rng.uniform(0.5, 2) * HOUR
            ack_due, resolve_due = reopened + ack_hours * HOUR, reopened + resolve_hours * HOUR
            if reopened > NOW:
                status, rounds, ack_due, resolve_due = "open", 0, raised + ack_hours * HOUR, raised + resolve_hours * HOUR  # fmt: skip
        if resolved is not None and resolved > NOW:
            status, resolved = "acknowledged", None
        if acknowledged is not None and acknowledged > NOW:
            status, acknowledged = "open", None
        waiting = status in ("open", "reopened")
        rows.add(
            Concern, engagement_id=eid, title=f"{severity.title()} concern {n} of engagement {i}",
            description="", severity=severity, category=CATEGORIES[n % len(CATEGORIES)],
            owner_user_id=vendors[0], raised_by=LEAD, raised_side="client", source="command",
            source_ref=None, quote="", due_on=None, status=status, round=rounds, raised_at=raised,
            acknowledged_at=acknowledged, resolved_at=resolved, resolution_note="",
            sla_due_at=None if status == "resolved" else (ack_due if waiting else resolve_due),
            acknowledge_due_at=ack_due, resolve_due_at=resolve_due, channel_id=None,
            message_ts=None,
        )  # fmt: skip


INSERT_ORDER = (
    Engagement, EngagementMember, KpiDefinition, ConcernSla, Cadence, CheckIn, CheckInRecipient,
    StatusUpdate, UpdateRevision, KpiValue, Feedback, Concern,
)  # fmt: skip


def seed(db: Database, count: int) -> tuple[list[int], int]:
    """`count` engagements of one workspace with a year of history; their ids and rows inserted."""
    rng = random.Random(count)
    rows = Rows(TEAM)
    for i in range(count):
        _engagement(rows, rng, i)
    insert_workspace(db, rows, DIGEST_CHANNEL)
    finish_seeding(db)
    return list(range(1, count + 1)), rows.count() + 1


def insert_workspace(db: Database, rows: Rows, digest_channel: str) -> None:
    """A workspace whose digest is due at NOW (the last one a week before), and its rows."""
    with db.engine.begin() as conn:
        conn.execute(insert(Workspace.__table__), [{
            "team_id": rows.team_id, "name": "Digest bench", "digest_channel_id": digest_channel,
            "digest_rule": "FREQ=WEEKLY;BYDAY=MO", "digest_local_time": "09:00",
            "digest_timezone": "Europe/Berlin", "digest_next_run_at": NOW,
            "digest_last_run_at": SINCE, "created_at": NOW - 60 * WEEK,
        }])  # fmt: skip
        for model in INSERT_ORDER:
            table_rows = rows.tables.get(model, [])
            for start in range(0, len(table_rows), BATCH):
                conn.execute(insert(model.__table__), table_rows[start : start + BATCH])


def finish_seeding(db: Database) -> None:
    """Sequences moved past the ids given explicitly (PostgreSQL), and statistics gathered."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            for model in INSERT_ORDER:
                name = model.__table__.name
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"(SELECT max(id) FROM {name}))"))  # fmt: skip
    with db.engine.connect() as conn:  # what autovacuum or `PRAGMA optimize` would have done
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


# --- the measure ----------------------------------------------------------------------------------


class StatementCounter:
    """Statements sent to the database (a `before_cursor_execute` listener on the engine), and
    the time the cyclic garbage collector ran (a `gc.callbacks` hook)."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        self.gc_s = 0.0
        self._gc_started = 0.0
        event.listen(db.engine, "before_cursor_execute", self._seen)
        gc.callbacks.append(self._gc)

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def _gc(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_s += time.perf_counter() - self._gc_started

    def close(self) -> None:
        gc.callbacks.remove(self._gc)


def digest_job(ids: list[int]) -> ClaimedJob:
    """A `DIGEST_POST` job as `digest_plans._plan_post` plans it for the workspace's channel."""
    return ClaimedJob(
        id=1, team_id=TEAM, key=f"digest-post:digest:team={TEAM}:channel={DIGEST_CHANNEL}",
        kind=JobKind.DIGEST_POST, due_at=NOW, attempts=1, cadence_id=None, checkin_id=None,
        user_id=None,
        payload={"channel": DIGEST_CHANNEL, "engagement_ids": ids, "as_of": NOW.isoformat(),
                 "since": SINCE.isoformat(), "preview": False},
    )  # fmt: skip


@dataclass
class Run:
    figures_s: float
    blocks_s: float
    chart_s: float
    statements: int
    blocks: int
    chart_bytes: int
    gc_s: float

    @property
    def total_s(self) -> float:
        return self.figures_s + self.blocks_s + self.chart_s


def build_digest(db: Database, ids: list[int], counter: StatementCounter) -> Run:
    """One digest, as the engine's jobs build it: `_figures` (load in a read session, compute,
    order), the message's blocks, the chart and its alt text. (The chart job draws from the
    rows its post wrote into its payload, `bot/blocks/chart_rows.py`: one load for both.)"""
    sender = Sender(db=db, client_for=lambda _team: None, owner="bench", now=NOW)  # type: ignore[arg-type]
    job = digest_job(ids)
    before, gc_before = counter.count, counter.gc_s
    t0 = time.perf_counter()
    rows, scope = digests._figures(sender, job)
    t1 = time.perf_counter()
    message = digest_message(rows, scope)
    t2 = time.perf_counter()
    png = chart.digest_chart(rows, now=scope.now, weeks=figures.TREND_WEEKS)
    alt = chart.chart_alt_text(rows, now=scope.now, weeks=figures.TREND_WEEKS)
    t3 = time.perf_counter()
    assert len(rows) == len(ids) and png.startswith(b"\x89PNG") and alt
    return Run(t1 - t0, t2 - t1, t3 - t2, counter.count - before, len(message["blocks"]), len(png),
               counter.gc_s - gc_before)  # fmt: skip


def bare_read(db: Database, ids: list[int]) -> tuple[float, int]:
    """The floor: the rows the loader reads (same tables, same filters), with Core selects and
    no figures, each row touched once. Returns its seconds and the rows read."""
    start = NOW - figures.TREND_WEEKS * WEEK
    ck, rc, su, rv = (CheckIn.__table__, CheckInRecipient.__table__, StatusUpdate.__table__,
                      UpdateRevision.__table__)  # fmt: skip
    cd, kd, cn, fb = (Cadence.__table__, KpiDefinition.__table__, Concern.__table__,
                      Feedback.__table__)  # fmt: skip
    queries = [
        select(rc.c.checkin_id, rc.c.user_id, rc.c.status, ck.c.scheduled_for,
               ck.c.window_closes_at, rc.c.answered_at)
        .join(ck, ck.c.id == rc.c.checkin_id).join(cd, cd.c.id == ck.c.cadence_id)
        .where(ck.c.team_id == TEAM, ck.c.engagement_id.in_(ids),
               cd.c.kind.in_(list(UPDATE_KINDS)), ck.c.scheduled_for > start,
               ck.c.scheduled_for <= NOW),
        select(su.c.engagement_id, su.c.rag, su.c.submitted_at, rv.c.content)
        .outerjoin(rv, (rv.c.update_id == su.c.id) & (rv.c.revision == su.c.revision))
        .where(su.c.team_id == TEAM, su.c.engagement_id.in_(ids), su.c.submitted_at > start,
               su.c.submitted_at <= NOW),
        select(kd).where(kd.c.team_id == TEAM, kd.c.engagement_id.in_(ids)),
        select(cn).where(cn.c.team_id == TEAM, cn.c.engagement_id.in_(ids),
                         or_(cn.c.status.in_([str(s) for s in OPEN_STATUSES]),
                             cn.c.raised_at > start, cn.c.resolved_at > start)),
        select(fb.c.engagement_id, fb.c.submitted_at, fb.c.overall)
        .where(fb.c.team_id == TEAM, fb.c.engagement_id.in_(ids), fb.c.submitted_at > start,
               fb.c.submitted_at <= NOW),
    ]  # fmt: skip
    touched = 0
    t0 = time.perf_counter()
    with db.engine.connect() as conn:
        for query in queries:
            for row in conn.execute(query):
                touched += len(row)
    seconds = time.perf_counter() - t0
    return seconds, touched


def peak_memory(db: Database, ids: list[int], counter: StatementCounter) -> tuple[float, float]:
    """(tracemalloc peak MB of one digest build, this process's peak RSS in MB so far: sizes
    run smallest first and seeding runs in a child, so it is the largest build's peak)."""
    gc.collect()
    tracemalloc.start()
    try:
        build_digest(db, ids, counter)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20, rss / 1024  # Linux reports KiB


@dataclass
class Result:
    size: int
    seeded_rows: int
    seed_s: float
    run: Run  # the run with the fastest load+compute
    bare_s: float
    touched: int
    peak_mb: float
    peak_rss_mb: float


def seed_apart(url: str, size: int) -> int:
    """Seed in a child process, so that neither the rows built for the inserts (hundreds of
    MB at 1,000 engagements) nor their peak RSS stay in the process that measures."""
    done = subprocess.run(
        [sys.executable, __file__, "--seed", url, str(size)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(done.stdout.split()[-1])


def measure(scratch: Scratch, size: int, repeat: int) -> Result:
    url = scratch.new(f"digest_{size}")
    t0 = time.perf_counter()
    seeded = seed_apart(url, size)
    seed_s = time.perf_counter() - t0
    db = scratch.database(url)
    ids = list(range(1, size + 1))
    counter = StatementCounter(db)
    build_digest(db, ids, counter)  # warm: imports, fonts, pools, statement caches
    bare_read(db, ids)  # warm
    # Each build next to a bare read, so a spell of load elsewhere on the shared machine falls
    # on both; the fastest of each, since such noise only ever adds time.
    runs, bares = [], []
    for _ in range(repeat):
        runs.append(build_digest(db, ids, counter))
        bares.append(bare_read(db, ids))
    run = min(runs, key=lambda r: r.figures_s)
    bare = min(bares)
    peak, rss = peak_memory(db, ids, counter)
    counter.close()
    return Result(size, seeded, seed_s, run, bare[0], bare[1], peak, rss)


# --- report ---------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(backend: str, results: list[Result], repeat: int) -> bool:
    print(f"\n== {backend}: one digest (fastest of {repeat}; seeding not measured) ==")
    head = (f"{'engagements':>11} {'rows':>8} {'seed s':>7} {'load+compute':>12} {'blocks':>8}"
            f" {'chart':>8} {'total':>9} {'of it gc':>8} {'bare read':>9} {'l+c/bare':>8} {'stmts':>5}"
            f" {'peak MB':>8} {'RSS MB':>7} {'blocks':>6}")  # fmt: skip
    print(head)
    print("-" * len(head))
    for r in results:
        run = r.run
        print(f"{r.size:>11,} {r.seeded_rows:>8,} {r.seed_s:>7.1f} {run.figures_s * 1e3:>9.0f} ms"
              f" {run.blocks_s * 1e3:>5.0f} ms {run.chart_s * 1e3:>5.0f} ms"
              f" {run.total_s * 1e3:>6.0f} ms {run.gc_s * 1e3:>5.0f} ms {r.bare_s * 1e3:>6.0f} ms"
              f" {run.figures_s / r.bare_s:>7.1f}x {run.statements:>5} {r.peak_mb:>8.1f}"
              f" {r.peak_rss_mb:>7.1f} {run.blocks:>6}")  # fmt: skip
    by_size = {r.size: r for r in results}
    ok = True
    if 100 in by_size and 1_000 in by_size:
        big, small = by_size[1_000], by_size[100]
        ratio = big.run.total_s / small.run.total_s
        good = ratio <= 10
        ok &= good
        print(f"total(1,000) / total(100)        {ratio:>6.2f}x   target <= 10x   {verdict(good)}"
              f"   (load+compute: {big.run.figures_s / small.run.figures_s:.1f}x;"
              f" bare read: {big.bare_s / small.bare_s:.1f}x)")  # fmt: skip
        growth = (big.run.figures_s / small.run.figures_s) / (big.bare_s / small.bare_s)
        record_result(f"digest.{backend.lower()}.growth_vs_bare", growth, "x", digits=2,
                      baseline="the bare read's growth from 100 to 1,000")  # fmt: skip
        good = growth <= 1.2
        ok &= good
        print(f"l+c growth / bare read growth    {growth:>6.2f}x   target <= 1.2x  {verdict(good)}"
              f"   (100 -> 1,000 engagements)")  # fmt: skip
    counts = {r.run.statements for r in results}
    flat = len(counts) == 1
    ok &= flat
    print(
        f"statements flat                  {'yes' if flat else 'no':>7}   "
        f"({', '.join(str(r.run.statements) for r in results)})   {verdict(flat)}"
    )
    if 1_000 in by_size:
        total = by_size[1_000].run.total_s
        record_result(f"digest.{backend.lower()}.total_1000", total, "s", digits=2,
                      baseline_ratio=total / by_size[1_000].bare_s, baseline="a bare read")  # fmt: skip
        good = total < 5
        ok &= good
        print(f"total for 1,000                  {total:>6.2f} s   target < 5 s    {verdict(good)}"
              f"   (bare read of the same rows: {by_size[1_000].bare_s:.2f} s)")  # fmt: skip
    return ok


def run_backend(label: str, postgres_url: str | None, sizes: list[int], repeat: int) -> bool:
    scratch = Scratch(postgres_url, prefix="digest")
    try:
        results = []
        for size in sizes:
            results.append(measure(scratch, size, repeat))
            print(f"  ({label}: {size:,} engagements measured)", flush=True)
        return report(label, results, repeat)
    finally:
        scratch.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="numbers of engagements, comma-separated (default 10,100,1000)")  # fmt: skip
    parser.add_argument("--postgres", metavar="URL",
                        help="also run on PostgreSQL: a server database to create a scratch "
                             "database from, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="measured builds per size")
    parser.add_argument("--seed", nargs=2, metavar=("URL", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed:  # child-process mode: seed one database, print the rows inserted
        db = Database.from_url(args.seed[0])
        print(seed(db, int(args.seed[1]))[1])
        db.dispose()
        return 0
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    ok = run_backend("SQLite", None, sizes, args.repeat)
    if args.postgres:
        ok &= run_backend("PostgreSQL", args.postgres, sizes, args.repeat)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
