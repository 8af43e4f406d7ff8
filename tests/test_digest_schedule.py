"""`/cadence digest schedule`: the workspace's stewards (a Cadence admin, a Slack admin or
owner) choose when the weekly executive digest goes out and where; leading an engagement is not
enough; the next send is stored in UTC from the local day, time and zone (DST-correct);
bad input is answered on the form and changes nothing; a vendor may not; a retried submission
saves and confirms once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from conftest import ADMIN, DIGEST, LEAD, TEAM, VENDOR, Cadence
from engine_flows import utc
from flows import create_engagement, open_form, text_of, wait_reply
from slack_requests import find_element
from sqlmodel import select
from test_outbox import dms, post_twice, submission_body

from bot.blocks.digest_schedule import (
    DIGEST_SCHEDULE_VIEW,
    days_phrase,
    schedule_modal,
    schedule_summary,
)
from bot.demo.fake_slack import validate_view
from bot.domain import workspaces
from bot.domain.errors import FieldErrors
from bot.platform import clock
from handlers import commands
from storage.jobs import JobKind
from storage.models import AuditEvent, ScheduledJob, Workspace

TUE_THU_BERLIN = {"weekdays": ["1", "3"], "local_time": "08:30", "timezone": "Europe/Berlin"}


def stored(cadence: Cadence) -> Workspace | None:
    with cadence.db.read_session() as session:
        return session.exec(select(Workspace).where(Workspace.team_id == TEAM)).first()


def schedule_audits(cadence: Cadence) -> list[AuditEvent]:
    with cadence.db.read_session() as session:
        return list(
            session.exec(
                select(AuditEvent).where(AuditEvent.action == workspaces.SCHEDULE_ACTION)
            ).all()
        )


def the_form(cadence: Cadence, now: datetime, view_id: str = "V0DIGESTSCHED") -> dict[str, Any]:
    """The form as the command opens it (built from what is stored), with a view id."""
    with cadence.db.read_session() as session:
        workspace = workspaces.stored_or_default(session, team_id=TEAM)
    upcoming = workspaces.upcoming(workspaces.DigestSchedule.of(workspace), now)
    return {**schedule_modal(workspace, upcoming=upcoming), "id": view_id, "hash": "h1"}


def make_slack_admin(cadence: Cadence, user: str = LEAD) -> None:
    """Slack says `user` (conftest's lead, in Berlin) is an admin of the workspace."""
    cadence.fake.add_user(user, name="lena.lead", tz="Europe/Berlin", is_admin=True)


def submit_schedule(
    cadence: Cadence, values: dict[str, Any], *, user: str = LEAD, now: datetime, **kw: Any
):
    with clock.fixed_at(now):
        view = the_form(cadence, now, **kw)
        reply = cadence.sim.submit_view(view, values, user=user, check_required=False)
    assert reply.status == 200, reply.body
    return reply


# --- the form and its sentence (pure) ----------------------------------------------------------


def test_the_form_shows_what_is_stored_within_slacks_limits():
    workspace = Workspace(
        team_id=TEAM,
        digest_rule="FREQ=WEEKLY;BYDAY=TU,TH",
        digest_local_time="08:30",
        digest_timezone="Europe/Berlin",
        digest_channel_id=DIGEST,
    )
    schedule = workspaces.DigestSchedule.of(workspace)
    upcoming = workspaces.upcoming(schedule, utc(2026, 11, 27, 10, 0))
    view = schedule_modal(workspace, upcoming=upcoming)
    assert validate_view(view) == []
    assert view["callback_id"] == DIGEST_SCHEDULE_VIEW
    by_action = {b["element"]["action_id"]: b for b in view["blocks"] if b["type"] == "input"}
    days = by_action["weekdays"]["element"]
    assert [o["text"]["text"] for o in days["options"]] == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
    assert [o["value"] for o in days["initial_options"]] == ["1", "3"]
    assert by_action["local_time"]["element"]["initial_time"] == "08:30"
    assert by_action["timezone"]["element"]["initial_value"] == "Europe/Berlin"
    assert by_action["channel"]["element"]["initial_conversation"] == DIGEST
    assert by_action["channel"]["optional"] is True
    assert "own digest channel" in by_action["channel"]["hint"]["text"]
    assert "Tue 01 Dec 08:30 CET · Thu 03 Dec 08:30 CET · Tue 08 Dec 08:30 CET" in text_of(view)


def test_the_confirmation_says_when_and_where():
    workspace = Workspace(
        team_id=TEAM,
        digest_rule="FREQ=WEEKLY;BYDAY=MO",
        digest_local_time="09:00",
        digest_timezone="Europe/Berlin",
        digest_channel_id=DIGEST,
        digest_next_run_at=utc(2026, 11, 30, 8, 0),
    )
    assert schedule_summary(workspace).startswith(
        f"The digest goes out Mondays at 09:00 Europe/Berlin, next on Mon 30 Nov 09:00 CET, "
        f"to <#{DIGEST}>"
    )
    assert days_phrase([3, 1]) == "Tuesdays and Thursdays"
    assert days_phrase(range(5)) == "on weekdays (Monday to Friday)"
    assert days_phrase(range(7)) == "every day"


def test_the_form_is_checked_field_by_field():
    with pytest.raises(FieldErrors) as caught:
        workspaces.validate_schedule(
            {"weekdays": [], "local_time": "25:00", "timezone": "Mars/Olympus", "channel": "D01"}
        )
    assert set(caught.value.errors) == {"weekdays", "local_time", "timezone", "channel"}
    assert "Mars/Olympus" in caught.value.errors["timezone"]
    schedule = workspaces.validate_schedule({**TUE_THU_BERLIN, "timezone": " europe/berlin "})
    assert schedule == workspaces.DigestSchedule((1, 3), "08:30", "Europe/Berlin", None)


# --- saving through the app --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Monday 23 March 2026: Tuesday 24th 08:30 CET (UTC+1).
        (utc(2026, 3, 23, 12, 0), utc(2026, 3, 24, 7, 30)),
        # Thursday 26 March after 08:30: the clocks go forward on Sunday 29th, so Tuesday
        # 31st 08:30 is CEST (UTC+2).
        (utc(2026, 3, 26, 10, 0), utc(2026, 3, 31, 6, 30)),
        # Thursday 22 October after 08:30 CEST: back to CET on Sunday 25th.
        (utc(2026, 10, 22, 7, 0), utc(2026, 10, 27, 7, 30)),
    ],
    ids=["winter", "into-summer-time", "into-winter-time"],
)
def test_a_slack_admin_saves_tuesday_and_thursday_at_0830_berlin(
    cadence: Cadence, now: datetime, expected: datetime
):
    make_slack_admin(cadence)
    create_engagement(cadence)
    reply = submit_schedule(cadence, {**TUE_THU_BERLIN, "channel": DIGEST}, now=now)
    assert reply.body == "", reply.body  # the form closes
    workspace = stored(cadence)
    assert workspace is not None
    assert (workspace.digest_rule, workspace.digest_local_time, workspace.digest_timezone) == (
        "FREQ=WEEKLY;BYDAY=TU,TH",
        "08:30",
        "Europe/Berlin",
    )
    assert workspace.digest_channel_id == DIGEST
    assert workspace.digest_next_run_at == expected
    (event,) = schedule_audits(cadence)
    assert event.actor_user_id == LEAD and event.entity_type == "workspace"
    assert event.after["digest_rule"] == "FREQ=WEEKLY;BYDAY=TU,TH"
    assert event.before["digest_rule"] == "FREQ=WEEKLY;BYDAY=MO"
    confirmation = cadence.wait_until(
        lambda: [m for m in dms(cadence, LEAD) if "The digest goes out" in m],
        what="the confirmation DM",
    )
    assert "Tuesdays and Thursdays at 08:30 Europe/Berlin" in confirmation[0]
    assert f"<#{DIGEST}>" in confirmation[0]


