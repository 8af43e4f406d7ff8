"""A due cadence is planned even while another transaction writes a row that points at it
(PostgreSQL's row locks; SQLite has one writer at a time and no row locks to meet).

A pass sends while it plans (`bot/engine/tick.py`), and a job sent often plans another job for
the same cadence (an escalation's follow-up message, a prompt moved to the channel). Inserting
a row with a foreign key takes a KEY SHARE lock on the row it points at, until commit. The
planner's claim skips the cadences it cannot lock (SKIP LOCKED, so processes share the work): a
claim with FOR UPDATE conflicts with KEY SHARE, and the pass skipped a due cadence whose job
happened to be sent at that instant; a pass run once (`tick --now`) then never opened it.
FOR NO KEY UPDATE, which the planner needs (it changes no key), does not conflict with it.
"""

from __future__ import annotations

import pytest
from conftest import TEAM, VENDOR
from engine_flows import checkins_of, dms_to, schedule, tick, utc
from flows import create_engagement, text_of
from sqlalchemy import create_engine, insert

from bot.platform import clock
from storage.models import ScheduledJob

pytestmark = pytest.mark.postgres

CREATED = utc(2026, 11, 25, 10, 0)  # a Wednesday
MON = utc(2026, 11, 30, 8, 0)  # Monday 09:00 in Berlin


# The project's `cadence` fixture, on PostgreSQL only (`database_url` takes its kind as a param).
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_due_cadence_is_planned_while_another_transaction_adds_a_job_for_it(cadence, monkeypatch):
    app = cadence
    with clock.fixed_at(CREATED):
        create_engagement(app)
    cadence_row = schedule(app, CREATED)
    elsewhere = create_engine(app.services.settings.database_url)
    try:
        with elsewhere.connect() as connection:
            # Another process, mid-transaction: a job for this cadence, not yet committed.
            connection.execute(
                insert(ScheduledJob.__table__).values(
                    team_id=TEAM,
                    key="another-process:follow-up",
                    kind="message",
                    due_at=utc(2027, 1, 1, 0, 0),
                    created_at=CREATED,
                    updated_at=CREATED,
                    cadence_id=cadence_row.id,
                    payload={},
                    status="pending",
                    attempts=0,
                    lookups_failed=0,
                )
            )
            tick(app, monkeypatch, MON)
            connection.rollback()
    finally:
        elsewhere.dispose()
    assert [c.occurrence_key for c in checkins_of(app)] == ["2026-11-30T09:00"]
    (prompt,) = dms_to(app, VENDOR)
    assert "Time for the status update" in text_of(prompt)
