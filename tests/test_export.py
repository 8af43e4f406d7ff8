"""`/cadence export`: a lead gets an engagement's whole record as CSV files in a zip, in their
DM, built as a job; anonymity is kept; bad dates and other people are told what is wrong. The
figures in it (KPI outcomes, each week's RAG and on-time rate, the scorecard) are the ones
`figures` computes for every other view, checked against it on the same database."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from conftest import ACME, ADMIN, LEAD, OUTSIDER, STAKEHOLDER, TEAM, VENDOR
from engine_flows import answer_prompt, dms_to, schedule, tick, utc
from flows import create_engagement, open_form, submit, text_of
from sqlmodel import select
from test_concerns import card_of, raise_by_command

from bot.domain import figures, form_families
from bot.domain.export_files import ExportScope
from bot.platform import clock
from storage.models import Engagement, KpiDefinition, StatusUpdate

START = utc(2026, 11, 30, 9, 0)


def submit_form(cadence, command: str, values: dict, *, user: str) -> None:
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.command(command, user=user)
    opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    view = cadence.fake.view(opened.response["view"]["id"])
    reply = cadence.sim.submit_view(view, values, user=user)
    # Accepted: closed, or (feedback) turned into its thank-you.
    assert reply.body == "" or reply.json["response_action"] == "update", reply.body


def record(cadence) -> None:
    """A week of an engagement: an update, anonymous and named feedback, a concern."""
    with clock.fixed_at(START - timedelta(days=1)):
        create_engagement(cadence)
    with clock.fixed_at(START):
        submit_form(cadence, "update acme-payments",
                    {"rag": "amber", "reason": "PSP certification", "summary": "Slipping.",
                     "kpi_1": "99.95"}, user=VENDOR)  # fmt: skip
        submit_form(cadence, "feedback acme-payments",
                    {"communication": "2", "quality": "3", "timeliness": "2", "overall": "2",
                     "comment": "Nobody tells us anything.", "anonymous": ["anonymous"]},
                    user=STAKEHOLDER)  # fmt: skip
        submit_form(cadence, "feedback acme-payments",
                    {"communication": "4", "quality": "4", "timeliness": "4", "overall": "4"},
                    user=LEAD)  # fmt: skip
        raise_by_command(cadence, "concern acme-payments Keys in email",
                         {"severity": "high", "category": "security"}, user=LEAD)  # fmt: skip


def export_files(
    cadence,
    text: str,
    *,
    user: str = LEAD,
    at: datetime = START + timedelta(days=1),
    readme: list[str] | None = None,
) -> tuple[dict, dict[str, list[dict]]]:
    """Run the command at `at`; its answer, and the CSVs of the zip that arrived (by name);
    the zip's README.txt appended to `readme` when given."""
    uploaded = len(cadence.fake.uploaded_files())
    with clock.fixed_at(at):
        reply = cadence.sim.command(text, user=user)
    # Done when the upload is completed into a channel (the bytes arrive a step before).
    files = cadence.wait_until(
        lambda: [f for f in cadence.fake.uploaded_files()[uploaded:] if f[3]],
        what="the export to arrive",
    )
    (_, name, data, channel) = files[0]
    assert name.startswith("cadence-acme-payments") and name.endswith(".zip")
    assert channel == cadence.fake.dm_channel_id(user)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        tables = {
            n: list(csv.DictReader(io.StringIO(archive.read(n).decode())))
            for n in archive.namelist()
            if n.endswith(".csv")
        }
        assert "README.txt" in archive.namelist()
        if readme is not None:
            readme.append(archive.read("README.txt").decode())
    return reply.json or {}, tables