def test_bad_input_is_answered_on_the_form_and_changes_nothing(cadence: Cadence):
    create_engagement(cadence)
    before = stored(cadence)
    reply = submit_schedule(
        cadence,
        {"weekdays": [], "local_time": "08:30", "timezone": "Europe/Berlinn"},
        now=utc(2026, 11, 27, 10, 0),
    )
    assert reply.json is not None and reply.json["response_action"] == "errors"
    errors = reply.json["errors"]
    assert errors["weekdays"] == "Pick at least one day of the week."
    assert "Europe/Berlinn" in errors["timezone:UTC"]
    after = stored(cadence)
    assert after is not None and before is not None
    assert after.model_dump() == before.model_dump()
    assert schedule_audits(cadence) == []


@pytest.mark.parametrize("user", [VENDOR, LEAD], ids=["a vendor", "a lead who is no admin"])
def test_only_the_workspaces_stewards_may_choose_the_schedule(cadence: Cadence, user: str):
    create_engagement(cadence)  # LEAD leads it, VENDOR is its vendor contact
    before = stored(cadence)
    reply = submit_schedule(cadence, TUE_THU_BERLIN, user=user, now=utc(2026, 11, 27, 10, 0))
    assert reply.json is not None and reply.json["response_action"] == "errors"
    assert (
        "Only a Cadence admin or a Slack admin or owner of this workspace can choose when"
        in reply.json["errors"]["weekdays"]
    )
    after = stored(cadence)
    assert after is not None and before is not None
    assert after.model_dump() == before.model_dump()
    assert schedule_audits(cadence) == []
    assert not [m for m in dms(cadence, user) if "The digest goes out" in m]


