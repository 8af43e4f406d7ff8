"""Backup and restore rehearsed (issue 21, item 5), on SQLite and PostgreSQL.

A backup is taken mid-week through `python -m bot backup`, after Monday's prompts went out;
the original deployment goes on (Tuesday's reminders and another cadence's prompts go out),
then stops. The backup is restored into a new database, `python -m bot restore-mark` runs on
it, and the passes that follow on the restored database send nothing twice (what went out
after the backup is found in Slack by its job metadata) and lose nothing due after it.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest
from conftest import EXTERNAL, LEAD, LEAD2, VENDOR
from engine_flows import dms_to, run_cli, schedule, tick, utc
from flows import create_engagement, text_of
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.platform import clock
from storage import jobs
from storage.db import Database
from storage.models import ScheduledJob

CREATED = utc(2026, 11, 26, 10, 0)
MONDAY_PROMPTS = utc(2026, 11, 30, 8, 0)  # 09:00 in Berlin
BACKUP_AT = utc(2026, 11, 30, 12, 0)
TUESDAY = utc(2026, 12, 1, 8, 0)  # the Monday window's reminder; the Tuesday cadence's prompts
WINDOW_CLOSES = utc(2026, 12, 2, 8, 0)  # the Monday window's overdue alert to the lead
RESTORED_AT = utc(2026, 12, 2, 10, 0)
ESCALATION = utc(2026, 12, 3, 8, 0)


def restore(database_url: str, backup: Path, tmp_path: Path, request) -> str:
    """The backup restored into a new, empty database: its URL (what docs/operations.md says
    to run: a copy of the SQLite file; pg_restore into a new PostgreSQL database)."""
    if make_url(database_url).get_backend_name() == "sqlite":
        target = tmp_path / "restored.db"
        shutil.copy(backup, target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("postgres_url")
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run(
        ["pg_restore", "--no-owner", f"--dbname={dsn}", str(backup)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return url


def posted_by_job(fake) -> Counter:
    """How many times each job's message is in Slack (a post that Slack took, by the job its
    metadata names, and where)."""
    return Counter(
        (c.args["metadata"]["event_payload"]["job"], c.args.get("channel"))
        for c in fake.calls_to("chat.postMessage")
        if c.ok and (c.args.get("metadata") or {}).get("event_type") == "cadence_job"
    )


@pytest.fixture
def pg_tools(database_url: str) -> None:
    if not database_url.startswith("sqlite") and not shutil.which("pg_dump"):
        pytest.skip(
            "pg_dump and pg_restore are not on the PATH (apt-get install postgresql-client)"
        )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("contacts", "original_ran_until"),
    [
        # The original was lost on Tuesday: Wednesday's overdue alert was never sent, and the
        # restored database sends it (its lookup finds nothing).
        pytest.param([VENDOR], (TUESDAY,), id="overdue-never-sent"),
        # The original ran until Wednesday: its overdue alert (planned by a database job that
        # runs again after the restore) is found, not sent again. A prompt's DM to a Slack
        # Connect person is refused again on the restored database: the mention in the
        # channel it plans anew had gone out too, and is found as well.
        pytest.param(
            [VENDOR, EXTERNAL], (TUESDAY, WINDOW_CLOSES), id="overdue-sent-refused-dm-falls-back"
        ),
    ],
)
def test_a_restored_backup_sends_nothing_twice_and_loses_nothing_due_after_it(
    cadence, monkeypatch, tmp_path, request, pg_tools, contacts, original_ran_until
):
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=contacts)
    schedule(cadence, CREATED)  # Mondays 09:00: reminder Tuesday, closes Wednesday, escalates
    schedule(cadence, CREATED, rule_weekdays=["1"], reminder_hours=None, escalation_hours=None)
    tick(cadence, monkeypatch, MONDAY_PROMPTS)
    assert len(dms_to(cadence, VENDOR)) == 1

    # Mid-week, while the deployment runs: the backup.
    backup = tmp_path / "cadence-backup"
    with clock.fixed_at(BACKUP_AT):
        status, out = run_cli(
            monkeypatch, cadence.services.settings.database_url, "backup", str(backup)
        )
    assert status == 0 and "backed up" in out, out
    before_backup = posted_by_job(cadence.fake)

    # The original deployment goes on (Tuesday's reminder and the Tuesday cadence's prompt,
    # perhaps Wednesday's overdue alert), then it is lost.
    for moment in original_ran_until:
        tick(cadence, monkeypatch, moment)
    after_backup = posted_by_job(cadence.fake) - before_backup
    assert {key.split(":")[0] for key, _ in after_backup} >= {"reminder", "prompt"}
    overdue_sent = [m for m in dms_to(cadence, LEAD) if "Overdue" in text_of(m)]
    assert len(overdue_sent) == (WINDOW_CLOSES in original_ran_until)

    # The backup is restored into a new database, marked, and the scheduler starts on it.
    restored = restore(cadence.services.settings.database_url, backup, tmp_path, request)
    with clock.fixed_at(RESTORED_AT):
        status, out = run_cli(
            monkeypatch, restored, "restore-mark", "--now", RESTORED_AT.isoformat()
        )
    assert status == 0 and "will be looked for in Slack" in out, out
    db = Database.from_url(restored)
    try:
        with db.read_session() as session:
            marked = session.exec(
                select(ScheduledJob).where(ScheduledJob.error == jobs.RESTORED)
            ).all()
        # Due since the backup: the reminders, the overdue job, Tuesday's prompts planned again.
        assert {j.kind for j in marked} >= {"reminder", "overdue", "prompt"}
    finally:
        db.dispose()

    sent_so_far = posted_by_job(cadence.fake)
    lines = tick(cadence, monkeypatch, RESTORED_AT, DATABASE_URL=restored)
    # Nothing the original sent went out again: each was found by its metadata.
    assert sum("was already in Slack" in line for line in lines) == len(after_backup), lines
    # What it had not sent, due since the backup, goes out now: the overdue alert.
    assert len([m for m in dms_to(cadence, LEAD) if "Overdue" in text_of(m)]) == 1
    new = posted_by_job(cadence.fake) - sent_so_far
    lost_with_the_original = set() if overdue_sent else {"overdue-alert"}
    assert {key.split(":")[0] for key, _ in new} == lost_with_the_original, new

    # What falls due after the restore goes out, once: the escalation.
    for moment in (ESCALATION, ESCALATION):
        tick(cadence, monkeypatch, moment, DATABASE_URL=restored)
    assert len([m for m in dms_to(cadence, LEAD2) if "Escalation" in text_of(m)]) == 1
    twice = {key: n for key, n in posted_by_job(cadence.fake).items() if n > 1}
    assert twice == {}


def test_backup_of_a_running_sqlite_database_is_whole_and_never_overwrites(
    sqlite_migrated_url, tmp_path, monkeypatch
):
    """The online backup API copies a database in WAL mode, open in this process, into a
    file that holds everything by itself; it never overwrites a file."""
    db = Database.from_url(sqlite_migrated_url)
    with db.session() as session:
        jobs.plan(
            session,
            team_id="T1",
            key="message:backup-test",
            kind="message",
            due_at=CREATED,
            now=CREATED,
        )
    target = tmp_path / "copy.db"
    status, out = run_cli(monkeypatch, sqlite_migrated_url, "backup", str(target))
    db.dispose()
    assert status == 0, out
    assert not (tmp_path / "copy.db-wal").exists()
    with closing(sqlite3.connect(target)) as copy:
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert copy.execute("SELECT key FROM scheduledjob").fetchall() == [("message:backup-test",)]
    status, _ = run_cli(monkeypatch, sqlite_migrated_url, "backup", str(target))
    assert status == 2  # exists: refused


def test_backup_of_a_sqlite_file_that_does_not_exist_creates_nothing(tmp_path, monkeypatch):
    missing = tmp_path / "missing.db"
    status, _ = run_cli(monkeypatch, f"sqlite:///{missing}", "backup", str(tmp_path / "b.db"))
    assert status == 3
    assert not missing.exists() and not (tmp_path / "b.db").exists()


@pytest.mark.postgres
def test_without_pg_dump_backup_says_the_command_and_never_the_password(
    postgres_migrated_url, tmp_path, monkeypatch, capsys
):
    # The test server trusts local connections, so a password in the URL is accepted unread.
    url = make_url(postgres_migrated_url).set(password="s3cret-pw")
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump there
    status, _ = run_cli(
        monkeypatch, url.render_as_string(hide_password=False), "backup", str(tmp_path / "b")
    )
    said = capsys.readouterr().err
    assert status == 2, said
    assert "pg_dump --format=custom" in said and "s3cret-pw" not in said
    assert not (tmp_path / "b").exists()
