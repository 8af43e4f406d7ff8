"""Steps for the scheduling stories: set up a cadence in Slack, move time with `tick --now`."""

from __future__ import annotations

import io
from collections import Counter
from contextlib import redirect_stdout
from datetime import UTC, datetime
from typing import Any

from conftest import ADMIN, BOT_TOKEN, LEAD, SIGNING_SECRET, Cadence
from flows import open_form, submit
from sqlmodel import select

from bot.engine.lookups import JOB_EVENT
from bot.entry.cli import main
from bot.platform import clock
from storage.models import Cadence as CadenceRow
from storage.models import CheckIn, CheckInRecipient, ScheduledJob

WEEKLY_MONDAY: dict[str, Any] = {
    "kind": "status_update",
    "rule_kind": "weekly",
    "rule_weekdays": ["0"],
    "rule_local_time": "09:00",
    "rule_timezone": "Europe/Berlin",
    "window_hours": "48",
    "reminder_hours": "24",
    "escalation_hours": "24",
    "escalation_to": ["U0LEADTWO"],
    "audience": "vendor",
    "delivery": "dm",
}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def schedule(cadence: Cadence, at: datetime, handle: str = "acme-payments", **values: Any):
    """`/cadence schedule <handle>` and the form, submitted at the moment `at`."""
    with clock.fixed_at(at):
        view = open_form(cadence, f"schedule {handle}")
        before = len(cadence.fake.calls_to("chat.postMessage"))
        reply = submit(cadence, view, {**WEEKLY_MONDAY, **values})
        assert reply.json is None or "errors" not in reply.json, reply.json
        # Done when the lead has been told (the work after the ack).
        cadence.wait_until(
            lambda: any(
                "cadence #" in str(c.args.get("text"))
                for c in cadence.fake.calls_to("chat.postMessage")[before:]
            ),
            what="the lead's confirmation",
        )
    with cadence.db.read_session() as session:
        return session.exec(select(CadenceRow).order_by(CadenceRow.id.desc())).first()


def run_cli(monkeypatch, database_url: str, *args: str, **env: str) -> tuple[int, str]:
    """`python -m bot <args>` (its real entry point, in this process) against `database_url`,
    with the single-workspace settings (and `env`); its exit status and what it printed."""
    for key, value in {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": database_url,
        "CADENCE_ADMINS": ADMIN,
        "LOG_LEVEL": "WARNING",
        **env,
    }.items():
        monkeypatch.setenv(key, value)
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(list(args))
    return status, out.getvalue()


def tick(
    cadence: Cadence, monkeypatch, at: datetime, *, pace: str = "0", settle: bool = True, **env: str
) -> list[str]:
    """`python -m bot tick --now <at>` (its real entry point, in this process); the lines it
    printed. What requests caused is done first (`settle`): no real pass starts hours later
    while a request is still sending. A test that means a pass to meet a send still on the wire
    says `settle=False`."""
    if settle:
        cadence.settle()
    status, out = tick_status(cadence, monkeypatch, at, pace=pace, **env)
    # 1: a send failed for good in this pass (tests/test_operations.py checks which).
    assert status in (0, 1)
    print(f"tick --now {at.isoformat()} (exit {status}):\n{out}")  # shown when the test fails
    return out.splitlines()


def tick_status(
    cadence: Cadence, monkeypatch, at: datetime, *, pace: str = "0", **env: str
) -> tuple[int, str]:
    """`python -m bot tick --now <at>` against the app's database and stand-in Slack, whatever
    its exit status: that status and what it printed (`tick` expects a pass that ran)."""
    settings = cadence.services.settings
    env = {"SLACK_API_URL": settings.slack_api_url, "CADENCE_CHANNEL_PACE_SECONDS": pace, **env}
    return run_cli(monkeypatch, settings.database_url, "tick", "--now", at.isoformat(), **env)


def messages_per_job(fake) -> Counter:
    """How many messages in Slack carry each job's metadata (by job key): more than one is a
    duplicate, none for a sent job is a loss."""
    counted: Counter = Counter()
    for message in fake.messages():
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == JOB_EVENT:
            counted[metadata["event_payload"]["job"]] += 1
    return counted


def dms_to(cadence: Cadence, user_id: str) -> list[dict[str, Any]]:
    """Messages the bot posted to a person's DM (chat.postMessage with channel=user)."""
    return [
        c.args
        for c in cadence.fake.calls_to("chat.postMessage")
        if c.args.get("channel") == user_id and c.ok
    ]


def posted_in(cadence: Cadence, channel: str) -> list[dict[str, Any]]:
    return [
        c.args
        for c in cadence.fake.calls_to("chat.postMessage")
        if c.args.get("channel") == channel and c.ok
    ]


def checkins_of(cadence: Cadence) -> list[CheckIn]:
    with cadence.db.read_session() as session:
        return list(session.exec(select(CheckIn).order_by(CheckIn.id)).all())


def recipients_of(cadence: Cadence, checkin_id: int) -> dict[str, CheckInRecipient]:
    with cadence.db.read_session() as session:
        rows = session.exec(
            select(CheckInRecipient).where(CheckInRecipient.checkin_id == checkin_id)
        ).all()
    return {r.user_id: r for r in rows}


def jobs_of(cadence: Cadence, kind: str | None = None) -> list[ScheduledJob]:
    with cadence.db.read_session() as session:
        query = select(ScheduledJob).order_by(ScheduledJob.id)
        if kind:
            query = query.where(ScheduledJob.kind == kind)
        return list(session.exec(query).all())


def answer_prompt(cadence: Cadence, prompt_args: dict[str, Any], user: str, values=None):
    """The person clicks the prompt's button and submits the form it opens."""
    message = {
        "ts": "1.000",
        "channel": prompt_args["channel"],
        "blocks": prompt_args["blocks"],
    }
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(message, "checkin_answer", user=user, channel=prompt_args["channel"])
    opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    assert opened.ok, opened.response
    view = cadence.fake.view(opened.response["view"]["id"])
    reply = cadence.sim.submit_view(
        view, values or {"rag": "green", "summary": "On track."}, user=user
    )
    assert reply.status == 200 and (reply.json is None or "errors" not in reply.json), reply.body
    return view


__all__ = ["LEAD"]