def test_a_lead_exports_the_record_and_anonymity_is_kept(cadence):
    record(cadence)
    answer, tables = export_files(cadence, "export acme-payments")
    assert "the CSV files arrive in a zip" in text_of(answer)
    # Every form family's answers in its files (bot/domain/form_families.py), and the rest.
    assert set(tables) == {*form_families.exported_files(), "concerns.csv",
                           "concern_history.csv", "deliverables.csv",
                           "deliverable_history.csv", "audit.csv", "weekly.csv",
                           "scorecard.csv", "assurance.csv", "contract.csv"}  # fmt: skip
    # No deliverable agreed: their files hold their header only.
    assert tables["deliverables.csv"] == tables["deliverable_history.csv"] == []
    assert {"updates.csv", "kpi_values.csv", "feedback.csv", "feedback_comments.csv",
            "risk_reviews.csv"} <= set(tables)  # fmt: skip
    (update,) = tables["updates.csv"]
    assert (update["author"], update["author_name"], update["rag"], update["reason"]) == (
        VENDOR, "vic.vendor", "amber", "PSP certification",
    )  # fmt: skip
    (kpi,) = tables["kpi_values.csv"]
    assert kpi == {
        "update_id": update["update_id"], "kpi": "Uptime", "unit": "%", "value": "99.95",
        "target": "99.9", "tolerance": "", "higher_is_better": "True", "outcome": "met",
        "met_target": "True",
    }  # fmt: skip
    # Two ad hoc answers in November (counted once the month is over): their number, no
    # ratings (fewer than three), and no anonymous comment (its words could say whose it is).
    (month,) = tables["feedback.csv"]
    assert month == {
        "group": "ad hoc and late answers, 2026-11", "group_start": "2026-11-01T00:00:00+00:00",
        "group_start_local": "2026-11-01T01:00:00+01:00", "answers": "2", "communication": "", "quality": "", "timeliness": "", "overall": "",
        "scores": "withheld: under 3 answers",
    }  # fmt: skip
    assert tables["feedback_comments.csv"] == []
    assert STAKEHOLDER not in str(tables["feedback.csv"])  # not a trace of who answered
    (concern,) = tables["concerns.csv"]
    assert (concern["title"], concern["severity"], concern["status"]) == (
        "Keys in email", "high", "open",
    )  # fmt: skip
    assert [e["action"] for e in tables["concern_history.csv"]] == ["raised"]
    actions = {(a["entity_type"], a["action"]) for a in tables["audit.csv"]}
    assert {("engagement", "create"), ("concern", "raise")} <= actions
    # The whole history: the weeks since the engagement was created (two days: one week),
    # ending at the export's moment; no check-in yet, so no on-time rate (not 0 %).
    exported_at = START + timedelta(days=1)
    assert tables["weekly.csv"] == [{
        "week_start": "2026-11-24T09:00:00+00:00",
        "week_start_local": "2026-11-24T10:00:00+01:00",
        "week_end": "2026-12-01T09:00:00+00:00", "week_end_local": "2026-12-01T10:00:00+01:00",
        "rag_at_week_end": "amber", "asked": "0", "answered_on_time": "0",
        "on_time_percent": "",
    }]  # fmt: skip
    now, before, formula = tables["scorecard.csv"]
    assert (now["period"], now["period_end"]) == ("last 4 weeks", exported_at.isoformat())
    assert (now["kpis_met"], now["kpis_reported"], now["feedback_mean"]) == ("1", "1", "")
    assert before["period"] == "4 weeks before" and before["score"] == ""
    assert formula["period"] == f"# {figures.SCORE_FORMULA}"
    assert STAKEHOLDER not in str(tables["weekly.csv"]) + str(tables["scorecard.csv"])


def test_a_range_selects_by_day_and_an_empty_one_says_so(cadence):
    record(cadence)
    _, tables = export_files(cadence, "export acme-payments 2026-11-30 2026-11-30")
    assert len(tables["updates.csv"]) == 1
    with clock.fixed_at(START + timedelta(days=1)):
        cadence.sim.command("export acme-payments 2026-10-01 2026-10-31")
    said = cadence.wait_until(
        lambda: [c for c in cadence.fake.calls_to("chat.postMessage")
                 if c.args.get("channel") == LEAD and "Nothing to export" in text_of(c.args)],
        what="the empty range's answer",
    )  # fmt: skip
    assert len(said) == 1 and "Thu 01 Oct 2026 to Sat 31 Oct 2026" in text_of(said[0].args)


