"""The job and check-in tables hold what they say: a job's failed lookups in a column of their
own (not read back from its error text), only known statuses (CHECK constraints, on SQLite
and PostgreSQL), and migration 0016 brings existing rows along."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from engine_flows import jobs_of, tick
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError
from test_faults import MONDAY, set_up_weekly_checkins, vendors

from bot.engine import delivery
from storage import migrate
from storage.jobs import JobStatus
from storage.statuses import CheckInStatus, RecipientStatus

# --- failed lookups ----------------------------------------------------------------------------


def _prompt(cadence, vendor: str) -> Any:
    (job,) = [j for j in jobs_of(cadence, "prompt") if j.user_id == vendor]
    return job


def test_failed_lookups_are_counted_in_their_own_column(cadence, monkeypatch):
    """Each lookup Slack does not answer adds one to the job's column; the job gives up at
    MAX_LOOKUPS by that count, whatever its error text says."""
    set_up_weekly_checkins(cadence, people=1)
    (vendor,) = vendors(1)
    cadence.fake.drop("chat.postMessage", reaches_slack=True)
    cadence.fake.drop("conversations.history", times=4)
    at = MONDAY + timedelta(hours=2)
    tick(cadence, monkeypatch, at)
    assert _prompt(cadence, vendor).lookups_failed == 0
    for lookup in (1, 2):
        at += timedelta(hours=1)
        tick(cadence, monkeypatch, at)
        job = _prompt(cadence, vendor)
        assert (job.status, job.lookups_failed) == ("pending", lookup), job.error
    # The count is the column's: one failure short of the limit, whatever the text says.
    with cadence.db.session() as session:
        session.execute(
            text("UPDATE scheduledjob SET lookups_failed = :n WHERE id = :id"),
            {"n": delivery.MAX_LOOKUPS - 1, "id": job.id},
        )
    at += timedelta(hours=1)
    tick(cadence, monkeypatch, at)
    job = _prompt(cadence, vendor)
    assert job.status == "failed", job.error
    assert job.lookups_failed == delivery.MAX_LOOKUPS
    assert f"gave up after {delivery.MAX_LOOKUPS} failed lookups" in job.error


# --- statuses ----------------------------------------------------------------------------------


def _refused(db, statement: str, **params: Any) -> bool:
    try:
        with db.session() as session:
            session.execute(text(statement), params)
    except IntegrityError:
        return True
    return False


def test_status_columns_take_only_known_statuses(cadence, monkeypatch):
    set_up_weekly_checkins(cadence, people=1)
    tick(cadence, monkeypatch, MONDAY + timedelta(hours=2))  # a check-in, its recipient, jobs
    db = cadence.db
    for table, statuses in (
        ("scheduledjob", JobStatus),
        ("checkin", CheckInStatus),
        ("checkinrecipient", RecipientStatus),
    ):
        first = f"(SELECT MIN(id) FROM {table})"
        assert _refused(db, f"UPDATE {table} SET status = 'bogus' WHERE id = {first}"), table
        assert _refused(db, f"UPDATE {table} SET status = '' WHERE id = {first}"), table
        for status in statuses:
            assert not _refused(
                db, f"UPDATE {table} SET status = :s WHERE id = {first}", s=str(status)
            ), (table, status)


# --- migration 0016 ----------------------------------------------------------------------------


def _insert_old_rows(conn, at) -> None:
    """An engagement, a cadence, a check-in with a recipient and three jobs, as 0015 had them."""
    engagement = {
        "id": 1,
        "team_id": "T1",
        "handle": "acme",
        "name": "Acme",
        "vendor": "Globex",
        "channel_id": "C1",
        "timezone": "UTC",
        "created_by": "U1",
        "created_at": at,
        "updated_at": at,
    }
    _insert(conn, "engagement", engagement)
    _insert(
        conn,
        "cadence",
        {
            "id": 1,
            "team_id": "T1",
            "engagement_id": 1,
            "created_by": "U1",
            "created_at": at,
            "updated_at": at,
        },
    )
    _insert(
        conn,
        "checkin",
        {
            "id": 1,
            "team_id": "T1",
            "cadence_id": 1,
            "engagement_id": 1,
            "occurrence_key": "k",
            "scheduled_for": at,
            "window_closes_at": at,
            "status": "overdue",
            "created_at": at,
        },
    )
    _insert(
        conn,
        "checkinrecipient",
        {"id": 1, "team_id": "T1", "checkin_id": 1, "user_id": "U2", "status": "pending"},
    )
    for job_id, error in (
        (1, "outcome unknown: lookup 7 failed: lookup: ratelimited"),
        (2, "outcome unknown: taken over from w1"),
        (3, None),
    ):
        _insert(
            conn,
            "scheduledjob",
            {
                "id": job_id,
                "team_id": "T1",
                "key": f"prompt:checkin=1:user=U{job_id}",
                "kind": "prompt",
                "due_at": at,
                "checkin_id": 1,
                "user_id": f"U{job_id}",
                "status": "pending",
                "error": error,
                "created_at": at,
                "updated_at": at,
            },
        )


def _insert(conn, table: str, values: dict[str, Any]) -> None:
    """One row with every column `values` leaves out at its model's default, as 0015 had it."""
    columns = {c["name"]: c for c in inspect(conn).get_columns(table)}
    row = dict(values)
    for name, column in columns.items():
        if name in row or column["nullable"] or name == "id":
            continue
        kind = str(column["type"]).upper()
        if "BOOL" in kind:
            row[name] = False
        elif "INT" in kind:
            row[name] = 0
        elif "JSON" in kind:
            row[name] = "[]"
        elif "TIME" in kind or "DATE" in kind:
            row[name] = values.get("created_at") or values.get("due_at")
        else:
            row[name] = ""
    names = ", ".join(row)
    conn.execute(
        text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in row)})"), row
    )


def test_migration_0016_moves_lookup_counts_and_keeps_every_row(database_url: str):
    """Upgrading from 0015 keeps the check-in and everything that hangs from it (SQLite
    rebuilds the tables to add the CHECKs: with its foreign keys on, that would delete them),
    moves each count out of the error text into the column, and keeps the claim's partial
    indexes; a downgrade goes back."""
    from alembic import command

    config = migrate.alembic_config(database_url)
    command.upgrade(config, "0015")
    engine = create_engine(database_url)
    at = MONDAY.replace(tzinfo=None) if database_url.startswith("sqlite") else MONDAY
    try:
        with engine.begin() as conn:
            _insert_old_rows(conn, at)
        command.upgrade(config, "0016")
        with engine.connect() as conn:
            counts = dict(conn.execute(text("SELECT id, lookups_failed FROM scheduledjob")).all())
            assert counts == {1: 7, 2: 0, 3: 0}
            assert conn.execute(text("SELECT COUNT(*) FROM checkinrecipient")).scalar() == 1
            assert conn.execute(text("SELECT status FROM checkin")).scalar() == "overdue"
            indexes = {i["name"] for i in inspect(conn).get_indexes("scheduledjob")}
            assert {"ix_scheduledjob_pending_due", "ix_scheduledjob_claimed_lease"} <= indexes
            if database_url.startswith("sqlite"):
                (sql,) = conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = 'ix_scheduledjob_pending_due'")
                ).one()
                assert "WHERE status = 'pending'" in sql
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE checkin SET status = 'bogus'"))
        command.downgrade(config, "0015")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM scheduledjob")).scalar() == 3
            assert conn.execute(text("SELECT COUNT(*) FROM checkinrecipient")).scalar() == 1
    finally:
        engine.dispose()