def test_an_admin_may_even_before_any_engagement_exists(cadence: Cadence):
    assert stored(cadence) is None
    reply = submit_schedule(
        cadence,
        {"weekdays": ["0"], "local_time": "07:15", "timezone": "America/New_York"},
        user=ADMIN,
        now=utc(2026, 11, 27, 10, 0),
    )
    assert reply.body == "", reply.body
    workspace = stored(cadence)
    assert workspace is not None and workspace.digest_channel_id is None
    # Monday 30 November 07:15 EST (UTC-5).
    assert workspace.digest_next_run_at == utc(2026, 11, 30, 12, 15)
    confirmation = cadence.wait_until(
        lambda: [m for m in dms(cadence, ADMIN) if "The digest goes out" in m],
        what="the confirmation DM",
    )
    assert "Mondays at 07:15 America/New_York" in confirmation[0]
    assert "no scheduled digest" in confirmation[0]


def test_a_retried_submission_saves_and_confirms_once(cadence: Cadence):
    make_slack_admin(cadence)
    create_engagement(cadence)
    now = utc(2026, 11, 27, 10, 0)
    with clock.fixed_at(now):
        view = the_form(cadence, now, view_id="V0RETRIED")
        first, second = post_twice(cadence, submission_body(cadence, view, TUE_THU_BERLIN))
    assert (first.status, first.body, second.status, second.body) == (200, "", 200, "")
    assert len(schedule_audits(cadence)) == 1

    def confirmations() -> list[ScheduledJob]:
        with cadence.db.read_session() as session:
            return list(
                session.exec(
                    select(ScheduledJob)
                    .where(ScheduledJob.kind == JobKind.MESSAGE)
                    .where(ScheduledJob.key == "confirm:request=view:V0RETRIED")
                ).all()
            )

    cadence.wait_until(
        lambda: [j for j in confirmations() if j.status == "sent"], what="the confirmation"
    )
    assert len(confirmations()) == 1
    assert len([m for m in dms(cadence, LEAD) if "The digest goes out" in m]) == 1


# --- through `/cadence digest schedule` (once the integrator routes it) ------------------------

routed = pytest.mark.skipif(
    ("digest", "schedule") not in commands.ROUTES,
    reason="`/cadence digest schedule` is not routed yet (handlers/commands.py)",
)


@routed
def test_a_slack_admin_opens_the_form_in_their_own_zone_and_saves_it(cadence: Cadence):
    make_slack_admin(cadence)
    create_engagement(cadence)
    now = utc(2026, 11, 27, 10, 0)
    with clock.fixed_at(now):
        view = open_form(cadence, "digest schedule")
        view_id = view["id"]
        cadence.wait_until(
            lambda: any(
                c.args.get("view_id") == view_id for c in cadence.fake.calls_to("views.update")
            ),
            what="the admin's time zone to be filled in",
        )
        view = cadence.fake.view(view_id)
        _, zone = find_element(view, "timezone")
        assert zone["initial_value"] == "Europe/Berlin"  # the admin's zone in Slack
        assert "Mon 30 Nov 09:00 CET" in text_of(view)
        reply = cadence.sim.submit_view(view, {"channel": DIGEST}, user=LEAD)
    assert reply.status == 200 and reply.body == "", reply.body
    workspace = stored(cadence)
    assert workspace is not None and workspace.digest_timezone == "Europe/Berlin"
    assert workspace.digest_next_run_at == utc(2026, 11, 30, 8, 0)
    cadence.wait_until(
        lambda: [m for m in dms(cadence, LEAD) if "Mondays at 09:00 Europe/Berlin" in m],
        what="the confirmation DM",
    )


@routed
def test_a_vendor_is_told_no_and_no_form_opens(cadence: Cadence):
    create_engagement(cadence)
    opened = len(cadence.fake.calls_to("views.open"))
    reply = cadence.sim.command("digest schedule", user=VENDOR)
    assert reply.status == 200
    answer = wait_reply(cadence, reply)
    assert "Only a Cadence admin or a Slack admin or owner" in text_of(answer)
    assert len(cadence.fake.calls_to("views.open")) == opened