def test_bad_dates_and_other_people_are_told_what_is_wrong(cadence):
    record(cadence)
    for text, says in (
        ("export acme-payments 2026-13-01", "“2026-13-01” is not a date"),
        ("export acme-payments 2026-12-01 2026-11-01", "comes before the first"),
        ("export", "Say which engagement to export"),
        ("export nothing-here", "There is no engagement `nothing-here`"),
    ):
        reply = cadence.sim.command(text)
        assert says in text_of(reply.json or {}), (text, reply.json)
    reply = cadence.sim.command("export acme-payments", user=OUTSIDER)
    assert "Only the leads of Acme Payments" in text_of(reply.json or {})
    assert cadence.fake.uploaded_files() == []


# --- the figures are the figures every view shows -----------------------------------------------


def kpi_ids(cadence) -> dict[str, int]:
    with cadence.db.read_session() as session:
        return {k.name: k.id for k in session.exec(select(KpiDefinition))}


def edit_kpis(cadence, kpis_text: str, *, at: datetime) -> None:
    """The lead edits the engagement, changing only its KPIs."""
    with clock.fixed_at(at):
        reply = submit(
            cadence, open_form(cadence, "engagement edit acme-payments"), {"kpis": kpis_text}
        )
    assert reply.json is None or "errors" not in reply.json, reply.json


def test_kpi_figures_keep_the_target_and_outcome_they_were_reported_against(cadence):
    record(cadence)  # Uptime 99.95 against ≥ 99.9: met
    edit_kpis(cadence, "Uptime (%) >= 99.9 (amber 99.5)\nMean time to resolve (hours) <= 8",
              at=START + timedelta(hours=1))  # fmt: skip
    ids = kpi_ids(cadence)
    with clock.fixed_at(START + timedelta(hours=2)):
        submit_form(cadence, "update acme-payments",
                    {"rag": "green", "summary": "Certified.", f"kpi_{ids['Uptime']}": "99.7",
                     f"kpi_{ids['Mean time to resolve']}": "10"}, user=VENDOR)  # fmt: skip
    # Then the targets change: every figure above would read differently against these.
    edit_kpis(cadence, "Uptime (%) >= 99.99\nMean time to resolve (hours) <= 12",
              at=START + timedelta(hours=3))  # fmt: skip
    with cadence.db.read_session() as session:
        now = {k.name: k.target for k in session.exec(select(KpiDefinition))}
    assert now == {"Uptime": 99.99, "Mean time to resolve": 12}

    _, tables = export_files(cadence, "export acme-payments")

    first, second = (u["update_id"] for u in tables["updates.csv"])
    assert [
        (k["update_id"], k["kpi"], k["value"], k["target"], k["tolerance"],
         k["higher_is_better"], k["outcome"], k["met_target"])
        for k in tables["kpi_values.csv"]
    ] == [
        (first, "Uptime", "99.95", "99.9", "", "True", "met", "True"),
        (second, "Uptime", "99.7", "99.9", "99.5", "True", "within", "False"),
        (second, "Mean time to resolve", "10.0", "8.0", "", "False", "missed", "False"),
    ]  # fmt: skip
    # The same outcome figures reads for the latest figure of each KPI.
    with cadence.db.read_session() as session:
        engagement = session.exec(select(Engagement)).one()
        exported_at = START + timedelta(days=1)
        loaded = figures.load(session, team_id=TEAM, engagement_ids=[engagement.id],
                              now=exported_at, weeks=1)  # fmt: skip
    found = figures.compute_one(loaded[engagement.id], now=exported_at, weeks=1)
    assert {k.name: k.outcome.value for k in found.kpis} == {
        "Uptime": "within", "Mean time to resolve": "missed",
    }  # fmt: skip


CREATED = utc(2026, 11, 25, 10, 0)  # a Wednesday
MON = utc(2026, 11, 30, 8, 0)  # Monday 09:00 in Berlin; the window closes Wednesday 08:00 UTC


