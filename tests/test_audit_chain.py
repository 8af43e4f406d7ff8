"""The audit chain: every event linked to the one before it in its workspace, `python -m bot
audit verify` finding the first event edited, deleted or inserted outside Cadence (by raw SQL
on the real database), writers at once on PostgreSQL never forking it, and the migration
chaining the events recorded before it."""

from __future__ import annotations

import io
import itertools
import json
import threading
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from conftest import TEAM
from flows import create_engagement, open_form, submit
from sqlalchemy import text
from sqlmodel import select

from bot.domain import audit
from bot.entry.cli import main
from storage import migrate
from storage.audit_chain import hash_of
from storage.db import Database
from storage.models import AuditChainHead, AuditEvent

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def verify(monkeypatch, database_url: str, *args: str) -> tuple[int, str]:
    """`audit verify` needs only the database: no Slack setting is given."""
    for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(["audit", "verify", *args])
    return status, out.getvalue()


def events(db: Database, team_id: str = TEAM) -> list[AuditEvent]:
    with db.read_session() as session:
        query = select(AuditEvent).where(AuditEvent.team_id == team_id).order_by(AuditEvent.seq)
        return list(session.exec(query))


def record(db: Database, team_id: str, n: int, *, actor: str = "U1") -> None:
    with db.session() as session:
        audit.record(
            session=session, team_id=team_id, actor=actor, entity_type="engagement",
            entity_id=n, action="update", now=NOW + timedelta(minutes=n),
            before={"name": f"old {n}", "ratio": 0.1}, after={"name": f"new {n} — ✓"},
        )  # fmt: skip


def edited_engagement(cadence) -> None:
    """An engagement created and edited twice through Slack: three audit events or more."""
    create_engagement(cadence)
    for vendor in ("Globex Consulting GmbH", "Globex AG"):
        view = open_form(cadence, "engagement edit acme-payments")
        submit(cadence, view, {"vendor": vendor})


def test_events_recorded_through_slack_form_an_intact_chain(cadence, monkeypatch, database_url):
    edited_engagement(cadence)
    chain = events(cadence.db)
    assert len(chain) >= 3
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    assert chain[0].prev_hash == "" and all(
        later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(chain)
    )
    with cadence.db.read_session() as session:
        head = session.get(AuditChainHead, TEAM)
    assert (head.last_seq, head.last_hash) == (chain[-1].seq, chain[-1].hash)

    status, out = verify(monkeypatch, database_url)
    assert status == 0, out
    assert f"intact, {len(chain)} events" in out
    assert f"last hash {chain[-1].hash}" in out


def test_an_event_edited_by_sql_is_reported_at_its_id(cadence, monkeypatch, database_url):
    edited_engagement(cadence)
    second = events(cadence.db)[1]
    with cadence.db.begin() as conn:
        conn.execute(
            text("UPDATE auditevent SET actor_user_id = 'U0SOMEONE' WHERE id = :id"),
            {"id": second.id},
        )
    status, out = verify(monkeypatch, database_url, "--team", TEAM)
    assert status == 1
    assert f"BROKEN at audit event {second.id}: its content no longer matches" in out
    assert "intact" not in out


def test_a_deleted_event_is_reported_at_the_event_after_it(cadence, monkeypatch, database_url):
    edited_engagement(cadence)
    chain = events(cadence.db)
    with cadence.db.begin() as conn:
        conn.execute(text("DELETE FROM auditevent WHERE id = :id"), {"id": chain[1].id})
    status, out = verify(monkeypatch, database_url)
    assert status == 1
    assert f"BROKEN at audit event {chain[2].id}: link 2 before it were deleted" in out


def test_the_last_events_deleted_are_reported(cadence, monkeypatch, database_url):
    edited_engagement(cadence)
    chain = events(cadence.db)
    with cadence.db.begin() as conn:
        conn.execute(text("DELETE FROM auditevent WHERE id = :id"), {"id": chain[-1].id})
    status, out = verify(monkeypatch, database_url)
    assert status == 1
    assert f"BROKEN at audit event {chain[-2].id}" in out
    assert f"Cadence wrote up to link {chain[-1].seq}" in out


def test_an_event_inserted_outside_cadence_is_reported(cadence, monkeypatch, database_url):
    edited_engagement(cadence)
    with cadence.db.session() as session:  # not through audit.record: no link
        forged = AuditEvent(
            team_id=TEAM, actor_user_id="U0LEAD", entity_type="engagement", entity_id=1,
            action="update", before=None, after={"vendor": "x"}, at=NOW,
        )  # fmt: skip
        session.add(forged)
    status, out = verify(monkeypatch, database_url)
    assert status == 1
    assert f"BROKEN at audit event {forged.id}: it is in no chain" in out


