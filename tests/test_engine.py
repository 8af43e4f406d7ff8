"""The rhythm happens without anyone remembering it: prompts on time in every zone, reminders to
those who have not answered, overdue alerts and escalations exactly once, after downtime and
through Slack's failures. Time moves only through `python -m bot tick --now`."""

from __future__ import annotations

from alembic import command
from conftest import ACME, EXTERNAL, LEAD, LEAD2, OUTSIDER, VENDOR
from engine_flows import (
    answer_prompt,
    checkins_of,
    dms_to,
    jobs_of,
    posted_in,
    recipients_of,
    schedule,
    tick,
    utc,
)
from flows import create_engagement, text_of, wait_reply
from sqlalchemy import update
from sqlmodel import col, select

from bot.platform import clock
from storage import migrate
from storage.models import AuditEvent, CheckIn, ScheduledJob

CREATED = utc(2026, 11, 25, 10, 0)  # a Wednesday
MON = utc(2026, 11, 30, 8, 0)  # Monday 09:00 in Berlin (CET, UTC+1)


def test_a_weekly_cadence_prompts_reminds_alerts_and_escalates_exactly_once(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
    row = schedule(cadence, CREATED)
    assert row.next_run_at == MON and row.next_slot == "2026-11-30T09:00"

    assert tick(cadence, monkeypatch, utc(2026, 11, 30, 7, 59))[-1].endswith("nothing due")
    assert dms_to(cadence, VENDOR) == []

    lines = tick(cadence, monkeypatch, MON)
    (checkin,) = checkins_of(cadence)
    assert (checkin.occurrence_key, checkin.scheduled_for) == ("2026-11-30T09:00", MON)
    assert checkin.window_closes_at == utc(2026, 12, 2, 8, 0)
    # The vendor contact gets a DM with the button; the Slack Connect engineer cannot be DMed,
    # so they are mentioned in the engagement channel instead.
    (prompt,) = dms_to(cadence, VENDOR)
    assert "Time for the status update for *Acme Payments*" in text_of(prompt)
    assert prompt["metadata"]["event_payload"]["job"].startswith("prompt:checkin=")
    channel_prompts = [m for m in posted_in(cadence, ACME) if "Time for" in text_of(m)]
    assert len(channel_prompts) == 1 and f"<@{EXTERNAL}>" in text_of(channel_prompts[0])
    assert recipients_of(cadence, checkin.id)[EXTERNAL].delivered_via == "channel"
    assert any("DM refused" in line for line in lines)

    # The vendor answers through the prompt's button.
    with clock.fixed_at(utc(2026, 11, 30, 10, 0)):
        answer_prompt(cadence, prompt, VENDOR)
    assert recipients_of(cadence, checkin.id)[VENDOR].status == "answered"

    # A day before the window closes: one reminder, only to the one who has not answered.
    tick(cadence, monkeypatch, utc(2026, 12, 1, 8, 0))
    assert len(dms_to(cadence, VENDOR)) == 1
    reminders = [m for m in posted_in(cadence, ACME) if "Reminder" in text_of(m)]
    assert len(reminders) == 1 and f"<@{EXTERNAL}>" in text_of(reminders[0])

    # The window closes: the lead gets one alert naming who is missing.
    for _ in range(2):
        tick(cadence, monkeypatch, utc(2026, 12, 2, 8, 0))
    (alert,) = dms_to(cadence, LEAD)[-1:]
    assert "Overdue" in text_of(alert) and f"<@{EXTERNAL}>" in text_of(alert)
    assert f"Answered: <@{VENDOR}>" in text_of(alert)
    assert "mentioned in the engagement channel" in text_of(alert)
    assert len([m for m in dms_to(cadence, LEAD) if "Overdue" in text_of(m)]) == 1
    assert checkins_of(cadence)[0].status == "overdue"

    # A day later the escalation goes up, once, to the person chosen for it.
    tick(cadence, monkeypatch, utc(2026, 12, 3, 8, 0))
    tick(cadence, monkeypatch, utc(2026, 12, 3, 9, 0))
    escalations = [m for m in dms_to(cadence, LEAD2) if "Escalation" in text_of(m)]
    assert len(escalations) == 1

    # The next Monday the rhythm goes on.
    tick(cadence, monkeypatch, utc(2026, 12, 7, 8, 0))
    assert [c.occurrence_key for c in checkins_of(cadence)] == [
        "2026-11-30T09:00",
        "2026-12-07T09:00",
    ]
    assert len(dms_to(cadence, VENDOR)) == 2


def test_prompts_follow_local_time_across_a_dst_change(cadence, monkeypatch):
    with clock.fixed_at(utc(2027, 3, 17, 12, 0)):
        create_engagement(cadence)
    schedule(cadence, utc(2027, 3, 17, 12, 0), reminder_hours=None, escalation_hours=None)
    tick(cadence, monkeypatch, utc(2027, 3, 22, 8, 0))  # 09:00 CET
    tick(cadence, monkeypatch, utc(2027, 3, 29, 7, 0))  # 09:00 CEST, after the change
    keys = [(c.occurrence_key, c.scheduled_for) for c in checkins_of(cadence)]
    assert keys == [
        ("2027-03-22T09:00", utc(2027, 3, 22, 8, 0)),
        ("2027-03-29T09:00", utc(2027, 3, 29, 7, 0)),
    ]
    assert len(dms_to(cadence, VENDOR)) == 2


def test_after_downtime_closed_windows_are_recorded_as_missed_and_summarised(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=[VENDOR])
    schedule(cadence, CREATED)
    # Down from before Monday 30 Nov until Tuesday 8 Dec noon: the 30 Nov window has closed,
    # the 7 Dec one is still open.
    tick(cadence, monkeypatch, utc(2026, 12, 8, 12, 0))
    statuses = [(c.occurrence_key, c.status) for c in checkins_of(cadence)]
    assert statuses == [("2026-11-30T09:00", "missed"), ("2026-12-07T09:00", "open")]
    prompts = dms_to(cadence, VENDOR)
    assert len(prompts) == 1  # only the open one, at once
    summaries = [m for m in dms_to(cadence, LEAD) if "not running" in text_of(m)]
    assert len(summaries) == 1 and "Mon 30 Nov 09:00 CET" in text_of(summaries[0])
    # The reminder time of the open one had passed already: no late burst of reminders.
    tick(cadence, monkeypatch, utc(2026, 12, 8, 12, 5))
    assert len(dms_to(cadence, VENDOR)) == 1


def test_pause_skip_resume_and_delete(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=[VENDOR])
    row = schedule(cadence, CREATED)
    ref = str(row.id)

    # Skip next: the 30 Nov occurrence is recorded as skipped and never sent.
    with clock.fixed_at(CREATED):
        answer = wait_reply(cadence, cadence.sim.command(f"skip {ref}"))
    assert "Skipped the Mon 30 Nov 09:00 CET occurrence" in text_of(answer)
    tick(cadence, monkeypatch, MON)
    assert dms_to(cadence, VENDOR) == []
    assert [(c.occurrence_key, c.status) for c in checkins_of(cadence)] == [
        ("2026-11-30T09:00", "skipped")
    ]

    # The 7 Dec one is prompted; pausing cancels its pending reminder and escalation, and its
    # window still closes (on the Home of the one it asked, it no longer waits as if open).
    tick(cadence, monkeypatch, utc(2026, 12, 7, 8, 0))
    assert len(dms_to(cadence, VENDOR)) == 1
    with clock.fixed_at(utc(2026, 12, 7, 9, 0)):
        answer = wait_reply(cadence, cadence.sim.command(f"pause {ref}"))
    assert "Paused cadence" in text_of(answer)
    assert {j.status for j in jobs_of(cadence, "reminder")} == {"cancelled"}
    assert {j.status for j in jobs_of(cadence, "escalate")} == {"cancelled"}
    assert {j.status for j in jobs_of(cadence, "overdue")} == {"pending"}
    tick(cadence, monkeypatch, utc(2026, 12, 14, 8, 0))
    assert len(dms_to(cadence, VENDOR)) == 1  # paused: nothing on 14 Dec, no alerts
    assert not [m for m in dms_to(cadence, LEAD) if "Overdue" in text_of(m)]
    assert [(c.occurrence_key, c.status) for c in checkins_of(cadence)] == [
        ("2026-11-30T09:00", "skipped"),
        ("2026-12-07T09:00", "overdue"),  # closed, its vendor missing, nobody chased
    ]

    # Resume on 15 Dec: the next run is 21 Dec (no catch-up of paused weeks).
    with clock.fixed_at(utc(2026, 12, 15, 9, 0)):
        answer = wait_reply(cadence, cadence.sim.command(f"resume {ref}"))
    assert "Mon 21 Dec 09:00 CET" in text_of(answer)
    tick(cadence, monkeypatch, utc(2026, 12, 21, 8, 0))
    assert len(dms_to(cadence, VENDOR)) == 2

    # Delete: nothing more, ever.
    with clock.fixed_at(utc(2026, 12, 21, 9, 0)):
        question = wait_reply(cadence, cadence.sim.command(f"delete {ref}"))
        assert "Delete this cadence?" in text_of(question)
        with cadence.db.read_session() as session:
            assert session.get(type(row), row.id).status == "active"  # nothing yet
        cadence.sim.click(question, "cadence_button:delete")
        cadence.wait_until(
            lambda: any("Deleted cadence" in text_of(r.body) for r in cadence.fake.responses)
        )
    tick(cadence, monkeypatch, utc(2026, 12, 28, 8, 0))
    assert len(dms_to(cadence, VENDOR)) == 2
    with cadence.db.read_session() as session:
        actions = [
            a.action
            for a in session.exec(
                select(AuditEvent)
                .where(AuditEvent.entity_type == "cadence")
                .order_by(AuditEvent.id)
            )
        ]
    assert actions == ["create", "skip", "pause", "resume", "delete"]


def test_the_upgrade_closes_check_ins_an_earlier_pause_left_open(cadence, monkeypatch):
    """Before 7f9cc94 a pause cancelled the job that closes a check-in's window; migration
    0036 closes each open check-in whose window is over and that no job will close."""
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=[VENDOR])
    schedule(cadence, CREATED)
    tick(cadence, monkeypatch, MON)
    later = utc(2026, 12, 7, 8, 0)
    tick(cadence, monkeypatch, later)  # the 30 Nov one closed (overdue), the 7 Dec one open
    stuck, _ = checkins_of(cadence)
    with cadence.db.session() as session:  # the 30 Nov one as the old pause left it
        session.execute(
            update(ScheduledJob)
            .where(col(ScheduledJob.checkin_id) == stuck.id)
            .where(col(ScheduledJob.status) == "pending")
            .values(status="cancelled", updated_at=later)
        )
        session.execute(update(CheckIn).where(col(CheckIn.id) == stuck.id).values(status="open"))
    config = migrate.alembic_config(cadence.services.settings.database_url)
    command.downgrade(config, "0035")  # 0036 changes data only: its downgrade undoes nothing
    command.upgrade(config, "head")
    # Closed as its window's end would have (the vendor missing); the 7 Dec one is left to its
    # own pending job.
    assert {c.occurrence_key: c.status for c in checkins_of(cadence)} == {
        "2026-11-30T09:00": "overdue",
        "2026-12-07T09:00": "open",
    }


