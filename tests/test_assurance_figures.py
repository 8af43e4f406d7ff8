"""The assurance and contract figures against hand-computed values, and the same numbers in every
view: the health card, the digest, the scorecard and the export.

The story: Acme Payments' register holds eight pieces of evidence in every state (seeded as the
register's forms leave them), and its contract renews by itself unless notice is given 30 days
before its end, 100 days away. Worked by hand on the engagement's day TODAY:

| # | kind              | required | status    | last valid day | accepted (reviewed) |
|---|-------------------|----------|-----------|----------------|---------------------|
| 1 | SOC 2 Type II     | yes      | accepted  | TODAY + 20     | 50 days ago         |
| 2 | ISO 27001         | yes      | accepted  | TODAY + 3      | 10 days ago         |
| 3 | Penetration test  | yes      | rejected  | –              | –                   |
| 4 | DPA               | yes      | accepted  | none (lasting) | 10 days ago         |
| 5 | Cyber insurance   | yes      | expired   | TODAY − 2      | 100 days ago        |
| 6 | BCP test          | yes      | waived    | –              | –                   |
| 7 | Background checks | no       | accepted  | TODAY − 40     | 90 days ago         |
| 8 | Red team exercise | no       | requested | –              | –                   |

- Coverage: required and not waived are 1–5; accepted and valid today 1, 2, 4: 3 of 5.
- Expiring within 30 days (accepted, last day ahead): 2 then 1, soonest first. Expired: 5
  (required first), then 7 (accepted, its last day passed before its clock ran).
- Since the last digest (a week ago): 5 expired; 2 expires this week (3 days ahead).
- The scorecard's assurance part: now 3 of 5 (60 %); four weeks ago, items accepted by then and
  valid that day: 1 and 5 (2 and 4 were accepted since): 2 of 5 (40 %). Nothing else to count,
  so the score is 60, up 20 points.
- The contract: the last day to give notice is TODAY + 70, within 90 days.
Driven through signed requests against the stand-in Slack, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from conftest import LEAD, TEAM, VENDOR
from engine_flows import dms_to, utc
from flows import create_engagement, text_of, wait_reply
from sqlmodel import select
from test_digest import section_texts
from test_export import export_files

from bot.blocks.contract import day
from bot.domain import figures
from bot.domain.assurance import diligence, queries
from bot.platform import clock
from storage.models import AssuranceItem, Engagement

NOW = utc(2026, 12, 10, 12, 0)  # a Thursday
DAY = timedelta(days=1)
# kind, required, status, last valid day (days from today; None: none), reviewed (days ago)
ITEMS: list[tuple[str, str, bool, str, int | None, int | None]] = [
    ("soc2_type2", "SOC 2 Type II report", True, "accepted", 20, 50),
    ("iso27001", "ISO 27001 certificate", True, "accepted", 3, 10),
    ("pen_test", "Penetration test", True, "rejected", None, 5),
    ("dpa", "Data processing agreement", True, "accepted", None, 10),
    ("cyber_insurance", "Cyber insurance", True, "expired", -2, 100),
    ("bcp_test", "Business continuity test", True, "waived", None, None),
    ("background_checks", "Background checks", False, "accepted", -40, 90),
    ("red_team", "Red team exercise", False, "requested", None, None),
]


def set_up(cadence) -> tuple[Engagement, date, list[int]]:
    """The engagement (made with the real form), its contract's dates and its evidence."""
    with clock.fixed_at(NOW - 60 * DAY):
        engagement = create_engagement(cadence)
    today = figures.local_day(NOW, engagement.timezone)
    ids = []
    with cadence.db.session() as session:
        row = session.get(Engagement, engagement.id)
        row.contract_start = today - 265 * DAY
        row.contract_end = today + 100 * DAY
        row.contract_renews = True
        row.notice_days = 30
        session.add(row)
        for type_key, title, required, status, until, reviewed in ITEMS:
            item = AssuranceItem(
                team_id=TEAM, engagement_id=engagement.id, type_key=type_key, title=title,
                required=required, status=status, owner_user_id=VENDOR, reviewers=[],
                valid_until=today + until * DAY if until is not None else None,
                evidence_link=f"https://evidence.example/{type_key}" if reviewed else "",
                reason="=HYPERLINK(\"https://evil.example\")" if status == "rejected" else "",
                rounds=1 if reviewed else 0, created_by=LEAD, created_at=NOW - 60 * DAY,
                updated_at=NOW - DAY, requested_at=NOW - 60 * DAY,
                reviewed_at=NOW - reviewed * DAY if reviewed is not None else None,
            )  # fmt: skip
            session.add(item)
            session.flush()
            ids.append(item.id)
    return engagement, today, ids


def computed(cadence, engagement: Engagement) -> figures.Figures:
    with cadence.db.read_session() as session:
        loaded = figures.load(
            session, team_id=TEAM, engagement_ids=[engagement.id], now=NOW,
            weeks=figures.TREND_WEEKS,
        )  # fmt: skip
    return figures.compute_one(
        loaded[engagement.id], now=NOW, weeks=figures.TREND_WEEKS, since=NOW - 7 * DAY
    )


