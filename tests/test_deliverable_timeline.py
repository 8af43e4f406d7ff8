"""The deliverables' timeline picture: the drawing is a real PNG of the size it says, which
changes when a deliverable slips, with alt text that says in words what is drawn; the command,
sent as a signed request, uploads exactly one PNG to the asker's DM (by an engine job, with
that alt text), and only to people who may see the engagement's deliverables."""

from __future__ import annotations

import io
import struct
from dataclasses import replace
from datetime import date, timedelta

from conftest import EXTERNAL, LEAD, STAKEHOLDER, VENDOR, Cadence
from flows import create_engagement, ephemeral_replies, text_of
from matplotlib import image
from sqlmodel import select
from test_deliverables import DUE, NOW, add, step

from bot.blocks import timeline
from bot.domain.deliverable_timeline import Mark, Replan, Timeline, TimelineItem, arrange
from bot.platform import clock
from storage.jobs import JobKind
from storage.models import Engagement, EngagementMember, ScheduledJob

PNG = b"\x89PNG\r\n\x1a\n"
D = date
TODAY = D(2026, 12, 14)


def size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def realistic(**changes) -> Timeline:
    """8 deliverables under 2 milestones (and 2 under none): one slipped twice, one rejected
    then accepted, one overdue, one cancelled, one pulled in."""
    items = [
        TimelineItem(1, "Cutover runbook", "Cutover", "accepted", D(2026, 12, 4), D(2026, 12, 4),
                     marks=(Mark(D(2026, 12, 3), "submitted"), Mark(D(2026, 12, 4), "accepted"))),
        TimelineItem(2, "Load test report", "Cutover", "accepted", D(2026, 12, 11),
                     D(2026, 12, 11), rework=1,
                     marks=(Mark(D(2026, 12, 8), "submitted"), Mark(D(2026, 12, 9), "rejected"),
                            Mark(D(2026, 12, 10), "submitted"), Mark(D(2026, 12, 11), "accepted"))),
        TimelineItem(3, "Data migration scripts", "Cutover", "in_progress", D(2026, 12, 9),
                     D(2026, 12, 23), replans=(Replan(D(2026, 12, 9), D(2026, 12, 16)),
                                               Replan(D(2026, 12, 16), D(2026, 12, 23)))),
        TimelineItem(4, "Firewall change request", "Cutover", "in_progress", D(2026, 12, 10),
                     D(2026, 12, 10), overdue=True),
        TimelineItem(5, "Training materials", "Go-live", "submitted", D(2027, 1, 8),
                     D(2027, 1, 8), marks=(Mark(D(2026, 12, 14), "submitted"),)),
        TimelineItem(6, "Hypercare rota", "Go-live", "planned", D(2027, 1, 15), D(2027, 1, 15)),
        TimelineItem(7, "Legacy report export", "", "cancelled", D(2026, 12, 18),
                     D(2026, 12, 18), marks=(Mark(D(2026, 12, 7), "cancelled"),)),
        TimelineItem(8, "Security sign-off", "", "planned", D(2027, 1, 6), D(2026, 12, 30),
                     replans=(Replan(D(2027, 1, 6), D(2026, 12, 30)),)),
    ]  # fmt: skip
    ordered, milestones = arrange(items)
    fields = {"items": ordered, "milestones": milestones, **changes}
    return Timeline(1, "Acme Payments", "acme-payments", "Europe/Berlin", TODAY, **fields)


def test_the_picture_is_a_png_of_the_size_it_says_and_decodes():
    drawn = realistic()
    png = timeline.timeline_png(drawn)
    assert size(png) == (timeline.WIDTH_PX, timeline.timeline_height_px(drawn))
    pixels = image.imread(io.BytesIO(png), format="png")  # decodes the whole image
    assert pixels.shape[:2] == (timeline.timeline_height_px(drawn), 1200)
    assert pixels.min() < 0.2 and pixels.max() > 0.9  # something is drawn on white


