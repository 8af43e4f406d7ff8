"""The executive digest: weekly at the workspace's time as engine jobs, exactly once; the
numbers of several simulated weeks; its chart through the three-step upload; preview versus
send and who may send; hundreds of engagements within Slack's limits."""

from __future__ import annotations

import struct
from datetime import timedelta
from typing import Any

import pytest
from conftest import ADMIN, DIGEST, LEAD, OUTSIDER, VENDOR
from engine_flows import answer_prompt, dms_to, jobs_of, posted_in, schedule, tick, utc
from flows import create_engagement, text_of
from sqlmodel import select
from test_concerns import raise_by_command

from bot.blocks.common import MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT
from bot.blocks.digest import DigestScope, digest_message
from bot.domain import figures
from bot.platform import clock
from storage.jobs import JobKind
from storage.models import Engagement, Workspace

CREATED = utc(2026, 11, 3, 10, 0)  # a Tuesday
MONDAYS = [utc(2026, 11, 9), utc(2026, 11, 16), utc(2026, 11, 23), utc(2026, 11, 30)]
PNG = b"\x89PNG\r\n\x1a\n"


def digests_in(cadence, channel: str) -> list[dict[str, Any]]:
    return [m for m in posted_in(cadence, channel) if "digest" in str(m.get("text")).lower()]


def section_texts(message: dict[str, Any]) -> str:
    return "\n".join(
        str((b.get("text") or {}).get("text", ""))
        + "".join(str(e.get("text", "")) for e in b.get("elements") or [])
        for b in message.get("blocks") or []
    )


def four_weeks(cadence, monkeypatch) -> None:
    """An engagement with a weekly update (Mondays 09:00 Berlin, 48 h to answer) and a digest
    channel: on time in week 1 (green, KPI met), late in week 2 (amber, KPI missed), not at
    all in week 3; a high concern raised in week 2 and never acknowledged."""
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=[VENDOR], digest_channel=DIGEST)
    schedule(cadence, CREATED + timedelta(minutes=5))
    for week, monday in enumerate(MONDAYS[:3]):
        tick(cadence, monkeypatch, monday + timedelta(hours=8, minutes=1))  # 09:01 Berlin
        prompt = cadence.wait_until(
            lambda n=week: len(dms_to(cadence, VENDOR)) > n and dms_to(cadence, VENDOR)[n],
            what=f"week {week + 1}'s prompt",
        )
        if week == 0:
            with clock.fixed_at(monday + timedelta(hours=10)):
                answer_prompt(cadence, prompt, VENDOR,
                              {"rag": "green", "summary": "On track.", "kpi_1": "99.95"})  # fmt: skip
        if week == 1:
            with clock.fixed_at(monday + timedelta(days=1, hours=9)):
                raise_by_command(cadence, "concern acme-payments VPN keys shared by email",
                                 {"severity": "high", "category": "security"})  # fmt: skip
            with clock.fixed_at(monday + timedelta(days=2, hours=12)):  # past the 48 h window
                answer_prompt(cadence, prompt, VENDOR,
                              {"rag": "amber", "reason": "PSP certification slipped",
                               "summary": "Late.", "kpi_1": "99.0"})  # fmt: skip


