"""One way to write a time (issue 22, item 1): `bot.domain.moments` says every moment in the
reader's zone, and no message Cadence sends shows a stored ISO timestamp.

The second half plays two weeks of the demo's story in-process (check-ins, reminders, overdue
alerts and escalations, a survey's results, concerns, the digest and its chart) and reads
every text, block and view the stand-in Slack received. Exports are exempt: their CSV files
keep ISO beside the local time, and their bytes never pass through a call's arguments.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain import moments

pytestmark = pytest.mark.shared_world  # one world per database (tests/conftest.py)

ISO = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
WINTER = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 09:00 in Berlin


# --- the formatter -----------------------------------------------------------------------------


def test_a_moment_is_said_in_the_readers_zone():
    assert moments.moment(WINTER, "Europe/Berlin") == "Mon 30 Nov 09:00 CET"
    assert moments.moment(WINTER, "America/New_York") == "Mon 30 Nov 03:00 EST"
    assert moments.moment(WINTER, None) == "Mon 30 Nov 08:00 UTC"  # a zone never learned
    assert moments.moment(WINTER, "Not/AZone") == "Mon 30 Nov 08:00 UTC"
    assert moments.long_moment(WINTER, "Europe/Berlin") == "Mon 30 Nov 2026 09:00 CET"


def test_a_slot_is_its_wall_clock_in_the_cadences_zone_or_the_readers():
    assert moments.slot("2026-11-30T09:00", "Europe/Berlin") == "Mon 30 Nov 09:00 CET"
    assert (
        moments.slot("2026-11-30T09:00", "Europe/Berlin", reader_tz="Europe/London")
        == "Mon 30 Nov 08:00 GMT"
    )
    assert (
        moments.slot("2026-11-30T09:00", "Europe/Berlin", each_person=True)
        == "Mon 30 Nov 09:00 (each person's own time)"
    )
    assert not ISO.search(moments.slot("2026-03-29T02:30", "Europe/Berlin"))  # a DST gap
    # A reader whose zone is unknown gets Slack's own date, which Slack shows in theirs.
    assert moments.slot("2026-11-30T09:00", "Europe/Berlin", reader_unknown=True) == (
        moments.for_everyone(WINTER, "Europe/Berlin")
    )
    assert (
        moments.slot(
            "2026-11-30T09:00", "Europe/Berlin", reader_tz="Europe/London", reader_unknown=True
        )
        == "Mon 30 Nov 08:00 GMT"
    )


def test_periods_days_and_slacks_own_date():
    end = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    assert moments.period(WINTER, end, "Europe/Berlin") == "Mon 30 Nov 09:00 – Fri 04 Dec 16:00 CET"
    assert moments.day(date(2026, 12, 4)) == "Fri 04 Dec 2026"
    assert moments.end_of_day(datetime(2026, 12, 5, 0, 0, tzinfo=UTC), "UTC") == "Fri 04 Dec"
    token = moments.for_everyone(WINTER, "Europe/Berlin")
    # https://api.slack.com/reference/surfaces/formatting#date-formatting
    assert (
        token
        == f"<!date^{int(WINTER.timestamp())}^{{date_short_pretty}} {{time}}|Mon 30 Nov 09:00 CET>"
    )


def test_one_percentage_style_and_counts_that_agree_with_their_number():
    assert moments.percent(0.8) == "80%"
    assert moments.percent(None) == "–"
    assert moments.percent(None, none="") == ""
    assert moments.counted(1, "update") == "1 update"
    assert moments.counted(2, "update") == "2 updates"
    assert moments.counted(0, "answer") == "0 answers"
    assert moments.counted(3, "person", "people") == "3 people"


# --- every message of a realistic run -------------------------------------------------------------


def _texts(value: Any) -> list[str]:
    """Every string inside a call's arguments (blocks and views are parsed if sent as JSON)."""
    if isinstance(value, str):
        if value[:1] in "[{":
            try:
                return _texts(json.loads(value))
            except ValueError:
                pass
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


# Arguments that carry what Slack stores, not what a person reads.
NOT_READ = {"token", "ts", "thread_ts", "channel", "user", "users", "view_id", "trigger_id",
            "private_metadata", "metadata", "file_id", "hash", "external_id"}  # fmt: skip


def _read(args: dict[str, Any]) -> list[str]:
    return [t for k, v in args.items() if k not in NOT_READ for t in _texts(v)]


def _strip_metadata(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k not in NOT_READ and k not in ("id", "hash")}


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory):
    from bot.demo import cast, script
    from bot.demo.player import Player

    with Player(Path(tmp_path_factory.mktemp("moments"))) as player:
        player.play(script.story(2), script.end_of(2))
        for person in (cast.LENA, cast.DANA, cast.VIC):  # Home, as each of them reads it
            before = len(player.fake.calls_to("views.publish"))
            assert player.sim.app_home_opened(person.user_id).status == 200
            player.fake.wait_for("views.publish", count=before + 1, timeout=30)
        yield player.fake