def test_milestones_group_their_deliverables_and_rows_say_their_state_in_words():
    drawn = realistic()
    assert [(m.name, m.due, m.state) for m in drawn.milestones] == [
        ("Cutover", D(2026, 12, 23), "late"),
        ("Go-live", D(2027, 1, 15), "open"),
    ]
    assert [i.deliverable_id for i in drawn.items] == [1, 3, 4, 2, 5, 6, 7, 8]
    fig = timeline._draw(drawn)
    texts = {t.get_gid(): [] for t in fig.axes[0].texts}
    for t in fig.axes[0].texts:
        texts[t.get_gid()].append(t.get_text())
    assert texts["milestone"] == ["Milestone: Cutover", "Milestone: Go-live", "No milestone"]
    words = dict(zip(texts["row-title"], texts["row-words"], strict=True))
    assert words["#3 Data migration scripts"] == "in progress · slipped twice (+14 d)"
    assert words["#4 Firewall change request"] == "overdue 4 days"
    assert words["#2 Load test report"] == "accepted · rejected once"
    assert words["#7 Legacy report export"] == "cancelled"
    assert words["#8 Security sign-off"] == "planned"  # pulled in: no slip
    assert texts["today"] == ["today 14 Dec"]


def test_a_slip_changes_the_picture():
    before = realistic()
    six = next(i for i in before.items if i.deliverable_id == 6)
    slipped = replace(six, due=D(2027, 1, 22), replans=(Replan(D(2027, 1, 15), D(2027, 1, 22)),))
    after = realistic(items=tuple(slipped if i is six else i for i in before.items))
    assert timeline.timeline_png(before) == timeline.timeline_png(realistic())  # deterministic
    assert timeline.timeline_png(after) != timeline.timeline_png(before)
    arrows = [a for a in timeline._draw(after).axes[0].texts if a.get_gid() == "slip"]
    assert len(arrows) == 4  # #3's two, #8's pull-in, and #6's new one


def test_the_alt_text_says_what_is_drawn():
    text = timeline.timeline_alt_text(realistic())
    assert text.startswith("Timeline of 8 deliverables of Acme Payments")
    assert "1 overdue" in text and "2 accepted" in text and "1 cancelled" in text
    assert "Cutover 23 Dec (late, 4 deliverables)" in text
    assert "Firewall change request (due 10 Dec, 4 days late)" in text
    assert "Data migration scripts twice, 9 Dec → 16 Dec → 23 Dec (+14 days)" in text
    assert "Load test report once, now accepted" in text
    assert len(text) <= timeline.MAX_ALT_TEXT


def test_many_deliverables_stay_a_bounded_picture_with_short_alt_text():
    base = realistic().items[0]
    items = tuple(
        replace(base, deliverable_id=n, title=f"Deliverable number {n} " * 4) for n in range(90)
    )
    ordered, milestones = arrange(items)
    drawn = realistic(items=ordered, milestones=milestones)
    assert size(timeline.timeline_png(drawn))[1] == timeline.timeline_height_px(drawn) < 2400
    assert len(timeline.timeline_alt_text(drawn)) <= timeline.MAX_ALT_TEXT


def test_no_deliverables_is_a_small_picture_that_says_so():
    drawn = realistic(items=(), milestones=())
    assert size(timeline.timeline_png(drawn)) == (1200, timeline.EMPTY_HEIGHT_PX)
    assert "no deliverables yet" in timeline.timeline_alt_text(drawn)


# --- the command, end to end -------------------------------------------------------------------


def uploads_to(cadence: Cadence, user: str) -> list[tuple[str, str, bytes, str | None]]:
    dm = cadence.fake.dm_channel_id(user)
    return [f for f in cadence.fake.uploaded_files() if f[3] == dm]