def test_a_forged_link_that_replaces_an_event_is_reported(db, monkeypatch, database_url):
    """An event replaced by one claiming its place (its seq and a hash of its own content)
    no longer follows the hash of the one before."""
    for n in range(1, 4):
        record(db, "T1", n)
    chain = events(db, "T1")
    with db.session() as session:
        row = session.get(AuditEvent, chain[1].id)
        row.prev_hash = "0" * 64
        row.hash = hash_of(row)
        session.add(row)
    status, out = verify(monkeypatch, database_url, "--team", "T1")
    assert status == 1
    assert f"BROKEN at audit event {chain[1].id}: it does not follow the event before it" in out


def test_each_workspace_has_its_own_chain(db, monkeypatch, database_url):
    for n in range(1, 4):
        record(db, "T1", n)
        record(db, "T2", n)
    assert [e.seq for e in events(db, "T1")] == [1, 2, 3]
    assert [e.seq for e in events(db, "T2")] == [1, 2, 3]
    with db.begin() as conn:
        conn.execute(text("UPDATE auditevent SET after = NULL WHERE team_id = 'T2' AND seq = 3"))
    status, out = verify(monkeypatch, database_url)
    assert status == 1
    assert "T1: intact, 3 events" in out and "T2: BROKEN at audit event" in out
    status, out = verify(monkeypatch, database_url, "--team", "T1")
    assert status == 0 and "intact, 3 events" in out


def test_a_transaction_rolled_back_leaves_no_link(db, monkeypatch, database_url):
    record(db, "T1", 1)
    with pytest.raises(RuntimeError), db.session() as session:
        audit.record(
            session=session, team_id="T1", actor="U1", entity_type="engagement", entity_id=2,
            action="update", now=NOW,
        )  # fmt: skip
        raise RuntimeError("the change failed")
    record(db, "T1", 3)
    assert [e.entity_id for e in events(db, "T1")] == [1, 3]
    assert verify(monkeypatch, database_url)[0] == 0


def test_an_event_in_a_savepoint_rolled_back_leaves_no_link(db, monkeypatch, database_url):
    with db.session() as session:
        audit.record(
            session=session, team_id="T1", actor="U1", entity_type="engagement", entity_id=1,
            action="update", now=NOW,
        )  # fmt: skip
        with pytest.raises(RuntimeError), session.begin_nested():
            audit.record(
                session=session, team_id="T1", actor="U1", entity_type="engagement",
                entity_id=2, action="update", now=NOW,
            )  # fmt: skip
            raise RuntimeError("this part failed")
        with session.begin_nested():
            audit.record(
                session=session, team_id="T1", actor="U1", entity_type="engagement",
                entity_id=3, action="update", now=NOW,
            )  # fmt: skip
    assert [(e.entity_id, e.seq) for e in events(db, "T1")] == [(1, 1), (3, 2)]
    assert verify(monkeypatch, database_url)[0] == 0


@pytest.mark.postgres
def test_writers_at_once_on_postgresql_never_fork_the_chain(postgres_migrated_url, monkeypatch):
    """Eight threads, each with its own connection, record 15 events each in one workspace
    at the same moment: the chain is one line of 120 links, and verifies."""
    db = Database.from_url(postgres_migrated_url)
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            start.wait()
            for i in range(15):
                record(db, "T1", k * 100 + i, actor=f"U{k}")
        except BaseException as e:  # reported below
            failures.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    chain = events(db, "T1")
    db.dispose()
    assert [e.seq for e in chain] == list(range(1, 121))
    status, out = verify(monkeypatch, postgres_migrated_url)
    assert status == 0 and "intact, 120 events" in out


def test_the_migration_chains_the_events_recorded_before_it(database_url, monkeypatch):
    """Events of two workspaces recorded under revision 0021 are chained in id order."""
    config = migrate.alembic_config(database_url)
    command.upgrade(config, "0021")
    db = Database.from_url(database_url)
    with db.begin() as conn:
        for n, team in enumerate(["T1", "T2", "T1", "T1", "T2"], start=1):
            conn.execute(
                text(
                    "INSERT INTO auditevent (team_id, actor_user_id, entity_type, entity_id, "
                    "action, before, after, at) VALUES (:team, 'U1', 'engagement', :n, "
                    "'update', NULL, :after, :at)"
                ),
                {"team": team, "n": n, "after": json.dumps({"name": "x", "n": n}),
                 "at": datetime(2026, 11, 1, 9, n)},
            )  # fmt: skip
    command.upgrade(config, "head")
    assert [e.entity_id for e in events(db, "T1")] == [1, 3, 4]
    assert [e.seq for e in events(db, "T2")] == [1, 2]
    db.dispose()
    status, out = verify(monkeypatch, database_url)
    assert status == 0 and "intact, 5 events" in out
    record(Database.from_url(database_url), "T1", 6)  # Cadence carries on from the end
    status, out = verify(monkeypatch, database_url, "--team", "T1")
    assert status == 0 and "intact, 4 events" in out
