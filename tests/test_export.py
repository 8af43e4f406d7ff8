"""`/cadence export`: a lead gets an engagement's whole record as CSV files in a zip, in their
DM, built as a job; anonymity is kept; bad dates and other people are told what is wrong."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

from conftest import LEAD, OUTSIDER, STAKEHOLDER, VENDOR
from engine_flows import utc
from flows import create_engagement, text_of
from test_concerns import raise_by_command

from bot.platform import clock

START = utc(2026, 11, 30, 9, 0)


def submit_form(cadence, command: str, values: dict, *, user: str) -> None:
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.command(command, user=user)
    opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    view = cadence.fake.view(opened.response["view"]["id"])
    assert cadence.sim.submit_view(view, values, user=user).body == ""


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


def export_files(cadence, text: str, *, user: str = LEAD) -> tuple[dict, dict[str, list[dict]]]:
    """Run the command; its answer, and the CSVs of the zip that arrived (by file name)."""
    uploaded = len(cadence.fake.uploaded_files())
    with clock.fixed_at(START + timedelta(days=1)):
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
        }
    return reply.json or {}, tables


def test_a_lead_exports_the_record_and_anonymity_is_kept(cadence):
    record(cadence)
    answer, tables = export_files(cadence, "export acme-payments")
    assert "the CSV files arrive in a zip" in text_of(answer)
    assert set(tables) == {"updates.csv", "kpi_values.csv", "feedback.csv", "concerns.csv",
                           "concern_history.csv", "audit.csv"}  # fmt: skip
    (update,) = tables["updates.csv"]
    assert (update["author"], update["rag"], update["reason"]) == (VENDOR, "amber",
                                                                  "PSP certification")  # fmt: skip
    (kpi,) = tables["kpi_values.csv"]
    assert (kpi["kpi"], kpi["value"], kpi["met_target"]) == ("Uptime", "99.95", "True")
    anonymous, named = tables["feedback.csv"]
    assert anonymous["answerer"] == "" and anonymous["anonymous"] == "True"
    assert anonymous["comment"] == "Nobody tells us anything."
    assert STAKEHOLDER not in str(tables["feedback.csv"])  # not a trace of who answered
    assert named["answerer"] == LEAD
    (concern,) = tables["concerns.csv"]
    assert (concern["title"], concern["severity"], concern["status"]) == (
        "Keys in email", "high", "open",
    )  # fmt: skip
    assert [e["action"] for e in tables["concern_history.csv"]] == ["raised"]
    actions = {(a["entity_type"], a["action"]) for a in tables["audit.csv"]}
    assert {("engagement", "create"), ("concern", "raise")} <= actions


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
    assert len(said) == 1 and "01 Oct 2026 to 31 Oct 2026" in text_of(said[0].args)


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