@pytest.mark.slow  # two weeks played
def test_no_message_of_a_two_week_run_shows_an_iso_timestamp(played):
    fake = played
    seen: list[tuple[str, str]] = []
    for call in fake.calls:
        seen += [(call.method, text) for text in _read(call.args)]
    for posted in fake.responses:
        seen += [("response_url", text) for text in _texts(posted.body)]
    with fake._lock:
        views = list(fake._views.values())
    for view in views:
        seen += [("view", text) for text in _texts(_strip_metadata(view))]

    methods = {method for method, _ in seen}
    words = "\n".join(text for _, text in seen)
    # The run did what the story promises, so the scan read the messages it is about.
    assert {"chat.postMessage", "views.publish", "view"} <= methods
    for said in ("Overdue:", "Escalation:", "Feedback survey results", "Cadence weekly digest"):
        assert said in words, f"the run never said {said!r}"
    # An escalation names its check-in's slot in Dana's zone: hers once Cadence has learned it,
    # until then Slack's own date, which shows her hers (the engagement's zone as fallback).
    escalations = [
        t
        for c in fake.calls_to("chat.postMessage")
        if c.args.get("channel") == "U0DANA"
        for t in _read(c.args)
        if t.startswith("Escalation:")
    ]
    assert escalations and all(
        re.search(
            r"\((<!date\^\d+\^\{date_short_pretty\} \{time\}\|)?\w{3} \d\d \w{3} \d\d:\d\d "
            r"(CET|GMT)>?\)",
            t,
        )
        for t in escalations
    ), escalations
    raw = sorted({(m, t) for m, t in seen if ISO.search(t)})
    assert not raw, "raw timestamps shown:\n" + "\n".join(f"{m}: {t[:300]}" for m, t in raw)


@pytest.mark.slow  # two weeks played
def test_the_digest_and_its_chart_speak_the_digests_zone(played):
    fake = played
    digests = [
        t
        for c in fake.calls_to("chat.postMessage")
        for t in _read(c.args)
        if t.startswith("Week to ")
    ]
    assert digests, "no digest was posted"
    # The demo's workspace sends its digest at 16:00 Europe/Berlin: said so, not as UTC.
    assert all(re.match(r"Week to \w{3} \d\d \w{3} \d{4} 16:00 CET · ", d) for d in digests), (
        digests
    )


def test_the_charts_title_and_description_speak_the_digests_zone():
    from bot.blocks import chart

    now = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # Friday 16:00 in Berlin
    fig = chart._draw([], now=now, weeks=8, tz="Europe/Berlin")
    drawn = [t.get_text() for t in fig.axes[0].texts]
    # Nothing charted yet: no weeks to count, the moment alone (the chart starts at the first
    # week with data).
    assert "As of Fri 04 Dec 2026 16:00 CET" in drawn, drawn
    assert not any("UTC" in t for t in drawn)
    alt = chart.chart_alt_text([], now=now, weeks=8, tz="Europe/Berlin")
    assert "Fri 04 Dec 2026 16:00 CET" in alt, alt


@pytest.mark.slow  # two weeks played
def test_the_exports_message_counts_its_rows_in_words(played):
    said = [
        t
        for c in played.calls_to("files.completeUploadExternal")
        for t in _read(c.args)
        if t.startswith("The record of")
    ]
    assert said, "the run's export never arrived"
    for text in said:
        assert "status update" in text and "audit event" in text, text
        assert not re.search(r"\b1 [a-zA-Z ]+?s\b[,;.]", text), text  # "1 updates"
        assert not re.search(
            r"\b(?:[02-9]|\d\d+) [a-zA-Z ]*(?:value|event|item|answer)\b[,;.]", text
        )


def test_home_says_a_due_time_in_the_readers_zone_or_lets_slack_say_it():
    from bot.blocks.home import waiting_blocks
    from bot.domain.checkins import WaitingCheckIn

    waiting = [WaitingCheckIn(1, "open", WINTER, "status_update", "Europe/Berlin", "Acme Payments")]

    def said(reader_tz: str | None) -> str:
        blocks = waiting_blocks(waiting, reader_tz)[1:]
        return json.dumps([b.to_dict() if hasattr(b, "to_dict") else b for b in blocks])

    assert "due Mon 30 Nov 03:00 EST" in said("America/New_York")
    token = moments.for_everyone(WINTER, "Europe/Berlin")
    assert f"due {token}" in said(None)
