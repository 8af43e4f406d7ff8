"""One person's data: `python -m bot person-export` writes everything stored about them (JSON,
or CSVs in a zip), `python -m bot forget-person` takes them out of every audience and erases
their text and identity while the figures stay as they were; both audited. Driven through
signed requests and the CLI against the real database."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta

from conftest import STAKEHOLDER, TEAM, VENDOR
from engine_flows import run_cli, schedule, tick
from flows import create_engagement
from sqlalchemy import String, select
from sqlmodel import SQLModel
from test_audit_chain import verify
from test_retention import feedback_at, update_at

from bot.domain import figures, person_data
from bot.entry.person_commands import forget_person
from bot.platform import clock
from storage.models import (
    AuditEvent,
    EngagementMember,
    Feedback,
    ScheduledJob,
    StatusUpdate,
    UpdateRevision,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_every_column_holding_a_slack_id_is_a_person_or_named_as_not_one():
    """A new column of a Slack id's length must be named: a person's (exported, forgotten) or
    not one (a channel, a message)."""
    people = {
        (model.__tablename__, column)
        for model, columns in {**person_data.PERSON_COLUMNS, **person_data.PERSON_LISTS}.items()
        for column in columns
    }
    people |= {
        (model.__tablename__, column)
        for model, columns in person_data.PERSON_LISTS.items()
        for column in columns
    }
    unknown = [
        f"{table.name}.{column.name}"
        for table in SQLModel.metadata.sorted_tables
        if not table.name.startswith("slack_")
        for column in table.columns
        if isinstance(column.type, String)
        and column.type.length == 32
        and (table.name, column.name) not in people
        and column.name not in person_data.NOT_PEOPLE
    ]
    assert unknown == []


def figures_of(cadence, engagement_id: int) -> tuple:
    with cadence.db.read_session() as session:
        inputs = figures.load(
            session, team_id=TEAM, engagement_ids=[engagement_id], now=NOW, weeks=8
        )
    one = figures.compute(inputs, now=NOW, weeks=8)[engagement_id]
    return (one.on_time, one.rag_trend, one.kpis, one.feedback, one.scorecard, one.concerns)


def story(cadence) -> int:
    """An engagement where VENDOR wrote two updates (one edited) and STAKEHOLDER gave named
    feedback; the engagement's id."""
    with clock.fixed_at(NOW - timedelta(days=30)):
        engagement = create_engagement(cadence, stakeholders=[STAKEHOLDER])
    update_at(cadence, NOW - timedelta(days=14), "Vic's private worry about the launch")
    update_at(cadence, NOW - timedelta(days=7), "Vic says all is well")
    feedback_at(cadence, NOW - timedelta(days=6), "Sam's comment")
    return engagement.id


def test_person_export_writes_everything_stored_about_one_person(
    cadence, monkeypatch, database_url, tmp_path
):
    story(cadence)
    out = tmp_path / "vic.json"
    status, _ = run_cli(monkeypatch, database_url, "person-export", TEAM, VENDOR, "--out", str(out))
    assert status == 0
    document = json.loads(out.read_text())
    assert (document["team_id"], document["user_id"]) == (TEAM, VENDOR)
    tables = document["tables"]
    assert sorted(u["summary"] for u in tables["statusupdate"]) == [
        "Vic says all is well",
        "Vic's private worry about the launch",
    ]
    assert [m["role"] for m in tables["engagementmember"]] == ["vendor"]
    assert "feedback" not in tables  # Sam's, not Vic's
    assert "xoxb" not in out.read_text()

    zipped = tmp_path / "sam.zip"
    status, _ = run_cli(
        monkeypatch, database_url, "person-export", TEAM, STAKEHOLDER, "--out", str(zipped)
    )
    assert status == 0
    with zipfile.ZipFile(zipped) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("feedback.csv").decode())))
        assert "about.json" in archive.namelist()
    assert [r["comment"] for r in rows] == ["Sam's comment"]

    with cadence.db.read_session() as session:
        exports = (
            session.execute(
                select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)
            )
            .scalars()
            .all()
        )
    assert [(e.actor_user_id, e.after["user"]) for e in exports] == [
        ("cli", VENDOR),
        ("cli", STAKEHOLDER),
    ]


def test_forget_person_erases_text_and_identity_and_the_figures_stay(
    cadence, monkeypatch, database_url
):
    engagement_id = story(cadence)
    # A weekly check-in asks VENDOR on Monday 9 November (nobody answers it): a prompt's job,
    # keyed by them, and a recipient row that counts in the on-time rate.
    schedule(cadence, NOW - timedelta(days=29))
    tick(cadence, monkeypatch, datetime(2026, 11, 9, 8, 0, tzinfo=UTC))
    tick(cadence, monkeypatch, datetime(2026, 11, 12, 8, 0, tzinfo=UTC))
    before = figures_of(cadence, engagement_id)
    assert before[0].counted >= 1, before[0]
    with cadence.db.read_session() as session:
        keys = session.execute(select(ScheduledJob.key)).scalars().all()
    assert [k for k in keys if VENDOR in k], keys

    # Asked to confirm, anything but the person's id keeps everything.
    out = io.StringIO()
    with redirect_stdout(out):
        refused = forget_person(cadence.services, TEAM, VENDOR, confirmed=False, ask=lambda _: "y")
    assert refused == 1 and "statusupdate: 2" in out.getvalue()
    assert exported(cadence, VENDOR)["statusupdate"]

    status, printed = run_cli(monkeypatch, database_url, "forget-person", TEAM, VENDOR, "--yes")
    assert status == 0, printed
    assert f"Forgot {VENDOR} in workspace {TEAM}" in printed

    # Nothing names them but the audit trail, whose chain still holds.
    assert set(exported(cadence, VENDOR)) <= {"auditevent"}
    assert verify(monkeypatch, database_url)[0] == 0
    with cadence.db.read_session() as session:
        updates = session.execute(select(StatusUpdate)).scalars().all()
        revisions = session.execute(select(UpdateRevision)).scalars().all()
        members = session.execute(select(EngagementMember.user_id)).scalars().all()
        feedback = session.execute(select(Feedback)).scalars().one()
        forgot = (
            session.execute(select(AuditEvent).where(AuditEvent.action == "forget")).scalars().one()
        )
    pseudonym = forgot.after["as"]
    assert VENDOR not in json.dumps(forgot.after) and pseudonym.startswith("UFORGOTTEN")
    assert {u.author_user_id for u in updates} == {pseudonym}
    assert {(u.summary, u.accomplishments, u.blockers, u.reason) for u in updates} == {
        ("", "", "", "")
    }
    assert {u.rag for u in updates} == {"amber"}  # what counts stays
    assert all(r.content["summary"] == "" and r.content["rag"] == "amber" for r in revisions)
    assert VENDOR not in members
    assert (feedback.author_user_id, feedback.comment) == (STAKEHOLDER, "Sam's comment")
    assert figures_of(cadence, engagement_id) == before
    with cadence.db.read_session() as session:
        keys = session.execute(select(ScheduledJob.key)).scalars().all()
    assert keys and not [k for k in keys if VENDOR in k]

    # No longer on the engagement: the update form does not open for them.
    opened = len(cadence.fake.calls_to("views.open"))
    cadence.sim.command("update acme-payments", user=VENDOR)
    assert len(cadence.fake.calls_to("views.open")) == opened


def exported(cadence, user_id: str) -> dict:
    with cadence.db.read_session() as session:
        return person_data.export(session, team_id=TEAM, user_id=user_id)