def test_the_figures_against_hand_computed_values_and_the_registers_own_count(cadence):
    engagement, today, ids = set_up(cadence)
    found = computed(cadence, engagement)
    a = found.assurance
    assert a.coverage == figures.Rate(3, 5)
    assert [r.item_id for r in a.expiring] == [ids[1], ids[0]]
    assert [r.item_id for r in a.expired] == [ids[4], ids[6]]
    assert [r.item_id for r in a.expiring_week] == [ids[1]]
    assert [r.item_id for r in a.expired_since] == [ids[4]]
    assert [r.item_id for r in a.worst_first()] == [ids[4], ids[1]]
    assert a.items == 7  # the waived one aside

    # The register's own "due diligence n of m" (its list, the engagement card) says the same.
    with cadence.db.read_session() as session:
        items = session.exec(
            select(AssuranceItem).where(AssuranceItem.engagement_id == engagement.id)
        ).all()
        listed = queries.due_diligence(
            session=session, engagement_ids=[engagement.id], today=today
        )[engagement.id]
    counted = diligence.coverage(items, today)
    assert (counted.valid, counted.required) == (listed.valid, listed.required) == (3, 5)

    card = found.scorecard
    assert card.now.assurance == figures.Rate(3, 5)
    assert card.before is not None and card.before.assurance == figures.Rate(2, 5)
    assert (card.now.score, card.before.score, card.change()) == (60, 40, 20)

    notice_by = today + 70 * DAY
    assert found.contract == figures.ContractDate("notice", notice_by, 70, True)


def test_the_health_card_the_digest_and_the_export_say_the_same(cadence):
    _, today, ids = set_up(cadence)

    # The health card.
    with clock.fixed_at(NOW):
        card = text_of(wait_reply(cadence, cadence.sim.command("status acme-payments")))
    assert "*Assurance* due diligence 3 of 5 · 2 expiring in 30 days · *2 expired*" in card
    assert (
        f"⛔ *Cyber insurance* · due diligence · expired after {day(today - 2 * DAY)}\n"
        f"⛔ *Background checks* · expired after {day(today - 40 * DAY)}\n"
        f"⏳ *ISO 27001 certificate* · due diligence · valid until {day(today + 3 * DAY)}\n"
        f"⏳ *SOC 2 Type II report* · due diligence · valid until {day(today + 20 * DAY)}"
    ) in card
    assert (
        f"📄 Contract: give notice by *{day(today + 70 * DAY)}* (in 70 days), or it renews"
    ) in card
    assert "Assurance (required evidence valid): 60% (3 of 5) ▲ +20 pts" in card
    assert "*60/100* · ▲ +20 pts vs the 4 weeks before" in card
    assert "assurance × 20" in card  # the written formula beside it

    # The digest (a preview to the lead), worst first.
    with clock.fixed_at(NOW):
        cadence.sim.command("digest preview", user=LEAD)
    preview = cadence.wait_until(
        lambda: [m for m in dms_to(cadence, LEAD) if "digest preview" in str(m.get("text"))],
        what="the preview",
    )[-1]
    digest = section_texts(preview)
    assert "assurance 60% ▲20" in digest
    assert "Assurance: due diligence 3 of 5 · 2 expiring in 30 days · *2 expired*" in digest
    assert (
        "Expired since the last digest or expiring this week: Cyber insurance (expired), "
        f"ISO 27001 certificate (valid until {day(today + 3 * DAY)})"
    ) in digest
    assert f"Contract: give notice by *{day(today + 70 * DAY)}* (in 70 days)" in digest
    dm = cadence.fake.dm_channel_id(LEAD)
    cadence.wait_until(
        lambda: [f for f in cadence.fake.uploaded_files() if f[3] == dm], what="its chart"
    )

    # The export: each item with its status and whether it counts, and the contract's dates.
    _, tables = export_files(cadence, "export acme-payments", at=NOW)
    rows = tables["assurance.csv"]
    assert [(r["item_id"], r["kind"], r["status"], r["required"], r["valid_on_last_day"])
            for r in rows] == [
        (str(ids[0]), "soc2_type2", "accepted", "yes", "yes"),
        (str(ids[1]), "iso27001", "accepted", "yes", "yes"),
        (str(ids[2]), "pen_test", "rejected", "yes", "no"),
        (str(ids[3]), "dpa", "accepted", "yes", "yes"),
        (str(ids[4]), "cyber_insurance", "expired", "yes", "no"),
        (str(ids[5]), "bcp_test", "waived", "yes", ""),  # not required any more
        (str(ids[6]), "background_checks", "accepted", "no", ""),
        (str(ids[7]), "red_team", "requested", "no", ""),
    ]  # fmt: skip
    soc2: dict[str, Any] = rows[0]
    assert (soc2["kind_name"], soc2["owner"], soc2["reviewers"], soc2["valid_until"]) == (
        "SOC 2 Type II report", VENDOR, LEAD, (today + 20 * DAY).isoformat(),
    )  # fmt: skip
    assert soc2["evidence_link"] == "https://evidence.example/soc2_type2"
    assert rows[2]["reason"] == '\'=HYPERLINK("https://evil.example")'  # never a formula
    assert tables["contract.csv"] == [
        {
            "contract_start": (today - 265 * DAY).isoformat(),
            "contract_end": (today + 100 * DAY).isoformat(),
            "renewal": "renews by itself",
            "notice_days": "30",
            "notice_by": (today + 70 * DAY).isoformat(),
        }
    ]
    (now_row, *_) = tables["scorecard.csv"]
    assert (now_row["assurance_valid"], now_row["assurance_required"], now_row["score"]) == (
        "3", "5", "60",
    )  # fmt: skip


def test_an_engagement_without_evidence_or_contract_dates_says_so(cadence):
    with clock.fixed_at(NOW - 60 * DAY):
        create_engagement(cadence)
    with clock.fixed_at(NOW):
        card = text_of(wait_reply(cadence, cadence.sim.command("status acme-payments")))
    assert "*Assurance* no evidence in the register yet" in card
    assert "Contract:" not in card
    assert "Assurance (required evidence valid): nothing to count" in card