def test_the_command_uploads_one_png_with_alt_text_to_the_asker(cadence):
    with clock.fixed_at(NOW - timedelta(days=1)):
        create_engagement(cadence, stakeholders=[STAKEHOLDER])
    add(cadence, "Cutover runbook")
    add(cadence, "Load test report", milestone="Go-live")
    step(cadence, "replan", {"due_on": (DUE + timedelta(days=4)).isoformat(),
                             "reason": "Firewall rules late."}, user=LEAD)  # fmt: skip
    with clock.fixed_at(NOW):
        reply = cadence.sim.command("deliverables acme-payments chart", user=STAKEHOLDER)
    assert reply.status == 200
    assert "arrives in your DM" in text_of(reply.json or {})
    files = cadence.wait_until(lambda: uploads_to(cadence, STAKEHOLDER), what="the timeline")
    (_, name, data, _) = files[0]
    assert name == "cadence-acme-payments-timeline.png"
    assert data.startswith(PNG) and size(data)[0] == 1200
    asked = cadence.fake.calls_to("files.getUploadURLExternal")[-1].args
    alt = str(asked.get("alt_txt"))
    assert alt.startswith("Timeline of 2 deliverables of Acme Payments")
    assert "Slipped: Load test report once, 11 Dec → 15 Dec (+4 days)" in alt
    completed = cadence.fake.calls_to("files.completeUploadExternal")[-1]
    assert completed.ok and "Load test report once" in str(completed.args.get("initial_comment"))
    # Exactly one: one job, one upload, nothing to the lead who asked nothing.
    with cadence.db.read_session() as session:
        kinds = session.exec(
            select(ScheduledJob).where(ScheduledJob.kind == JobKind.DELIVERABLE_TIMELINE)
        ).all()
    assert len(kinds) == 1 and kinds[0].user_id == STAKEHOLDER
    assert len(uploads_to(cadence, STAKEHOLDER)) == 1 and uploads_to(cadence, LEAD) == []


def test_only_people_who_may_see_the_engagement_get_it(cadence):
    with clock.fixed_at(NOW - timedelta(days=1)):
        create_engagement(cadence, vendor_contacts=[VENDOR])  # EXTERNAL is not on it
    add(cadence, "Cutover runbook")
    with clock.fixed_at(NOW):
        refused = cadence.sim.command(
            "deliverables acme-payments chart", user=EXTERNAL, user_team_id="T0VENDORCO"
        )
        missing = cadence.sim.command("deliverables chart", user=LEAD)
    said = text_of(refused.json or {}) or text_of(
        (ephemeral_replies(cadence, refused.response_url) or [{}])[-1]
    )
    assert "You are not on Acme Payments" in said
    # On it, but of another organisation: Slack lets no app DM them a file; told why.
    with cadence.db.session() as session:
        engagement = session.exec(select(Engagement)).one()
        session.add(EngagementMember(team_id=engagement.team_id, engagement_id=engagement.id,
                                     user_id=EXTERNAL, role="vendor"))  # fmt: skip
    with clock.fixed_at(NOW):
        elsewhere = cadence.sim.command(
            "deliverables acme-payments chart", user=EXTERNAL, user_team_id="T0VENDORCO"
        )
    assert "only in shared channels, not by DM" in text_of(elsewhere.json or {})
    assert "Say which engagement's timeline" in text_of(missing.json or {})
    with cadence.db.read_session() as session:
        planned = session.exec(
            select(ScheduledJob).where(ScheduledJob.kind == JobKind.DELIVERABLE_TIMELINE)
        ).all()
    assert planned == []
    assert cadence.fake.calls_to("files.getUploadURLExternal") == []


def test_one_day_is_said_as_one_day():
    """A slip of a single day, and a deliverable a single day late, read '1 day', not '1 days'."""
    before = realistic()
    six = next(i for i in before.items if i.deliverable_id == 6)
    slipped = replace(six, due=D(2027, 1, 16), replans=(Replan(D(2027, 1, 15), D(2027, 1, 16)),))
    text = timeline.timeline_alt_text(
        realistic(items=tuple(slipped if i is six else i for i in before.items))
    )
    assert "(+1 day)" in text, text
    assert "1 days" not in text
