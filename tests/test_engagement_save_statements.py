"""Saving the engagement form writes only what changed, and says what it wrote.

Submitting the form is acknowledged only once it is saved, and Bolt looks for the
acknowledgement every 10 ms: each statement before it is felt. An edit of the vendor's name
used to send 21 (the people and SLAs deleted and inserted again, the details read twice);
the edit's statements are counted here, through a signed submission, on the thread that
saved it (what the outbox sends afterwards on its own thread is not before the ack)."""

from __future__ import annotations

import threading
from collections import defaultdict

from conftest import LEAD, LEAD2, SHARED, STAKEHOLDER, TEAM, VENDOR
from flows import create_engagement, open_form, submit
from sqlalchemy import event
from sqlmodel import select

from bot.domain import engagements
from storage.models import AuditEvent, ConcernSla, EngagementMember, KpiDefinition

ROW_STATEMENTS = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}
MOST_FOR_A_VENDOR_EDIT = 11  # the request's key, the details (4), the row, notice, Home, audit (3: the event, its chain head locked and moved)
CHILDREN = ("engagementmember", "kpidefinition", "concernsla")


def saved_with(cadence, values: dict) -> list[str]:
    """Submit the edit form with `values`; the statements the thread that saved it sent."""
    view = open_form(cadence, "engagement edit acme-payments")
    by_thread: dict[int, list[str]] = defaultdict(list)

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        first = statement.lstrip().split(None, 1)[0].upper()
        if first in ROW_STATEMENTS and "set_config(" not in statement:  # PostgreSQL's limits
            by_thread[threading.get_ident()].append(" ".join(statement.split()))

    event.listen(cadence.db.engine, "before_cursor_execute", record)
    try:
        submit(cadence, view, values)
    finally:
        event.remove(cadence.db.engine, "before_cursor_execute", record)
    (saving,) = [
        sent for sent in by_thread.values() if any(s.startswith("UPDATE engagement ") for s in sent)
    ]
    return saving


def test_a_vendor_edit_writes_the_engagement_row_and_no_child_row(cadence):
    engagement = create_engagement(cadence)
    sent = saved_with(cadence, {"vendor": "Globex Consulting GmbH"})

    assert len(sent) <= MOST_FOR_A_VENDOR_EDIT, "\n".join(sent)
    written = [s for s in sent if not s.startswith("SELECT")]
    assert not [s for s in written if any(table in s.split("(")[0] for table in CHILDREN)]
    with cadence.db.read_session() as session:
        details = engagements.get(session=session, team_id=TEAM, engagement_id=engagement.id)
        update = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert details.engagement.vendor == "Globex Consulting GmbH"
    assert update.before == {"vendor": "Globex Consulting"}
    assert update.after == {"vendor": "Globex Consulting GmbH"}


def test_what_an_edit_records_as_after_is_what_is_read_back(cadence):
    """People reordered, added and removed, one SLA and one KPI changed: the audit's "after"
    (built from what was written) is what a fresh read finds, and only changed rows moved."""
    engagement = create_engagement(cadence)
    with cadence.db.read_session() as session:
        members_before = {(m.role, m.user_id): m.id for m in session.exec(select(EngagementMember))}
        slas_before = {s.severity: s.id for s in session.exec(select(ConcernSla))}
    sent = saved_with(
        cadence,
        {
            "leads": [LEAD2, LEAD],  # reordered: the leads are written again in this order
            "vendor_contacts": [VENDOR, STAKEHOLDER],  # one kept, one taken off, one added
            "stakeholders": [],
            "kpis": "Uptime (%) >= 99.95\nMean time to resolve (hours) <= 8",
            "sla_high": "12",
        },
    )
    assert any(s.startswith("DELETE FROM engagementmember") for s in sent)

    with cadence.db.read_session() as session:
        details = engagements.get(session=session, team_id=TEAM, engagement_id=engagement.id)
        update = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        members = {(m.role, m.user_id): m.id for m in session.exec(select(EngagementMember))}
        slas = {s.severity: s.id for s in session.exec(select(ConcernSla))}
        kpis = session.exec(select(KpiDefinition).order_by(KpiDefinition.id)).all()
    read_back = details.snapshot()
    assert update.after == {key: read_back[key] for key in update.after}
    assert set(update.after) == {"leads", "vendor_contacts", "stakeholders", "kpis", "sla_hours"}
    assert details.leads == (LEAD2, LEAD)
    assert details.vendor_contacts == (VENDOR, STAKEHOLDER)
    assert details.stakeholders == ()
    assert details.sla_hours["high"] == 12
    # Kept rows keep their ids; only the changed severity's SLA row is new.
    assert members[("vendor", VENDOR)] == members_before[("vendor", VENDOR)]
    assert {s: i for s, i in slas.items() if s != "high"} == {
        s: i for s, i in slas_before.items() if s != "high"
    }
    assert slas["high"] != slas_before["high"]
    assert [(k.name, k.target, k.retired_at) for k in kpis] == [
        ("Uptime", 99.95, None),
        ("Mean time to resolve", 8.0, None),
    ]


def test_an_edit_that_moves_the_engagement_to_another_channel_greets_it(cadence):
    create_engagement(cadence)
    saved_with(cadence, {"channel": SHARED})
    cadence.wait_until(lambda: cadence.fake.messages(SHARED), what="the welcome in the new channel")
