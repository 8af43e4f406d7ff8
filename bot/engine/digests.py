"""The executive digest as engine jobs: planned when due (`digest_plans.py`), built when run
(here), posted once.

- The planner calls `digest_plans.plan_due` each pass: a workspace whose digest is due gets one `DIGEST`
  job for that slot (unique key: a second process, or a pass run twice, plans nothing more),
  and its next run moves on. A workspace down for weeks gets one digest, not one per week.
- `DIGEST` (database kind) plans one `DIGEST_POST` per digest channel with the engagements it
  covers, and records the run (the next digest's "what changed" starts there).
  `/cadence digest send` plans the same job under its request's key.
- `DIGEST_POST` (message kind) loads the figures of its engagements (a fixed number of
  queries, whatever their number) as of the moment it was planned for, and builds the
  message; once it is in Slack, it plans `DIGEST_CHART`, the chart uploaded just after it,
  with what the chart draws in its payload (`bot/blocks/chart_rows.py`): one load per digest
  and chart, not one each.
  `/cadence digest preview` plans a `DIGEST_POST` to the requester's DM.
Building happens here, on the engine's threads: never on a thread that acknowledges requests.
The planning is a module of its own so that `/cadence digest` plans without importing the
building (the digest's blocks, the chart's rows): the `web` process loads this module only if
it runs a digest job itself (tests/test_web_memory.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from bot.blocks import chart, chart_rows
from bot.blocks.digest import DigestScope, digest_message, ordered
from bot.domain import figures
from bot.engine.delivery import Message
from bot.engine.sender import Sender
from bot.platform import collector
from storage import job_keys, jobs
from storage.jobs import JobKind
from storage.models import Workspace

log = logging.getLogger(__name__)


def _figures(sender: Sender, job: jobs.ClaimedJob) -> tuple[list[figures.Figures], DigestScope]:
    """The figures a digest job shows, as of the moment it was planned for (a retry shows the
    same period), worst first."""
    payload: dict[str, Any] = job.payload
    as_of = datetime.fromisoformat(payload["as_of"])
    since = datetime.fromisoformat(payload["since"])
    ids = payload.get("engagement_ids") or []
    # One pause of the cyclic collector over loading, computing and ordering (each pauses it
    # too): the objects they build are walked once when it resumes, not once after each.
    with collector.paused():
        with sender.db.read_session() as session:
            inputs = figures.load(
                session,
                team_id=job.team_id,
                engagement_ids=ids,
                now=as_of,
                weeks=figures.TREND_WEEKS,
            )
            workspace = session.exec(
                select(Workspace).where(Workspace.team_id == job.team_id)
            ).first()
        computed = figures.compute(inputs, now=as_of, weeks=figures.TREND_WEEKS, since=since)
        del inputs  # freed before the collector resumes, so it never walks them
        rows = ordered(list(computed.values()))
    scope = DigestScope(
        now=as_of,
        since=since,
        preview=bool(payload.get("preview")),
        timezone=workspace.digest_timezone if workspace else "UTC",
    )
    return rows, scope


def build_post(sender: Sender, job: jobs.ClaimedJob) -> Message:
    """`DIGEST_POST`: the digest message; once sent, its chart follows."""
    rows, scope = _figures(sender, job)
    channel = job.payload["channel"]
    drawn = chart_rows.to_payload(chart_rows.rows_of(rows))

    def chart_next(session: Session, response: dict[str, Any]) -> None:
        jobs.plan(
            session,
            team_id=job.team_id,
            key=job_keys.digest_chart(job.key),
            kind=JobKind.DIGEST_CHART,
            due_at=sender.now,
            now=sender.now,
            payload={
                **job.payload,
                "channel": response.get("channel") or channel,
                "chart": drawn,
                "timezone": scope.timezone,
            },
            user_id=job.user_id,
        )

    return Message(
        channel,
        digest_message(rows, scope),
        f"digest of {len(rows)} engagements to {channel}",
        may_rejoin=channel[:1] == "C",
        on_sent=chart_next,
        quiet=True,
    )


def build_chart(sender: Sender, job: jobs.ClaimedJob) -> Message:
    """`DIGEST_CHART`: RAG per engagement per week, as a PNG in the digest's channel, drawn from
    the rows its post wrote into its payload (a job planned before they were loads them)."""
    payload: dict[str, Any] = job.payload
    if "chart" in payload:
        rows: Sequence[figures.Figures | chart_rows.ChartRow] = chart_rows.from_payload(
            payload["chart"]
        )
        now, tz = datetime.fromisoformat(payload["as_of"]), payload.get("timezone") or "UTC"
    else:
        rows, scope = _figures(sender, job)
        now, tz = scope.now, scope.timezone
    weeks = figures.TREND_WEEKS
    png = chart.digest_chart(rows, now=now, weeks=weeks, tz=tz)
    alt = chart.chart_alt_text(rows, now=now, weeks=weeks, tz=tz)
    return Message(
        job.payload["channel"],
        {"text": "RAG by week, with the on-time update rate in each cell.", "alt_txt": alt},
        f"digest chart to {job.payload['channel']}",
        quiet=True,
        upload=(chart.CHART_FILENAME, png),
    )
