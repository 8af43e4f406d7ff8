"""Where status update summaries go: into the thread of their check-in's message in the
engagement channel, so the channel stays quiet (one message per check-in), unless the engagement
asks for them in the channel itself."""

from __future__ import annotations

from conftest import ACME, VENDOR
from engine_flows import answer_prompt, dms_to, posted_in, schedule, tick, utc
from flows import create_engagement, text_of

from bot.platform import clock

CREATED = utc(2026, 11, 25, 10, 0)
MON = utc(2026, 11, 30, 8, 0)  # Monday 09:00 in Berlin
OTHER_VENDOR = "U0VENDORTWO"
ANSWER = {"rag": "green", "summary": "All on plan this week."}


def answer_by_dm(cadence, user: str) -> None:
    prompt = next(p for p in dms_to(cadence, user) if "Time for" in text_of(p))
    with clock.fixed_at(utc(2026, 11, 30, 10, 0)):
        answer_prompt(cadence, prompt, user, ANSWER)


def summaries(cadence) -> list[dict]:
    return [m for m in cadence.fake.messages(ACME) if "All on plan this week." in text_of(m)]


def test_summaries_of_a_dm_check_in_share_one_thread_in_the_channel(cadence, monkeypatch):
    cadence.fake.add_user(OTHER_VENDOR, name="val.vendor", tz="Asia/Kolkata")
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=[VENDOR, OTHER_VENDOR])
    schedule(cadence, CREATED)
    tick(cadence, monkeypatch, MON)
    answer_by_dm(cadence, VENDOR)
    answer_by_dm(cadence, OTHER_VENDOR)

    posted = cadence.wait_until(lambda: len(summaries(cadence)) == 2 and summaries(cadence),
                                what="both summaries")  # fmt: skip
    starters = [
        m for m in posted_in(cadence, ACME) if "The answers are in this thread" in text_of(m)
    ]
    assert len(starters) == 1  # one message per check-in, however many answer
    starter = next(
        m for m in cadence.fake.messages(ACME) if "The answers are in this thread" in text_of(m)
    )
    # Readers in a channel each see the slot in their own zone, Slack's date token; a client
    # that cannot show it reads the engagement's zone
    # (https://api.slack.com/reference/surfaces/formatting#date-formatting).
    slot = int(utc(2026, 11, 30, 8, 0).timestamp())  # 09:00 in Berlin
    token = f"<!date^{slot}^{{date_short_pretty}} {{time}}|Mon 30 Nov 09:00 CET>"
    assert "Acme Payments" in text_of(starter) and token in text_of(starter)
    assert {m.get("thread_ts") for m in posted} == {starter["ts"]}


def test_a_channel_check_in_takes_the_summaries_in_its_prompts_thread(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
    schedule(cadence, CREATED, delivery="channel")
    tick(cadence, monkeypatch, MON)
    prompt = next(p for p in posted_in(cadence, ACME) if "Time for" in text_of(p))
    prompt_message = next(m for m in cadence.fake.messages(ACME) if "Time for" in text_of(m))
    with clock.fixed_at(utc(2026, 11, 30, 10, 0)):
        answer_prompt(cadence, prompt, VENDOR, ANSWER)
    (summary,) = cadence.wait_until(lambda: summaries(cadence), what="the summary")
    assert summary.get("thread_ts") == prompt_message["ts"]
    assert not [
        m for m in posted_in(cadence, ACME) if "The answers are in this thread" in text_of(m)
    ]


def test_an_engagement_may_keep_summaries_in_the_channel(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence, summaries=["summaries_in_channel"])
    schedule(cadence, CREATED)
    tick(cadence, monkeypatch, MON)
    answer_by_dm(cadence, VENDOR)
    (summary,) = cadence.wait_until(lambda: summaries(cadence), what="the summary")
    assert "thread_ts" not in summary
    assert not [
        m for m in posted_in(cadence, ACME) if "The answers are in this thread" in text_of(m)
    ]


def test_an_ad_hoc_update_goes_in_the_channel(cadence):
    create_engagement(cadence)
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.command("update acme-payments", user=VENDOR)
    view = cadence.fake.view(
        cadence.fake.wait_for("views.open", before + 1)[-1].response["view"]["id"]
    )
    assert cadence.sim.submit_view(view, ANSWER, user=VENDOR).body == ""
    (summary,) = cadence.wait_until(lambda: summaries(cadence), what="the summary")
    assert "thread_ts" not in summary
