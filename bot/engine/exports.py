"""The export job: an engagement's record built as CSV files in a zip (as a job, never on the
thread that acknowledges requests) and sent to whoever asked, as a file in their DM.

Cadence keeps nobody's name (ids stay true when a person renames themselves), so the names
beside the ids are asked of Slack here, after reading and outside any transaction: users.info
once per person in the export (never per row), paced by its tier in the workspace; someone
Slack does not name, or anyone left once the tier's minute is spent, gets an empty name."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import date

from slack_sdk.errors import SlackApiError

from bot.blocks.common import escape, plain_message
from bot.domain import export as record
from bot.domain import moments
from bot.engine.delivery import Message
from bot.engine.retries import finish
from bot.engine.sender import Sender
from bot.platform.slack import display_name
from storage import jobs
from storage.jobs import JobStatus

log = logging.getLogger(__name__)
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")  # an audit actor may be "cadence" or "system"

# What a row of each file is, counted in the message that brings the export.
ROWS_OF = {
    "updates.csv": "status update",
    "kpi_values.csv": "KPI value",
    "feedback.csv": "feedback answer",
    "feedback_comments.csv": "feedback comment",
    "risk_reviews.csv": "risk review",
    "answers.csv": "custom question answer",
    "concerns.csv": "concern",
    "concern_history.csv": "concern event",
    "deliverables.csv": "deliverable",
    "deliverable_history.csv": "deliverable event",
    "assurance.csv": "evidence item",
    "audit.csv": "audit event",
}


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def names_of(sender: Sender, team_id: str, user_ids: Iterable[str]) -> dict[str, str]:
    """The names Slack gives the people of an export (https://api.slack.com/methods/users.info),
    one call each while users.info's tier allows in the workspace."""
    names: dict[str, str] = {}
    for user_id in sorted(u for u in set(user_ids) if SLACK_USER_ID.match(u)):
        if not sender.may_call(team_id, "users.info"):
            log.info("users.info held in %s: the export names %d people", team_id, len(names))
            break
        try:
            found = sender.client_for(team_id).users_info(user=user_id)
        except (SlackApiError, OSError) as e:
            log.info("no name for %s in the export: %s", user_id, type(e).__name__)
            continue
        name = display_name(found.get("user") or {})
        if name:
            names[user_id] = name
    return names


def send_export(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    to = job.user_id
    if to is None:
        finish(sender, job, JobStatus.FAILED, error="nobody to send the export to")
        return None
    with sender.db.read_session() as session:
        built = record.build(
            session=session,
            team_id=job.team_id,
            engagement_id=job.payload["engagement_id"],
            start=_day(job.payload.get("start")),
            end=_day(job.payload.get("end")),
            now=sender.now,
        )
    name = escape(built.engagement.name)  # typed by a person: never a mention
    if built.empty:
        return Message(
            to,
            plain_message(
                f"Nothing to export for *{name}* for {built.period()}: no status updates, "
                "feedback or concerns in that time. Try a wider range, or none for everything."
            ),
            f"empty export of {built.engagement.handle} to {to}",
            quiet=True,
        )
    rows = {f.name: f.rows for f in built.files}
    counts = ", ".join(moments.counted(rows[n], ROWS_OF.get(n, n.removesuffix(".csv")))
                       for n in (*record.RECORD_FILES, "audit.csv"))  # fmt: skip
    weeks = moments.counted(rows["weekly.csv"], "week")
    counts += f"; the RAG and on-time rate of {weeks}, and the scorecard"
    return Message(
        to,
        {"text": f"The record of {name} for {built.period()}: {counts}."},
        f"export of {built.engagement.handle} to {to}",
        quiet=True,
        upload=(built.filename(), built.zipped(names_of(sender, job.team_id, built.people()))),
    )
