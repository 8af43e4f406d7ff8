"""The Home tab, as each person meets it: a vendor sees the check-in waiting for them with its
button, a lead sees their engagements with RAG, trend and score (the same numbers the figures
give everywhere), a stakeholder sees the concern they raised, an outsider is told how to start;
and once someone has opened it, it is published again after whatever changes it for them."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from conftest import EXTERNAL, LEAD, OUTSIDER, STAKEHOLDER, VENDOR, Cadence
from engine_flows import answer_prompt, checkins_of, dms_to, jobs_of, schedule, tick, utc
from flows import create_engagement, text_of, wait_reply
from test_concerns import raise_by_command, the_concern

from bot.blocks.home import MAX_HOME_BLOCKS, home_view
from bot.demo.fake_slack import validate_view
from bot.domain import home
from bot.platform import clock
from storage import job_keys
from storage.jobs import JobKind, JobStatus

CREATED = utc(2026, 11, 25, 10, 0)  # a Wednesday
MON = utc(2026, 11, 30, 8, 0)  # Monday 09:00 in Berlin: the first check-in opens


def set_up(cadence: Cadence) -> None:
    with clock.fixed_at(CREATED):
        create_engagement(cadence)  # lead LEAD; vendors VENDOR, EXTERNAL; stakeholder STAKEHOLDER
    schedule(cadence, CREATED)  # weekly status update from the vendor contacts, by DM


def publishes_to(cadence: Cadence, user: str) -> list[Any]:
    return [c for c in cadence.fake.calls_to("views.publish") if c.args.get("user_id") == user]


def open_home(cadence: Cadence, user: str, at) -> dict[str, Any]:
    """The person opens the Home tab at `at`; the view Slack then shows them."""
    before = len(publishes_to(cadence, user))
    with clock.fixed_at(at):
        cadence.sim.app_home_opened(user)
    cadence.wait_until(lambda: len(publishes_to(cadence, user)) > before, what="the home tab")
    view = cadence.fake.home_view(user)
    assert view is not None and validate_view(view) == []
    assert len(view["blocks"]) <= MAX_HOME_BLOCKS
    return view


def text(view: dict[str, Any]) -> str:
    return text_of({"blocks": view["blocks"]})


def buttons(view: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (b["accessory"]["action_id"], b["accessory"]["value"])
        for b in view["blocks"]
        if b.get("accessory", {}).get("type") == "button"
    ]


def answer_amber_then_raise_a_concern(cadence: Cadence, home: dict[str, Any]) -> None:
    """The vendor answers from their Home (amber) at MON+2h; at MON+3h the stakeholder raises a
    high security concern the vendor owns (test_home_json.py walks the same flow)."""
    before = len(cadence.fake.calls_to("views.open"))
    with clock.fixed_at(MON + timedelta(hours=2)):
        cadence.sim.click(home, "checkin_answer", user=VENDOR)
        opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
        form = cadence.fake.view(opened.response["view"]["id"])
        cadence.sim.submit_view(
            form, {"rag": "amber", "summary": "Slipping.", "reason": "The PSP's sign-off."},
            user=VENDOR,
        )  # fmt: skip
    with clock.fixed_at(MON + timedelta(hours=3)):
        raise_by_command(
            cadence,
            "concern acme-payments Card data in the logs",
            {"severity": "high", "category": "security", "description": "Seen in staging."},
            user=STAKEHOLDER,
        )
    cadence.wait_until(lambda: the_concern(cadence), what="the concern")


def test_each_person_sees_their_own_home(cadence, monkeypatch):
    set_up(cadence)
    tick(cadence, monkeypatch, MON)
    (checkin,) = checkins_of(cadence)

    # The vendor: the check-in waiting for them, with the button that opens its form.
    home = open_home(cadence, VENDOR, MON + timedelta(hours=1))
    assert "Waiting for your answer* (1)" in text(home)
    assert "Status update for *Acme Payments*" in text(home)
    assert buttons(home) == [("checkin_answer", str(checkin.id))]
    assert "vendor contact" in text(home) and "No update yet" in text(home)

    # They answer from Home (amber); the stakeholder raises a concern the vendor owns.
    answer_amber_then_raise_a_concern(cadence, home)

    # The lead: the engagement with its RAG, trend, score and on-time rate, worked out by hand
    # from what was seeded. Trend: from the first week with data (the first check-in's, this
    # one), which holds an update (amber). On time: the vendor answered within the 48-hour window (met); the external
    # engineer's window is still open, so it is not yet counted: 1 of 1. Score: of its parts
    # only on-time has something to count (no KPI figure reported; the high concern is inside
    # its 24 h and 72 h clocks; no feedback), so 100 × 30 ÷ 30 = 100; nothing four weeks
    # before, so no change.
    at = MON + timedelta(hours=4)
    home = open_home(cadence, LEAD, at)
    seen = text(home)
    assert "🟠 *Amber* · *Acme Payments*" in seen and "you: lead" in seen
    assert "1-week trend `A` · score 100/100 · on time: 100% (1 of 1)" in seen
    assert "Waiting for your answer" not in seen and buttons(home) == []

    # The stakeholder: the concern they raised.
    home = open_home(cadence, STAKEHOLDER, at)
    assert "Your open concerns* (1)" in text(home) and "Card data in the logs" in text(home)
    assert "you: stakeholder" in text(home)

    # Someone outside every engagement: how to start.
    home = open_home(cadence, OUTSIDER, at)
    assert "not part of any engagement" in text(home)
    assert "Your engagements" not in text(home)


def test_a_missed_update_says_so_in_words_on_the_leads_home(cadence, monkeypatch):
    set_up(cadence)
    tick(cadence, monkeypatch, MON)
    # Nobody answers; the 48-hour window closes on Wednesday 08:00 UTC.
    tick(cadence, monkeypatch, MON + timedelta(hours=49))
    seen = text(open_home(cadence, LEAD, MON + timedelta(hours=50)))
    # Both vendor contacts missed: said in words where the RAG would be, not "No update yet";
    # the trend starts at the week of the first check-in and marks it ✗ with its key; the
    # on-time rate says "none on time: 2 missed", never "0%". The score has only on-time to
    # count, 0 of 2: 0 × 20 ÷ 20 = 0.
    assert "❌ *2 updates missed* · *Acme Payments*" in seen
    assert "1-week trend `✗` (✗ missed) · score 0/100 · on time: none on time: 2 missed" in seen
    assert "No update yet" not in seen and "0%" not in seen


def test_once_opened_home_is_published_again_after_each_change_for_that_person(
    cadence, monkeypatch
):
    set_up(cadence)
    # The vendor opens Home before anything waits for them; nobody else ever opens it.
    home = open_home(cadence, VENDOR, CREATED + timedelta(hours=1))
    assert "Waiting for your answer" not in text(home)

    # A check-in opens for them: their Home is published again, with it.
    published = len(publishes_to(cadence, VENDOR))
    tick(cadence, monkeypatch, MON)
    tick(cadence, monkeypatch, MON + timedelta(minutes=1))
    cadence.wait_until(lambda: len(publishes_to(cadence, VENDOR)) > published, what="republish")
    assert "Waiting for your answer* (1)" in text(cadence.fake.home_view(VENDOR))

    # They answer from the prompt: published again, without the check-in.
    published = len(publishes_to(cadence, VENDOR))
    prompt = cadence.wait_until(lambda: dms_to(cadence, VENDOR), what="the prompt")[0]
    with clock.fixed_at(MON + timedelta(hours=1)):
        answer_prompt(cadence, prompt, VENDOR, {"rag": "green", "summary": "On track."})
    cadence.wait_until(
        lambda: len(publishes_to(cadence, VENDOR)) > published, what="the home after the answer"
    )
    cadence.wait_until(
        lambda: "Waiting for your answer" not in text(cadence.fake.home_view(VENDOR)),
        what="the home without the check-in",
    )
    assert "🟢 *Green*" in text(cadence.fake.home_view(VENDOR))

    # Each is a HOME job for the vendor alone, recorded sent (views.publish has no ts).
    home_jobs = cadence.wait_until(
        lambda: (
            (found := jobs_of(cadence, JobKind.HOME))
            and all(j.status == JobStatus.SENT for j in found)
            and found
        ),
        what="the home jobs sent",
    )
    assert {j.user_id for j in home_jobs} == {VENDOR}
    assert {j.result_ts for j in home_jobs} == {None}
    # Each the first of its window (the check-in opening, the answer an hour later): at once.
    windows = {j.key.split(":at=")[1] for j in home_jobs}
    assert {j.key for j in home_jobs} == {f"home:user={VENDOR}:at={w}" for w in windows}
    assert len(windows) == 2
    # The lead, the stakeholder and the other vendor contact (prompted too) never opened it.
    for never in (LEAD, STAKEHOLDER, EXTERNAL):
        assert publishes_to(cadence, never) == []


def test_a_concern_changing_republishes_the_home_of_whoever_raised_it(cadence):
    set_up(cadence)
    open_home(cadence, STAKEHOLDER, CREATED + timedelta(hours=1))
    published = len(publishes_to(cadence, STAKEHOLDER))
    with clock.fixed_at(CREATED + timedelta(hours=2)):
        raise_by_command(
            cadence,
            "concern acme-payments Card data in the logs",
            {"severity": "high", "category": "security", "description": "Seen in staging."},
            user=STAKEHOLDER,
        )
    cadence.wait_until(
        lambda: "Card data in the logs" in text(cadence.fake.home_view(STAKEHOLDER)),
        what="the home with the concern",
    )
    assert len(publishes_to(cadence, STAKEHOLDER)) > published
    # The owner (the vendor, who never opened Home) gets nothing published.
    assert publishes_to(cadence, VENDOR) == []


def test_a_burst_of_changes_publishes_a_home_at_once_and_once_more_at_the_windows_end(
    cadence, monkeypatch
):
    """Three concerns raised within seconds: the stakeholder's Home is published at once (the
    window's first change) and once more when the window is over, showing all three; the
    second and third change are one job (views.publish is Tier 4 per workspace: a busy Monday
    must not spend it on one person's Home)."""
    set_up(cadence)
    open_home(cadence, STAKEHOLDER, CREATED + timedelta(hours=1))
    published = len(publishes_to(cadence, STAKEHOLDER))
    at = CREATED + timedelta(hours=2)  # 12:00:00, the start of a window
    titles = ("Card data in the logs", "Backups never restored", "No on-call rota")
    for i, title in enumerate(titles):
        with clock.fixed_at(at + timedelta(seconds=i)):
            raise_by_command(
                cadence,
                f"concern acme-payments {title}",
                {"severity": "medium", "category": "security", "description": "Seen."},
                user=STAKEHOLDER,
            )
    window = home.window_of(at)
    first, then = job_keys.home(STAKEHOLDER, window), job_keys.home(STAKEHOLDER, window, then=True)

    def mine() -> dict[str, Any]:
        return {j.key: j for j in jobs_of(cadence, JobKind.HOME) if j.user_id == STAKEHOLDER}

    cadence.wait_until(lambda: mine().get(first) and mine()[first].status == JobStatus.SENT,
                       what="the window's first refresh sent")  # fmt: skip
    assert set(mine()) == {first, then}
    assert mine()[then].status == JobStatus.PENDING
    assert mine()[then].due_at.replace(tzinfo=UTC) == window + home.HOME_WINDOW
    assert len(publishes_to(cadence, STAKEHOLDER)) == published + 1

    tick(cadence, monkeypatch, window + home.HOME_WINDOW)
    cadence.wait_until(lambda: mine()[then].status == JobStatus.SENT, what="the window's end")
    assert len(publishes_to(cadence, STAKEHOLDER)) == published + 2
    shown = text(cadence.fake.home_view(STAKEHOLDER))
    assert all(title in shown for title in titles), shown


def test_archiving_an_engagement_takes_it_off_its_members_home(cadence):
    set_up(cadence)
    home = open_home(cadence, STAKEHOLDER, CREATED + timedelta(hours=1))
    assert "Acme Payments" in text(home)
    with clock.fixed_at(CREATED + timedelta(hours=2)):
        question = wait_reply(cadence, cadence.sim.command("engagement archive acme-payments"))
        cadence.sim.click(question, "engagement_archive_confirm", user=LEAD)
    cadence.wait_until(
        lambda: "not part of any engagement" in text(cadence.fake.home_view(STAKEHOLDER)),
        what="the home without the archived engagement",
    )


def test_a_home_with_everything_at_once_stays_within_slacks_limits():
    """Hundreds of engagements, twenty check-ins and many concerns: at most 100 blocks, and
    what does not fit is counted, never cut off mid-list."""
    from test_engagement_rules import details

    view = home_view("U1", [(details(i), ("lead",)) for i in range(1000)])
    assert validate_view(view) == [] and len(view["blocks"]) <= MAX_HOME_BLOCKS
    assert "more: `/cadence engagement list`" in str(view["blocks"][-3])
    assert "`/cadence help` lists every command." in str(view["blocks"][-1])
