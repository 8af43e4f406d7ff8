"""The digest's chart drawn from its post's figures (issue 23: one load per digest and chart).

The post job writes what the chart draws into the chart job's payload (`bot/blocks/chart_rows`),
in the transaction that records the post as sent; the chart job draws from it and reads nothing.
The picture and its alt text must be the very ones the figures give.
"""

from __future__ import annotations

import json
import random

from sqlalchemy import event
from sqlmodel import select
from test_chart import FIRST_DIGEST, NOW, SAMPLE, WEEKS, many
from test_loader_figures import NOW as SEEDED_AT
from test_loader_figures import TEAM, _seed

from bot.blocks import chart, chart_rows
from bot.engine import digests
from bot.engine.sender import Sender
from storage.jobs import ClaimedJob, JobKind
from storage.models import ScheduledJob


def test_the_rows_in_a_payload_draw_the_picture_and_alt_text_the_figures_draw():
    for figures in (SAMPLE, FIRST_DIGEST, many(40), []):
        payload = json.loads(json.dumps(chart_rows.to_payload(chart_rows.rows_of(figures))))
        rows = chart_rows.from_payload(payload)
        assert rows == chart_rows.rows_of(figures)
        for tz in ("UTC", "Europe/Berlin"):
            assert chart.chart_alt_text(rows, now=NOW, weeks=WEEKS, tz=tz) == (
                chart.chart_alt_text(figures, now=NOW, weeks=WEEKS, tz=tz)
            )
        assert chart.digest_chart(rows, now=NOW, weeks=WEEKS) == (
            chart.digest_chart(figures, now=NOW, weeks=WEEKS)
        )


def _job(kind: str, payload: dict, key: str = "digest-post:test") -> ClaimedJob:
    return ClaimedJob(
        id=1, team_id=TEAM, key=key, kind=kind, due_at=SEEDED_AT, payload=payload, attempts=1,
        cadence_id=None, checkin_id=None, user_id=None,
    )  # fmt: skip


def test_the_chart_job_draws_from_its_posts_figures_without_reading_the_database(db):
    ids = _seed(db, random.Random(5), 12)
    sender = Sender(db=db, client_for=lambda _team: None, owner="test", now=SEEDED_AT)  # type: ignore[arg-type]
    post = _job(
        JobKind.DIGEST_POST,
        {"channel": "C0DIGEST", "engagement_ids": ids, "as_of": SEEDED_AT.isoformat(),
         "since": (SEEDED_AT - chart.WEEK).isoformat(), "preview": False},
    )  # fmt: skip
    message = digests.build_post(sender, post)
    with db.session() as session:  # as the delivery does once the post is in Slack
        message.on_sent(session, {"ok": True, "channel": "C0DIGEST"})
    with db.read_session() as session:
        planned = session.exec(
            select(ScheduledJob).where(ScheduledJob.kind == JobKind.DIGEST_CHART)
        ).one()
    chart_job = _job(JobKind.DIGEST_CHART, planned.payload, planned.key)
    assert len(chart_job.payload["chart"]) == len(ids)

    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        drawn = digests.build_chart(sender, chart_job)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert statements == []  # one load per digest and chart: the post's

    # A chart job planned before its post carried the rows (no "chart") loads them itself, and
    # draws the very same picture.
    older = {k: v for k, v in chart_job.payload.items() if k not in ("chart", "timezone")}
    loaded = digests.build_chart(sender, _job(JobKind.DIGEST_CHART, older, planned.key))
    assert drawn.upload == loaded.upload and drawn.upload[1].startswith(b"\x89PNG")
    assert drawn.payload == loaded.payload