def test_a_weekly_digest_with_the_numbers_of_four_weeks_and_its_chart(cadence, monkeypatch):
    four_weeks(cadence, monkeypatch)
    before = len(digests_in(cadence, DIGEST))
    at = MONDAYS[3] + timedelta(hours=9, minutes=1)  # Monday 09:00 UTC, the default
    tick(cadence, monkeypatch, at)
    digest = cadence.wait_until(lambda: digests_in(cadence, DIGEST)[before:], what="the digest")[-1]
    text = section_texts(digest)
    assert "1 engagement" in text and "🟠 1 amber" in text and "🔴 0 red" in text
    # On time: week 1 yes, week 2 late, week 3 missed (week 4's window is still open): 1 of 3.
    # KPIs on target: the latest figure, 99.0 against >= 99.9, missed: 0 of 1. SLAs: the high
    # concern was neither acknowledged (24 h) nor resolved (72 h) in time: 0 of 2.
    # Score = (30 × 33.3 + 30 × 0 + 25 × 0) / 85 = 11.8 → 12 (no feedback: its weight left out).
    assert "Score *12*" in text, text
    assert "on time 33%, 1 missed" in text and "KPIs on target 0%" in text
    assert "SLAs met 0%" in text
    # Weeks end Mondays 09:01 UTC; they start at the first with data (week 1's check-in, asked
    # at 08:01), not eight weeks back. Week 1: asked, answered at 10:00, after its week ended:
    # no update yet by then (–), nothing missed. Week 2: the green in force (its own answer
    # came late on Wednesday: late is not missed). Week 3: the update missed: ✗, not the amber
    # carried over. Week 4: amber, its window still open (not yet missed).
    assert "Weeks (oldest first): `–G✗A`" in text
    assert "🟠 amber · ❌ *1 update missed* · *Acme Payments*" in text
    assert "✗ update missed, – no update yet" in text  # the key, in the footer
    assert "1 high" in text and "1 past SLA" in text and "VPN keys shared by email" in text
    assert "Acme Payments" in text
    # The same numbers as the figures module computes from the same rows.
    with cadence.db.read_session() as session:
        engagement = session.exec(select(Engagement)).one()
        inputs = figures.load(session, team_id=engagement.team_id, now=at,
                              weeks=figures.TREND_WEEKS)  # fmt: skip
    computed = figures.compute(inputs, now=at, weeks=figures.TREND_WEEKS)[engagement.id]
    assert computed.scorecard.now.score == 12
    assert computed.scorecard.now.on_time == figures.Rate(1, 3)
    assert computed.missed_by_week == (0, 0, 0, 0, 0, 0, 1, 0) and computed.first_week == 4
    # Its button opens the health card.
    buttons = [b["accessory"] for b in digest["blocks"] if b.get("accessory")]
    assert [b["value"] for b in buttons] == [str(engagement.id)]
    # The chart follows in the same channel, through the three-step upload, with alt text.
    uploaded = cadence.wait_until(
        lambda: [f for f in cadence.fake.uploaded_files() if f[3] == DIGEST],
        what="the chart",
    )
    (_, name, data, _) = uploaded[-1]
    assert name.endswith(".png") and data.startswith(PNG)
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 800 and 200 <= height <= 2000
    asked = cadence.fake.calls_to("files.getUploadURLExternal")[-1].args
    assert "amber" in str(asked.get("alt_txt")) and "1 engagement" in str(asked.get("alt_txt"))
    assert "over 4 weeks to Mon 30 Nov 2026" in str(asked.get("alt_txt"))  # from week 1 on
    assert cadence.fake.calls_to("files.completeUploadExternal")[-1].ok
    # Exactly once: the same slot ticked again (or by a second process) posts nothing more.
    tick(cadence, monkeypatch, at + timedelta(minutes=1))
    tick(cadence, monkeypatch, at)
    assert len(digests_in(cadence, DIGEST)) == before + 1
    assert len([j for j in jobs_of(cadence, JobKind.DIGEST) if "2026-11-30" in j.key]) == 1
    with cadence.db.read_session() as session:
        workspace = session.exec(select(Workspace)).one()
    assert workspace.digest_last_run_at == at
    assert workspace.digest_next_run_at == utc(2026, 12, 7, 9, 0)


def test_the_first_digest_goes_out_at_the_default_monday_nine_oclock(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence, digest_channel=DIGEST)
    with cadence.db.read_session() as session:
        workspace = session.exec(select(Workspace)).one()
    assert workspace.digest_next_run_at == utc(2026, 11, 9, 9, 0)  # Monday 09:00 UTC
    tick(cadence, monkeypatch, utc(2026, 11, 9, 8, 59))
    assert digests_in(cadence, DIGEST) == []
    tick(cadence, monkeypatch, utc(2026, 11, 9, 9, 0))
    (digest,) = cadence.wait_until(lambda: digests_in(cadence, DIGEST), what="the digest")
    assert "🟢 0 green" in section_texts(digest) and "without an update" in section_texts(digest)


def test_a_preview_goes_to_the_requester_alone(cadence):
    with clock.fixed_at(CREATED):
        create_engagement(cadence, digest_channel=DIGEST)
        reply = cadence.sim.command("digest preview", user=VENDOR)
    assert "Only you see it" in text_of(reply.json)
    dm = cadence.wait_until(
        lambda: [m for m in dms_to(cadence, VENDOR) if "digest preview" in str(m.get("text"))],
        what="the preview",
    )[-1]
    assert "Acme Payments" in section_texts(dm)
    channel = cadence.fake.dm_channel_id(VENDOR)
    cadence.wait_until(
        lambda: [f for f in cadence.fake.uploaded_files() if f[3] == channel],
        what="the preview's chart in the DM",
    )
    assert digests_in(cadence, DIGEST) == []
    # Someone on no engagement has nothing to preview, and is told so at once.
    reply = cadence.sim.command("digest preview", user=OUTSIDER)
    assert "not part of any engagement" in text_of(reply.json)