def test_weekly_figures_and_the_scorecard_are_the_ones_figures_computes(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
    schedule(cadence, CREATED)
    # First check-in: the vendor answers on time; the Slack Connect engineer never does.
    tick(cadence, monkeypatch, MON)
    (prompt,) = dms_to(cadence, VENDOR)
    with clock.fixed_at(utc(2026, 11, 30, 10, 0)):
        answer_prompt(cadence, prompt, VENDOR)
    tick(cadence, monkeypatch, utc(2026, 12, 2, 8, 0))
    with clock.fixed_at(utc(2026, 12, 1, 9, 0)):
        raise_by_command(cadence, "concern acme-payments Release notes missing",
                         {"severity": "high", "category": "delivery"})  # fmt: skip
        submit_form(cadence, "feedback acme-payments",
                    {"communication": "4", "quality": "3", "timeliness": "4", "overall": "4",
                     "anonymous": ["anonymous"]}, user=STAKEHOLDER)  # fmt: skip
    card = card_of(cadence)
    with clock.fixed_at(utc(2026, 12, 1, 10, 0)):
        cadence.sim.click(card, "concern:acknowledge", user=VENDOR, channel=ACME)
    # Second check-in: nobody answers before its window closes.
    tick(cadence, monkeypatch, utc(2026, 12, 7, 8, 0))
    tick(cadence, monkeypatch, utc(2026, 12, 9, 8, 0))

    # Exported later, for 25 Nov to 9 Dec (Berlin days): the figures as of the range's end.
    _, tables = export_files(cadence, "export acme-payments 2026-11-25 2026-12-09",
                             at=utc(2026, 12, 12, 9, 0))  # fmt: skip
    berlin = ZoneInfo("Europe/Berlin")
    end = datetime(2026, 12, 10, tzinfo=berlin).astimezone(UTC)  # 9 Dec 23:00 UTC
    weeks = 3  # 25 Nov 00:00 to 10 Dec 00:00 Berlin: 15 days
    with cadence.db.read_session() as session:
        engagement = session.exec(select(Engagement)).one()
        assert engagement.timezone == "Europe/Berlin"
        loaded = figures.load(session, team_id=TEAM, engagement_ids=[engagement.id], now=end,
                              weeks=8)[engagement.id]  # fmt: skip
        assert len(session.exec(select(StatusUpdate)).all()) == 1
    found = figures.compute_one(loaded, now=end, weeks=weeks)

    assert tables["weekly.csv"] == [
        {"week_start": start.isoformat(),
         "week_start_local": start.astimezone(berlin).isoformat(),
         "week_end": (start + figures.WEEK).isoformat(),
         "week_end_local": (start + figures.WEEK).astimezone(berlin).isoformat(),
         "rag_at_week_end": rag or "", "asked": str(rate.counted),
         "answered_on_time": str(rate.met),
         "on_time_percent": "" if rate.value is None else str(round(100 * rate.value, 1))}
        for start, rag, rate in zip(figures.week_starts(end, weeks), found.rag_trend,
                                    found.on_time_by_week, strict=True)
    ]  # fmt: skip
    # Worked by hand: weeks ending 25 Nov, 2 Dec and 9 Dec at 23:00 UTC; four people asked
    # over the two check-ins, one answer on time; no update before the vendor's answer.
    # Shares as percentages to one decimal; each week's bounds in Berlin beside UTC.
    assert [(w["week_end"], w["week_end_local"], w["rag_at_week_end"], w["asked"],
             w["answered_on_time"], w["on_time_percent"]) for w in tables["weekly.csv"]] == [
        ("2026-11-25T23:00:00+00:00", "2026-11-26T00:00:00+01:00", "", "0", "0", ""),
        ("2026-12-02T23:00:00+00:00", "2026-12-03T00:00:00+01:00", "green", "2", "1", "50.0"),
        ("2026-12-09T23:00:00+00:00", "2026-12-10T00:00:00+01:00", "green", "2", "0", "0.0"),
    ]  # fmt: skip

    card = figures.compute_one(loaded, now=end, weeks=8).scorecard
    assert card.before is not None
    rows = tables["scorecard.csv"]
    assert [r["period"] for r in rows] == ["last 4 weeks", "4 weeks before",
                                           f"# {figures.SCORE_FORMULA}"]  # fmt: skip
    for row, parts in zip(rows, (card.now, card.before), strict=False):
        assert row == {
            "period": row["period"],
            "period_start": (parts.period_end - 4 * figures.WEEK).isoformat(),
            "period_start_local": (parts.period_end - 4 * figures.WEEK)
            .astimezone(berlin).isoformat(),
            "period_end": parts.period_end.isoformat(),
            "period_end_local": parts.period_end.astimezone(berlin).isoformat(),
            "on_time_met": str(parts.on_time.met), "on_time_counted": str(parts.on_time.counted),
            "kpis_met": str(parts.kpis_met.met), "kpis_reported": str(parts.kpis_met.counted),
            "sla_met": str(parts.sla.met), "sla_counted": str(parts.sla.counted),
            "feedback_mean": "" if parts.feedback is None else str(round(parts.feedback, 1)),
            "assurance_valid": str(parts.assurance.met),
            "assurance_required": str(parts.assurance.counted),
            "score": "" if parts.score is None else str(parts.score),
        }  # fmt: skip
    # The one feedback answer (ad hoc, in December) counts from the month's end: not yet,
    # and never on its own.
    assert (rows[0]["on_time_met"], rows[0]["on_time_counted"], rows[0]["feedback_mean"]) == (
        "1", "4", "",
    )  # fmt: skip
    assert rows[0]["score"] not in ("", None) and rows[1]["score"] == ""
    assert tables["feedback.csv"] == [] and tables["feedback_comments.csv"] == []


def test_a_risk_review_is_exported_as_it_was_given(cadence, monkeypatch):
    """The vendor's review (one concern resolved with a note, one still open, a new one raised)
    is in risk_reviews.csv, a row per concern it answered."""
    from test_risk_reviews import ANSWERED_AT, open_review, set_up
    from test_risk_reviews import submit as submit_review

    set_up(cadence, monkeypatch)
    view = open_review(cadence)
    done = submit_review(cadence, view, {
        "status_2": "resolved", "note_2": "=Keys rotated", "status_1": "still_open",
        "new_title": "Load tests skipped before releases", "new_severity": "medium",
        "new_category": "quality",
    })  # fmt: skip
    assert not (done.json or {}).get("errors"), done.body
    _, tables = export_files(cadence, "export acme-payments", at=ANSWERED_AT + timedelta(hours=1))
    rows = tables["risk_reviews.csv"]
    assert {(r["concern_id"], r["status_before"], r["choice"]) for r in rows} == {
        ("1", "open", "still_open"),
        ("2", "open", "resolved"),
    }
    resolved = next(r for r in rows if r["concern_id"] == "2")
    assert resolved["author"] == VENDOR and resolved["late"] == "False"
    assert resolved["note"] == "'=Keys rotated"  # a formula is written as text
    assert rows[0]["raised_concern_id"] == rows[1]["raised_concern_id"] == "3"


def test_each_form_family_writes_exactly_the_files_it_declares(db):
    """The export's record files come from the families' own writers (form_families): each
    writes the files it names, so RECORD_FILES and the zip agree."""
    with db.read_session() as session:
        for facts in form_families.FAMILIES.values():
            scope = ExportScope(session, TEAM, -1, None, None, START)
            written = facts.export(scope)
            assert tuple(f.name for f in written) == facts.exported_as
            assert all(f.rows == 0 and f.text.count("\n") == 1 for f in written)  # a header


# --- names beside ids, local times beside UTC, rounded figures -----------------------------------


def test_names_sit_beside_ids_local_times_beside_utc_and_figures_are_rounded(cadence):
    """Worked by hand: Acme's zone is Berlin (UTC+1 in winter); three people rate November,
    so its averages are shown, to one decimal; each person Slack names once."""
    with clock.fixed_at(START - timedelta(days=1)):
        create_engagement(cadence, stakeholders=[STAKEHOLDER, ADMIN])
    with clock.fixed_at(START):
        submit_form(cadence, "update acme-payments",
                    {"rag": "green", "summary": "On track.", "kpi_1": "99.95"},
                    user=VENDOR)  # fmt: skip
        for user, ratings, comment, anonymous in (
            (STAKEHOLDER, ("2", "3", "2", "4"), "Slow to answer.", ["anonymous"]),
            (LEAD, ("4", "4", "4", "4"), "Clear demos.", []),
            (ADMIN, ("5", "4", "3", "5"), "", []),
        ):
            submit_form(cadence, "feedback acme-payments",
                        {**dict(zip(("communication", "quality", "timeliness", "overall"),
                                    ratings, strict=True)),
                         "comment": comment, "anonymous": anonymous}, user=user)  # fmt: skip
    asked = len(cadence.fake.calls_to("users.info"))
    readme: list[str] = []
    _, tables = export_files(cadence, "export acme-payments", readme=readme)

    (update,) = tables["updates.csv"]
    assert {k: update[k] for k in ("submitted_at", "submitted_at_local", "author",
                                   "author_name")} == {
        "submitted_at": "2026-11-30T09:00:00+00:00",
        "submitted_at_local": "2026-11-30T10:00:00+01:00",
        "author": VENDOR, "author_name": "vic.vendor",
    }  # fmt: skip
    # (2+4+5)/3, (3+4+4)/3, (2+4+3)/3, (4+4+5)/3: 3.666…, 3.666…, 3.0, 4.333…
    (month,) = tables["feedback.csv"]
    assert [month[k] for k in ("answers", "communication", "quality", "timeliness",
                               "overall", "scores")] == [
        "3", "3.7", "3.7", "3.0", "4.3", "shown",
    ]  # fmt: skip
    # Named comments with their author's name; the anonymous one with neither.
    assert sorted(
        (c["comment"], c["author"], c["author_name"], c["anonymous"])
        for c in tables["feedback_comments.csv"]
    ) == [("Clear demos.", LEAD, "lena.lead", "False"),
          ("Slow to answer.", "", "", "True")]  # fmt: skip
    created = next(a for a in tables["audit.csv"] if a["action"] == "create")
    assert (created["actor"], created["actor_name"]) == (LEAD, "lena.lead")
    assert created["at"] == "2026-11-29T09:00:00+00:00"
    assert created["at_local"] == "2026-11-29T10:00:00+01:00"
    (card, *_) = tables["scorecard.csv"]
    assert card["feedback_mean"] == "4.3"  # the overall ratings' mean, as above
    assert STAKEHOLDER not in str(tables["feedback.csv"]) + str(tables["feedback_comments.csv"])
    assert "sam.stake" not in str(tables)  # the anonymous rater is named nowhere

    # Slack was asked each person's name once, whatever the rows (never per row).
    looked_up = [c.args["user"] for c in cadence.fake.calls_to("users.info")[asked:]]
    assert sorted(looked_up) == sorted(set(looked_up))
    assert {LEAD, VENDOR} <= set(looked_up)
    (text,) = readme
    assert "rounded to one decimal" in text and "_local" in text and "_name" in text


def test_the_export_arrives_without_names_when_slack_will_not_say(cadence):
    """users.info refused for everyone: the ids are there, their names empty, nothing lost."""
    record(cadence)
    cadence.fake.fail("users.info", error="user_not_found", times=50)
    _, tables = export_files(cadence, "export acme-payments")
    (update,) = tables["updates.csv"]
    assert (update["author"], update["author_name"]) == (VENDOR, "")
    assert all(a["actor_name"] == "" for a in tables["audit.csv"])
    assert {a["actor"] for a in tables["audit.csv"]} >= {LEAD}