def test_only_leads_may_change_cadences(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
    row = schedule(cadence, CREATED)
    answer = wait_reply(cadence, cadence.sim.command(f"pause {row.id}", user=OUTSIDER))
    assert "Only the leads" in text_of(answer)
    reply = cadence.sim.command("schedule acme-payments", user=OUTSIDER)
    assert "Only the leads" in text_of(wait_reply(cadence, reply))
    with cadence.db.read_session() as session:
        assert session.get(type(row), row.id).status == "active"


def test_the_cadence_list_shows_next_runs_and_its_buttons_work(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
    row = schedule(cadence, CREATED)
    with clock.fixed_at(CREATED):
        listing = wait_reply(cadence, cadence.sim.command("cadences acme-payments"))
    text = text_of(listing)
    assert f"#{row.id} Status update" in text
    assert "every Monday at 09:00 (Europe/Berlin)" in text
    assert "next Mon 30 Nov 09:00 CET" in text
    click = cadence.sim.click(listing, "cadence_button:pause")
    assert click.status == 200
    cadence.wait_until(
        lambda: any("Paused" in text_of(r.body) for r in cadence.fake.responses),
        what="the pause confirmation",
    )
    with cadence.db.read_session() as session:
        assert session.get(type(row), row.id).status == "paused"


def test_the_schedule_form_previews_and_rejects_rules_that_never_fire(cadence):
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
        from flows import open_form

        view = open_form(cadence, "schedule acme-payments")
        before = len(cadence.fake.calls_to("views.update"))
        cadence.sim.click(view, "rule_kind", value="monthly_weekday")
        cadence.fake.wait_for("views.update", count=before + 1)
        view = cadence.fake.view(view["id"])
        cadence.sim.click(view, "rule_nth", value="-1")
        cadence.fake.wait_for("views.update", count=before + 2)
        view = cadence.fake.view(view["id"])
        cadence.sim.click(view, "rule_weekday", value="4")
        cadence.fake.wait_for("views.update", count=before + 3)
        view = cadence.fake.view(view["id"])
        preview = next(
            b["text"]["text"]
            for b in view["blocks"]
            if "Next runs" in b.get("text", {}).get("text", "")
        )
        assert "Fri 27 Nov 09:00 CET" in preview and "Fri 25 Dec 09:00 CET" in preview

        view = open_form(cadence, "schedule acme-payments")
        cadence.sim.click(view, "rule_kind", value="cron")
        cadence.wait_until(
            lambda: any(
                b.get("block_id") == "rule_cron" for b in cadence.fake.view(view["id"])["blocks"]
            )
        )
        view = cadence.fake.view(view["id"])
        reply = cadence.sim.submit_view(
            view, {"kind": "status_update", "rule_cron": "0 9 31 2 *", "window_hours": "48"}
        )
    assert reply.json["response_action"] == "errors"
    assert "never fires" in reply.json["errors"]["rule_cron"]
    assert len(checkins_of(cadence)) == 0


def test_away_people_are_not_prompted_and_are_reported_as_away(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=[VENDOR, LEAD2])
        answer = wait_reply(cadence, cadence.sim.command("away 2026-11-28 2026-12-04", user=VENDOR))
    assert "You are away" in text_of(answer)
    schedule(cadence, CREATED, escalation_hours=None)
    tick(cadence, monkeypatch, MON)
    assert dms_to(cadence, VENDOR) == []
    assert len([m for m in dms_to(cadence, LEAD2) if "Time for" in text_of(m)]) == 1
    tick(cadence, monkeypatch, utc(2026, 12, 2, 8, 0))
    alert = next(m for m in dms_to(cadence, LEAD) if "Overdue" in text_of(m))
    assert f"Away (not missing): <@{VENDOR}>" in text_of(alert)
    assert recipients_of(cadence, checkins_of(cadence)[0].id)[VENDOR].status == "away"


def test_holidays_mean_no_check_in(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence, holidays="2026-11-30")
    schedule(cadence, CREATED)
    tick(cadence, monkeypatch, MON)
    assert dms_to(cadence, VENDOR) == []
    with cadence.db.read_session() as session:
        (checkin,) = session.exec(select(CheckIn)).all()
    assert checkin.status == "holiday"


def test_each_person_can_be_asked_at_their_own_local_time(cadence, monkeypatch):
    """Vic is in Kolkata (+05:30), Lars in Berlin (+01:00): 09:00 is a different instant for
    each; the time zones come from their Slack profiles."""
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=[VENDOR, LEAD2])
    schedule(cadence, CREATED, options=["recipient_local_time"], reminder_hours=None)
    tick(cadence, monkeypatch, utc(2026, 11, 30, 3, 29))
    assert dms_to(cadence, VENDOR) == []
    users_looked_up = {c.args["user"] for c in cadence.fake.calls_to("users.info")}
    assert {VENDOR, LEAD2} <= users_looked_up
    tick(cadence, monkeypatch, utc(2026, 11, 30, 3, 30))  # 09:00 in Kolkata
    assert len(dms_to(cadence, VENDOR)) == 1
    assert [m for m in dms_to(cadence, LEAD2) if "Time for" in text_of(m)] == []
    tick(cadence, monkeypatch, utc(2026, 11, 30, 8, 0))  # 09:00 in Berlin
    assert len([m for m in dms_to(cadence, LEAD2) if "Time for" in text_of(m)]) == 1
    (checkin,) = checkins_of(cadence)
    assert checkin.window_closes_at == utc(2026, 12, 2, 8, 0)  # the last person's 48 hours


def test_a_slack_status_emoji_can_count_as_away(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=[VENDOR, LEAD2])
    schedule(cadence, CREATED, reminder_hours=None, escalation_hours=None)
    cadence.fake.set_status(VENDOR, ":palm_tree:", "On holiday")
    lines = tick(cadence, monkeypatch, MON, CADENCE_AWAY_EMOJI=":palm_tree:")
    assert dms_to(cadence, VENDOR) == []
    assert any("is away (Slack status)" in line for line in lines)
    assert len([m for m in dms_to(cadence, LEAD2) if "Time for" in text_of(m)]) == 1
    (checkin,) = checkins_of(cadence)
    assert recipients_of(cadence, checkin.id)[VENDOR].status == "away"


def test_a_lead_edits_a_cadence_from_the_list(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=[VENDOR])
        row = schedule(cadence, CREATED)
        listing = wait_reply(cadence, cadence.sim.command("cadences"))
        before = len(cadence.fake.calls_to("views.open"))
        cadence.sim.click(listing, "cadence_button:edit")
        opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
        view = cadence.fake.view(opened.response["view"]["id"])
        time_block = next(b for b in view["blocks"] if b.get("block_id") == "rule_local_time")
        assert time_block["element"]["initial_time"] == "09:00"
        reply = cadence.sim.submit_view(
            view, {"rule_weekdays": ["1", "3"], "rule_local_time": "14:30"}
        )
        assert reply.status == 200 and reply.body == "", reply.body
    with cadence.db.read_session() as session:
        edited = session.get(type(row), row.id)
        audit = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert edited.rule == "FREQ=WEEKLY;BYDAY=TU,TH" and edited.local_time == "14:30"
    assert edited.next_run_at == utc(2026, 11, 26, 13, 30)  # Thursday 14:30 CET
    assert (audit.action, audit.before["local_time"], audit.after["local_time"]) == (
        "update",
        "09:00",
        "14:30",
    )


def test_the_home_tab_shows_what_is_waiting_for_my_answer(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=[VENDOR])
    schedule(cadence, CREATED)
    tick(cadence, monkeypatch, MON)
    cadence.sim.app_home_opened(VENDOR)
    home = cadence.wait_until(lambda: cadence.fake.home_view(VENDOR), what="the home tab")
    texts = [b.get("text", {}).get("text", "") for b in home["blocks"]]
    assert any("Waiting for your answer* (1)" in t for t in texts)
    assert any("Status update for *Acme Payments*" in t for t in texts)
    before = len(cadence.fake.calls_to("views.open"))
    with clock.fixed_at(utc(2026, 11, 30, 10, 0)):
        cadence.sim.click(home, "checkin_answer", user=VENDOR)
        opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
        view = cadence.fake.view(opened.response["view"]["id"])
        cadence.sim.submit_view(
            view,
            {"rag": "amber", "summary": "Slipping a little.", "reason": "The PSP's sign-off."},
            user=VENDOR,
        )
    (checkin,) = checkins_of(cadence)
    cadence.wait_until(lambda: recipients_of(cadence, checkin.id)[VENDOR].status == "answered")
    published = len(cadence.fake.calls_to("views.publish"))
    cadence.sim.app_home_opened(VENDOR)
    cadence.fake.wait_for("views.publish", count=published + 1)
    home = cadence.fake.home_view(VENDOR)
    assert not any("Waiting for your answer" in str(b) for b in home["blocks"])