@pytest.mark.parametrize(
    "user,allowed", [(ADMIN, True), (OUTSIDER, True), (LEAD, False), (VENDOR, False)]
)
def test_who_may_send_the_digest_now(cadence, user, allowed):
    """The workspace's stewards: a Cadence admin, a Slack admin (OUTSIDER is made one here,
    on no engagement); leading an engagement is not enough (anyone may lead one)."""
    cadence.fake.add_user(OUTSIDER, name="otto.other", tz="UTC", is_admin=True)
    with clock.fixed_at(CREATED):
        create_engagement(cadence, digest_channel=DIGEST)
        reply = cadence.sim.command("digest send", user=user)
    if not allowed:
        assert "Only a Cadence admin or a Slack admin or owner of this workspace" in text_of(
            reply.json
        )
        assert jobs_of(cadence, JobKind.DIGEST) == []
        return
    assert "Posting the digest to <#C0DIGEST>" in text_of(reply.json)
    cadence.wait_until(lambda: digests_in(cadence, DIGEST), what="the digest")
    cadence.wait_until(
        lambda: [f for f in cadence.fake.uploaded_files() if f[3] == DIGEST], what="its chart"
    )


def test_send_without_a_digest_channel_says_how_to_get_one(cadence):
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
        reply = cadence.sim.command("digest send", user=ADMIN)
    assert "There is no digest channel yet" in text_of(reply.json)
    assert jobs_of(cadence, JobKind.DIGEST) == []


# --- the builder at volume (pure: figures in, message out) --------------------------------------


def many(n: int, now) -> list[figures.Figures]:
    """`n` engagements of every colour, with long names and concerns, computed by figures."""
    out = []
    for i in range(n):
        rag = ("red", "amber", "green", None)[i % 4]
        updates = () if rag is None else (figures.Update(i, rag, now - timedelta(days=i % 20 + 1)),)
        concerns = tuple(
            figures.ConcernRow(
                concern_id=i * 10 + k,
                severity=("critical", "high", "medium")[k % 3],
                status="open",
                raised_at=now - timedelta(days=k + 2),
                acknowledge_due_at=now - timedelta(days=1),
                title="A long title " * 8,
            )
            for k in range(i % 5)
        )
        inputs = figures.Inputs(
            engagement_id=i + 1, name=f"Engagement number {i} with a long name " * 2,
            handle=f"eng-{i}", updates=updates, concerns=concerns,
        )  # fmt: skip
        out.append(figures.compute_one(inputs, now=now, weeks=figures.TREND_WEEKS))
    return out


@pytest.mark.parametrize("n", [1, 12, 60, 300])
def test_hundreds_of_engagements_stay_within_slacks_limits(n):
    now = utc(2026, 11, 30, 9)
    message = digest_message(many(n, now), DigestScope(now=now, since=now - timedelta(days=7)))
    blocks = message["blocks"]
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    for block in blocks:
        text = str((block.get("text") or {}).get("text", ""))
        assert len(text) <= MAX_SECTION_TEXT
        assert not text.endswith("…"), "never cut mid-sentence"
    text = section_texts(message)
    # Every engagement is detailed, listed on a line, or counted: none disappears.
    detailed = sum(1 for b in blocks if b.get("block_id", "").startswith("digest-"))
    listed = sum(text.count(f"`eng-{i}`") for i in range(n))
    assert listed == n or "more (" in text
    if "more (" in text:
        counted = int(text.split("…and ")[1].split(" more")[0])
        assert listed + counted == n
    assert detailed >= 1
    # Red first.
    first = next(b for b in blocks if b.get("block_id", "").startswith("digest-"))
    assert "🔴" in first["text"]["text"]


def test_the_headline_counts_a_missed_update_apart_from_no_update_yet():
    from bot.blocks.digest import headline
    from bot.domain.figures import Asked, Inputs

    now = utc(2026, 11, 30, 9)
    at = now - timedelta(days=2)  # a day's window, closed unanswered
    asked = (Asked(1, VENDOR, "pending", at, at + timedelta(days=1)),)
    missed = figures.compute_one(Inputs(1, "A", "a", asked=asked), now=now, weeks=8)
    quiet = figures.compute_one(Inputs(2, "B", "b"), now=now, weeks=8)
    assert headline([missed, quiet]) == (
        "*2 engagements*: 🔴 0 red · 🟠 0 amber · 🟢 0 green · ❌ 1 missed their update · "
        "⚪ 1 without an update yet"
    )
