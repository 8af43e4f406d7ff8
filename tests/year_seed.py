"""A year of a running deployment, seeded in bulk (tests/test_year_of_data.py, bench/year.py).

Copies of one engagement and its cadence (made through the app, or by the bench's own inserts)
each get a year of weekly check-ins and the jobs a week leaves behind, finished as they finish
in a deployment (a prompt sent, its reminder cancelled by the answer, the overdue check done,
the check-in's thread and the update's summary posted, a Home refresh), with Core bulk inserts:
driving a year through Slack would take hours. Beside them: the rows pruning must keep
(clocks, the once-ever notices, a check-in thread that failed), request receipts every
`RECEIPT_EVERY`, and the heartbeats of processes long gone. And, for the plans a Home reads
with, a year of resolved concerns and of weekly updates with their revisions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, insert, select

from storage import job_keys, jobs
from storage.db import Database
from storage.jobs import JobKind
from storage.models import (
    Cadence,
    CheckIn,
    CheckInRecipient,
    Concern,
    Engagement,
    EngagementMember,
    ScheduledJob,
    SlackRequest,
    StatusUpdate,
    TickerHeartbeat,
    UpdateRevision,
)

WEEKS = 52
RECEIPT_EVERY = timedelta(minutes=30)
GONE_PROCESSES = 40
CHUNK = 5_000


@dataclass
class Year:
    """What was seeded: the copies' engagement and cadence ids, and rows by table."""

    engagements: list[int]
    cadences: list[int]
    checkins: int
    jobs: int
    receipts: int
    heartbeats: int


def seed_year(
    db: Database,
    *,
    engagement_id: int,
    cadence_id: int,
    copies: int,
    until: datetime,
    wall: datetime,
    weeks: int = WEEKS,
) -> Year:
    """`copies` engagements like `engagement_id`, each with a cadence like `cadence_id` (not
    due before `until` + 6 days) and `weeks` of history before `until`; receipts for those
    weeks; gone processes' heartbeats before the wall clock `wall`. With `weeks=0`, the same
    engagements and cadences on a database with no history (a benchmark's baseline)."""
    with db.engine.begin() as conn:
        engagements, vendors = _copy_engagements(conn, engagement_id, copies, until)
        cadences = _copy_cadences(conn, cadence_id, engagements, until)
        checkins = _checkins(conn, cadences, engagements, vendors, until, weeks)
        job_rows = list(_jobs(checkins, until)) if checkins else []
        _insert(conn, ScheduledJob.__table__, job_rows)
        team_id = checkins[0]["team_id"] if checkins else ""
        since = until - timedelta(weeks=weeks)
        receipts = [
            {"team_id": team_id, "key": f"year:receipt={n}", "at": at}
            for n, at in enumerate(_every(since, until, RECEIPT_EVERY))
        ]
        _insert(conn, SlackRequest.__table__, receipts)
        beats = [
            {"process": f"gone-host:{n}", "last_tick_at": wall - timedelta(days=2 + n)}
            for n in range(GONE_PROCESSES if weeks else 0)
        ]
        _insert(conn, TickerHeartbeat.__table__, beats)
    return Year(engagements, cadences, len(checkins), len(job_rows), len(receipts), len(beats))


def _insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(insert(table), rows[start : start + CHUNK])


def _every(start: datetime, end: datetime, step: timedelta) -> Iterable[datetime]:
    at = start
    while at < end:
        yield at
        at += step


def _copy_engagements(conn: Connection, engagement_id: int, copies: int, until: datetime):
    table = Engagement.__table__
    template = dict(conn.execute(select(table).where(table.c.id == engagement_id)).one()._mapping)
    del template["id"]
    created = until - timedelta(days=400)
    rows = [
        {
            **template,
            "handle": f"{template['handle']}-y{i}",
            "name": f"{template['name']} (year {i})",
            "channel_id": f"C0YEAR{i:07d}",
            "created_at": created,
            "updated_at": created,
        }
        for i in range(copies)
    ]
    ids = list(
        conn.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        ).scalars()
    )
    members = EngagementMember.__table__
    people = [
        dict(r._mapping)
        for r in conn.execute(select(members).where(members.c.engagement_id == engagement_id))
    ]
    copied = [
        {**{k: v for k, v in person.items() if k != "id"}, "engagement_id": new_id}
        for new_id in ids
        for person in people
    ]
    _insert(conn, members, copied)
    vendors = [p["user_id"] for p in people if p["role"] == "vendor"] or ["U0YEARVENDOR"]
    return ids, vendors


