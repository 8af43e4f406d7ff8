"""The loader reads its big SELECTs as Core rows and only a revision's "kpis" in SQL
(`figures.load`): a seeded comparison with what the ORM instances of the same rows say.

Why: the rows used to be built from ORM objects (and a revision's whole content parsed in
Python). The reading changed for speed; every field must come out as the ORM would give it, on
SQLite and PostgreSQL alike, whatever a revision's content holds (odd floats, missing keys,
no KPIs at all, text the database escapes).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from engine_flows import utc
from sqlmodel import select

from bot.domain import figures
from bot.domain.deliverables import due_moment
from storage.models import (
    AssuranceItem,
    Concern,
    Deliverable,
    Engagement,
    KpiDefinition,
    StatusUpdate,
    UpdateRevision,
)

NOW = utc(2026, 12, 28, 12, 0)
WEEKS = 8
TEAM = "T0LOAD"
ZONES = ("UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata")
STATUSES = ("open", "acknowledged", "reopened", "resolved")
ODD_VALUES = (0.1 + 0.2, 1e-7, 123456789.12345678, -0.0, 1e300, 3, -17, 99.95)


def _moment(rng: random.Random):
    return NOW - timedelta(minutes=rng.randrange(0, 12 * 7 * 24 * 60))


def _kpi_content(rng: random.Random, kpi_ids: list[int]) -> dict:
    """A revision's content as the domain writes it, with the odd cases the reading must keep:
    floats that lose digits when printed short, ints, a missing value, no outcome, extra keys."""
    if rng.random() < 0.1:
        return {"rag": "green", "summary": "no KPIs at all"}
    kpis = []
    for kpi_id in kpi_ids:
        entry = {"kpi_id": kpi_id, "value": rng.choice((*ODD_VALUES, rng.gauss(50, 30)))}
        if rng.random() < 0.1:
            entry["value"] = None
        if rng.random() < 0.7:
            entry |= {"target": rng.choice((99.9, 4, None)), "tolerance": rng.choice((1.5, None))}
            entry |= {"higher_is_better": rng.random() < 0.5, "note": "naïve “quotes” \\ 🚀"}
        if rng.random() < 0.5:
            entry["outcome"] = rng.choice(("met", "within", "missed"))
        else:
            entry["met_target"] = rng.random() < 0.5
        kpis.append(entry)
    return {"rag": "amber", "summary": 'Ünïcode and "quotes"', "kpis": kpis}


def _seed(db, rng: random.Random, count: int) -> list[int]:
    ids = []
    with db.session() as session:
        for n in range(count):
            created = NOW - timedelta(weeks=20)
            e = Engagement(
                team_id=TEAM,
                name=f"E{n}",
                handle=f"e{n}",
                vendor="V",
                channel_id="C1",
                timezone=rng.choice(ZONES),
                created_by="U1",
                created_at=created,
                updated_at=created,
            )
            session.add(e)
            session.flush()
            ids.append(e.id)
            kpis = [
                KpiDefinition(
                    team_id=TEAM,
                    engagement_id=e.id,
                    name=f"K{k}",
                    unit=rng.choice(("%", "h", "")),
                    target=rng.choice((99.9, 4.0, 0.1 + 0.2)),
                    tolerance=rng.choice((None, 1.5)),
                    higher_is_better=rng.random() < 0.5,
                    position=rng.randrange(3),
                    retired_at=rng.choice(
                        (None, None, NOW - timedelta(days=3), NOW + timedelta(1))
                    ),
                )
                for k in range(rng.randrange(0, 4))
            ]
            session.add_all(kpis)
            session.flush()
            for _ in range(rng.randrange(0, 12)):
                at = _moment(rng)
                revisions = rng.randrange(1, 3)
                u = StatusUpdate(
                    team_id=TEAM,
                    engagement_id=e.id,
                    author_user_id="U2",
                    rag=rng.choice(("green", "amber", "red")),
                    revision=revisions,
                    submitted_at=at,
                    updated_at=at,
                )
                session.add(u)
                session.flush()
                for revision in range(1, revisions + 1):
                    session.add(
                        UpdateRevision(
                            team_id=TEAM,
                            update_id=u.id,
                            revision=revision,
                            editor_user_id="U2",
                            content=_kpi_content(rng, [k.id for k in kpis]),
                            created_at=at,
                        )
                    )
            for _ in range(rng.randrange(0, 6)):
                raised = _moment(rng)
                status = rng.choice(STATUSES)
                later = raised + timedelta(hours=rng.randrange(1, 400))
                session.add(
                    Concern(
                        team_id=TEAM,
                        engagement_id=e.id,
                        title=f"Concern “{n}”",
                        severity=rng.choice(("critical", "high", "medium", "low")),
                        category=rng.choice(("security", "other")),
                        raised_by="U1",
                        status=status,
                        raised_at=raised,
                        acknowledged_at=later if status != "open" else None,
                        resolved_at=later if status == "resolved" else None,
                        acknowledge_due_at=rng.choice((None, later)),
                        resolve_due_at=rng.choice((None, later + timedelta(days=2))),
                    )
                )
            for _ in range(rng.randrange(0, 4)):
                first = NOW.date() + timedelta(days=rng.randrange(-40, 20))
                due = first + timedelta(days=rng.randrange(0, 9))
                status = rng.choice(
                    ("planned", "in_progress", "submitted", "accepted", "cancelled")
                )
                at = _moment(rng)
                session.add(
                    Deliverable(
                        team_id=TEAM,
                        engagement_id=e.id,
                        title="Runbook",
                        due_on=due,
                        due_at=due_moment(due, e.timezone),
                        original_due_on=first,
                        owner_user_id="U2",
                        acceptors=[],
                        created_by="U1",
                        created_at=at,
                        updated_at=at,
                        status=status,
                        slip_count=rng.randrange(3),
                        days_slipped=rng.randrange(9),
                        rework_count=rng.randrange(2),
                        submitted_at=at if status in ("submitted", "accepted") else None,
                        accepted_at=at if status == "accepted" else None,
                        cancelled_at=at if status == "cancelled" else None,
                    )
                )
            for _ in range(rng.randrange(0, 4)):
                at = _moment(rng)
                session.add(
                    AssuranceItem(
                        team_id=TEAM,
                        engagement_id=e.id,
                        type_key="soc2",
                        title="SOC 2 report",
                        required=rng.random() < 0.5,
                        status=rng.choice(
                            ("requested", "received", "accepted", "rejected", "expired", "waived")
                        ),
                        owner_user_id="U2",
                        reviewers=[],
                        created_by="U1",
                        created_at=at,
                        updated_at=at,
                        requested_at=at,
                        valid_until=rng.choice((None, date(2027, 1, 5), date(2026, 12, 1))),
                        reviewed_at=rng.choice((None, at)),
                    )
                )
    return ids


def test_the_loader_reads_every_field_as_the_orm_instances_of_the_same_rows_say(db):
    rng = random.Random(23)
    ids = _seed(db, rng, 25)
    with db.read_session() as session:
        loaded = figures.load(session, team_id=TEAM, now=NOW, weeks=WEEKS)
        assert sorted(loaded) == ids
        checked = dict.fromkeys(("updates", "kpis", "concerns", "deliverables", "assurance"), 0)
        for eid, inputs in loaded.items():
            engagement = session.get(Engagement, eid)
            assert (inputs.name, inputs.handle) == (engagement.name, engagement.handle)
            assert inputs.timezone == engagement.timezone
            for u in inputs.updates:  # the latest revision's KPIs, as its whole content says
                update = session.get(StatusUpdate, u.update_id)
                revision = session.exec(
                    select(UpdateRevision)
                    .where(UpdateRevision.update_id == update.id)
                    .where(UpdateRevision.revision == update.revision)
                ).one()
                assert (u.rag, u.submitted_at) == (update.rag, update.submitted_at)
                assert u.kpis == figures.kpi_reports(revision.content)
                checked["updates"] += 1
            for k in inputs.kpis:
                d = session.get(KpiDefinition, k.kpi_id)
                assert k == figures.Kpi(
                    d.id, d.name, d.unit, d.target, d.tolerance, d.higher_is_better, d.position
                )
                checked["kpis"] += 1
            for c in inputs.concerns:
                o = session.get(Concern, c.concern_id)
                assert c == figures.ConcernRow(
                    o.id,
                    o.severity,
                    o.status,
                    o.raised_at,
                    o.acknowledged_at,
                    o.resolved_at,
                    o.acknowledge_due_at,
                    o.resolve_due_at,
                    o.title,
                    o.category,
                )
                checked["concerns"] += 1
            for row in inputs.deliverables:
                d = session.get(Deliverable, row.deliverable_id)
                assert row == figures.DeliverableRow(
                    d.id,
                    d.title,
                    d.status,
                    d.created_at,
                    d.due_at,
                    due_moment(d.original_due_on, engagement.timezone),
                    d.slip_count,
                    d.days_slipped,
                    d.rework_count,
                    d.submitted_at,
                    d.accepted_at,
                    d.cancelled_at,
                )
                checked["deliverables"] += 1
            for row in inputs.assurance:
                a = session.get(AssuranceItem, row.item_id)
                assert row == figures.AssuranceRow(
                    a.id,
                    a.type_key,
                    a.title,
                    a.status,
                    a.required,
                    a.valid_until,
                    a.created_at,
                    a.reviewed_at,
                )
                checked["assurance"] += 1
    assert all(checked.values()), checked  # the seed reached every kind of row


def test_the_loader_sees_what_its_session_has_not_written_yet(db):
    # An ORM query flushes the session first; the Core reads must see the same.
    [eid] = _seed(db, random.Random(7), 1)
    with db.session() as session:
        session.add(
            Concern(
                team_id=TEAM,
                engagement_id=eid,
                title="Unflushed",
                severity="high",
                category="other",
                raised_by="U1",
                status="open",
                raised_at=NOW - timedelta(1),
            )
        )
        loaded = figures.load(session, team_id=TEAM, now=NOW, weeks=WEEKS)
    assert "Unflushed" in [c.title for c in loaded[eid].concerns]


def test_the_loader_builds_its_statements_once_and_binds_each_loads_values(db):
    """Building the loader's SELECTs cost more CPU than running them (a Home tab loads its
    figures after every change that shows there): they are built once, and each load binds
    its own workspace, engagements and moments. Two loads of different engagements at
    different moments run the very same statement objects, each seeing only its own rows."""
    from sqlalchemy import event

    ids = _seed(db, random.Random(11), 4)
    ran: list[list[int]] = []

    def seen(_conn, clauseelement, _multiparams, _params, _options) -> None:
        ran[-1].append(id(clauseelement))

    event.listen(db.engine, "before_execute", seen)
    try:
        loads = []
        for some, at in ((ids[:1], NOW), (ids[1:], NOW - timedelta(days=30))):
            ran.append([])
            with db.read_session() as session:
                loads.append(
                    figures.load(session, team_id=TEAM, engagement_ids=some, now=at, weeks=WEEKS)
                )
    finally:
        event.remove(db.engine, "before_execute", seen)
    assert ran[0] == ran[1] and len(ran[0]) >= 10
    assert sorted(loads[0]) == ids[:1] and sorted(loads[1]) == ids[1:]
    with db.read_session() as session:  # the same rows as a load of those alone, built afresh
        figures._STATEMENTS.clear()
        again = figures.load(session, team_id=TEAM, engagement_ids=ids[1:], now=NOW - timedelta(days=30), weeks=WEEKS)  # fmt: skip
    assert again == loads[1]