def _copy_cadences(
    conn: Connection, cadence_id: int, engagements: list[int], until: datetime
) -> list[int]:
    table = Cadence.__table__
    template = dict(conn.execute(select(table).where(table.c.id == cadence_id)).one()._mapping)
    del template["id"]
    later = until + timedelta(days=6)
    rows = [
        {
            **template,
            "engagement_id": engagement_id,
            "next_run_at": later,
            "next_slot": later.strftime("%Y-%m-%dT%H:%M"),
            "created_at": until - timedelta(days=400),
            "updated_at": until - timedelta(days=400),
        }
        for engagement_id in engagements
    ]
    return list(
        conn.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        ).scalars()
    )


def _checkins(
    conn: Connection,
    cadences: list[int],
    engagements: list[int],
    vendors: list[str],
    until: datetime,
    weeks: int,
) -> list[dict[str, Any]]:
    """A closed check-in a week for `weeks` per cadence, answered by its vendor contact."""
    team_id = conn.execute(
        select(Engagement.__table__.c.team_id).where(Engagement.__table__.c.id == engagements[0])
    ).scalar_one()
    rows = [
        {
            "team_id": team_id,
            "cadence_id": cadence_id,
            "engagement_id": engagement_id,
            "occurrence_key": at.strftime("%Y-%m-%dT%H:%M"),
            "scheduled_for": at,
            "window_closes_at": at + timedelta(hours=48),
            "status": "closed",
            "created_at": at,
            "thread_ts": f"{at.timestamp():.6f}",
        }
        for cadence_id, engagement_id in zip(cadences, engagements, strict=True)
        for at in (until - timedelta(weeks=week) for week in range(weeks, 0, -1))
    ]
    table = CheckIn.__table__
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids += conn.execute(statement, chunk).scalars()
    recipients = []
    for row, checkin_id in zip(rows, ids, strict=True):
        row["id"] = checkin_id
        row["vendor"] = vendors[0]
        recipients.append(
            {
                "team_id": team_id,
                "checkin_id": checkin_id,
                "user_id": vendors[0],
                "status": "answered",
                "delivered_via": "dm",
                "answered_at": row["scheduled_for"] + timedelta(hours=3),
            }
        )
    _insert(conn, CheckInRecipient.__table__, recipients)
    return rows


def _job(checkin: dict[str, Any], key: str, kind: str, status: str, finished: datetime, **extra):
    """A job of `checkin`, planned at its moment and finished (`status`) at `finished`."""
    at = checkin["scheduled_for"]
    row = jobs.job_row(
        team_id=checkin["team_id"], key=key, kind=kind, due_at=at, now=at,
        cadence_id=checkin["cadence_id"], checkin_id=checkin["id"], **extra,
    )  # fmt: skip
    row.update(status=status, attempts=1, updated_at=finished)
    if status == "sent":
        row.update(result_channel="D0YEAR", result_ts=f"{finished.timestamp():.6f}")
    return row


def _jobs(checkins: list[dict[str, Any]], until: datetime) -> Iterable[dict[str, Any]]:
    """Six finished jobs a check-in; on every tenth engagement's first check-in, the rows that
    pruning keeps however old (a deliverable's and a contract's clock, a notice told once, an
    archive notice, a check-in thread that failed); one pending job a cadence, due next week."""
    seen: set[int] = set()
    minute, hours, days = timedelta(minutes=1), timedelta(hours=3), timedelta(days=2)
    for c in checkins:
        at: datetime = c["scheduled_for"]
        checkin_id, vendor, engagement = c["id"], c["vendor"], c["engagement_id"]
        every_tenth = engagement not in seen and engagement % 10 == 0
        seen.add(engagement)
        window = at + hours + timedelta(seconds=checkin_id)  # a Home window of its own
        yield _job(c, job_keys.prompt(checkin_id, vendor), JobKind.PROMPT, "sent", at + minute,
                   user_id=vendor)  # fmt: skip
        yield _job(c, job_keys.reminder(checkin_id, vendor), JobKind.REMINDER, "cancelled",
                   at + hours, user_id=vendor)  # fmt: skip
        yield _job(c, job_keys.overdue(checkin_id), JobKind.OVERDUE, "done", at + days)
        thread = "failed" if every_tenth else "sent"
        yield _job(c, job_keys.checkin_thread(checkin_id), JobKind.CHECKIN_THREAD, thread,
                   at + hours)  # fmt: skip
        yield _job(c, job_keys.update_summary(checkin_id, 1), JobKind.UPDATE_SUMMARY, "sent",
                   at + hours)  # fmt: skip
        yield _job(c, job_keys.home(vendor, window), JobKind.HOME, "sent", at + hours,
                   user_id=vendor)  # fmt: skip
        if every_tenth:
            stage = f"stage=overdue:due={at.isoformat()}"
            yield _job(c, f"{job_keys.deliverable_clocks(engagement)}{stage}",
                       JobKind.DELIVERABLE_CLOCK, "done", at)  # fmt: skip
            yield _job(c, job_keys.contract_clock(engagement, "end", f"end={at.date()}"),
                       JobKind.CONTRACT_CLOCK, "done", at)  # fmt: skip
            yield _job(c, job_keys.notice(engagement, "C0YEAR", "not_in_channel", vendor),
                       JobKind.MESSAGE, "sent", at)  # fmt: skip
            yield _job(c, job_keys.archived(engagement), JobKind.MESSAGE, "sent", at)
    for cadence_id in sorted({c["cadence_id"] for c in checkins}):
        yield jobs.job_row(
            team_id=checkins[0]["team_id"], key=f"year:pending:cadence={cadence_id}",
            kind=JobKind.PROMPT, due_at=until + timedelta(days=6), now=until,
            cadence_id=cadence_id,
        )  # fmt: skip


def seed_resolved_concerns(
    db: Database, engagements: list[int], *, team_id: str, owner: str, until: datetime
) -> None:
    """A concern a month for a year on each engagement, each engagement's owned and raised by
    people of its own, all resolved; and one open concern owned by `owner`."""
    rows = [
        {
            "team_id": team_id,
            "engagement_id": engagement_id,
            "title": f"Month {month}",
            "severity": "medium",
            "category": "delivery",
            "owner_user_id": f"U0OWNER{engagement_id}",
            "raised_by": f"U0CLIENT{engagement_id}",
            "status": "resolved",
            "raised_at": (at := until - timedelta(days=30 * month)),
            "acknowledged_at": at + timedelta(hours=1),
            "resolved_at": at + timedelta(days=2),
        }
        for engagement_id in engagements
        for month in range(1, 13)
    ]
    rows.append(
        {
            **rows[0],
            "title": "Still open",
            "owner_user_id": owner,
            "status": "open",
            "raised_at": until - timedelta(days=1),
            "acknowledged_at": None,
            "resolved_at": None,
        }
    )
    with db.engine.begin() as conn:
        _insert(conn, Concern.__table__, rows)


def seed_weekly_updates(
    db: Database, engagements: list[int], *, team_id: str, author: str, until: datetime
) -> None:
    """A status update a week for a year on each engagement by `author`, each with two
    revisions (its latest reporting a KPI)."""
    table = StatusUpdate.__table__
    rows = [
        {
            "team_id": team_id,
            "engagement_id": engagement_id,
            "author_user_id": author,
            "rag": "green",
            "blocker_lines": [],
            "revision": 2,
            "submitted_at": (at := until - timedelta(weeks=week)),
            "updated_at": at,
        }
        for engagement_id in engagements
        for week in range(WEEKS, 0, -1)
    ]
    kpis = {"kpis": [{"kpi_id": 1, "value": 99.5, "outcome": "met"}]}
    with db.engine.begin() as conn:
        ids: list[int] = []
        for start in range(0, len(rows), CHUNK):
            statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            ids += conn.execute(statement, rows[start : start + CHUNK]).scalars()
        revisions = [
            {
                "team_id": team_id,
                "update_id": update_id,
                "revision": revision,
                "editor_user_id": author,
                "content": kpis if revision == 2 else {},
                "created_at": until,
            }
            for update_id in ids
            for revision in (1, 2)
        ]
        _insert(conn, UpdateRevision.__table__, revisions)
