"""History is kept: a KPI the lead removes from an engagement is retired, not deleted.

The story: a lead sets up Acme Payments with two KPIs, the vendor reports both, then the lead
drops one. The figure already reported stays (in the database and in the update's summary,
marked retired), new forms stop asking for it, and the lead can bring it back under the same
name, when it is the same KPI again (same id, so its history joins up). Everything goes through
signed HTTP requests to the running app; each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from conftest import ACME, TEAM, VENDOR
from flows import create_engagement, open_form, submit, text_of
from sqlmodel import select

from bot.domain import updates
from storage.models import (
    AuditEvent,
    Engagement,
    KpiDefinition,
    KpiValue,
    StatusUpdate,
    UpdateRevision,
)

UPTIME, MTTR = "Uptime", "Mean time to resolve"


# --- steps -------------------------------------------------------------------------------------


def set_up(cadence) -> Engagement:
    """Acme Payments (Uptime ≥ 99.9 %, MTTR ≤ 8 h), once its welcome and the lead's DM are out."""
    engagement = create_engagement(cadence)
    cadence.wait_until(lambda: cadence.fake.messages(ACME), what="the welcome")
    return engagement


def kpis(cadence) -> dict[str, KpiDefinition]:
    """Every KPI definition by name, retired ones included."""
    with cadence.db.read_session() as session:
        return {k.name: k for k in session.exec(select(KpiDefinition))}


def update_form(cadence, user: str = VENDOR) -> dict[str, Any]:
    """`/cadence update acme-payments`: the form that opened."""
    before = len(cadence.fake.calls_to("views.open"))
    reply = cadence.sim.command("update acme-payments", user=user)
    assert reply.status == 200 and not (reply.json or {}).get("text"), reply.body
    call = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    assert call.ok, call.response
    return cadence.fake.view(call.response["view"]["id"])


def kpi_blocks(view: dict[str, Any]) -> set[str]:
    return {b["block_id"] for b in view["blocks"] if b.get("block_id", "").startswith("kpi_")}


def send_update(cadence) -> StatusUpdate:
    """The vendor reports both KPIs (uptime met, MTTR missed); the summary lands in the channel."""
    ids = {name: k.id for name, k in kpis(cadence).items()}
    reply = cadence.sim.submit_view(
        update_form(cadence),
        {
            "rag": "amber",
            "reason": "Certification passing next week.",
            "summary": "Tokenisation is live in staging; certification slipped a week.",
            f"kpi_{ids[UPTIME]}": "99.95",
            f"kpi_{ids[MTTR]}": "10",
        },
        user=VENDOR,
    )
    assert reply.body == "", reply.body
    cadence.wait_until(lambda: the_update(cadence).message_ts, what="the summary's ts")
    return the_update(cadence)


def the_update(cadence) -> StatusUpdate:
    with cadence.db.read_session() as session:
        return session.exec(select(StatusUpdate)).one()


def edit_kpis(cadence, kpis_text: str) -> None:
    """The lead edits the engagement, changing only its KPIs."""
    reply = submit(
        cadence, open_form(cadence, "engagement edit acme-payments"), {"kpis": kpis_text}
    )
    assert reply.json is None or "errors" not in reply.json, reply.json


def reported(cadence) -> dict[int, float]:
    with cadence.db.read_session() as session:
        return {v.kpi_id: v.value for v in session.exec(select(KpiValue))}


def summary(cadence, update_id: int) -> updates.UpdateSummary:
    with cadence.db.read_session() as session:
        return updates.load_summary(session=session, team_id=TEAM, update_id=update_id)


# --- the story ---------------------------------------------------------------------------------


def test_removing_a_kpi_retires_it_and_keeps_what_was_reported(cadence):
    engagement = set_up(cadence)
    update = send_update(cadence)
    before = kpis(cadence)
    uptime, mttr = before[UPTIME].id, before[MTTR].id
    assert reported(cadence) == {uptime: 99.95, mttr: 10}

    edit_kpis(cadence, "Uptime (%) >= 99.9")

    # Retired at the moment of the edit, not deleted: the figure reported against it stays.
    after = kpis(cadence)
    assert set(after) == {UPTIME, MTTR}
    assert after[UPTIME].retired_at is None
    with cadence.db.read_session() as session:
        edited_at = session.get(Engagement, engagement.id).updated_at
        audit = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()[-1]
    assert after[MTTR].retired_at == edited_at
    assert reported(cadence) == {uptime: 99.95, mttr: 10}
    # The audit trail and the engagement form speak of the active KPIs only.
    assert audit.action == "update"
    assert audit.before["kpis"] == ["Uptime (%) >= 99.9", "Mean time to resolve (hours) <= 8"]
    assert audit.after["kpis"] == ["Uptime (%) >= 99.9"]
    form = open_form(cadence, "engagement edit acme-payments")
    kpi_field = next(b for b in form["blocks"] if b.get("block_id") == "kpis")
    assert kpi_field["element"]["initial_value"] == "Uptime (%) >= 99.9"

    # A new update no longer asks for the retired KPI.
    assert kpi_blocks(update_form(cadence)) == {f"kpi_{uptime}"}

    # The old update still shows what it reported, the retired KPI marked as such.
    shown = {r.kpi.name: (r.value, r.met, r.kpi.retired) for r in summary(cadence, update.id).kpis}
    assert shown == {UPTIME: (99.95, True, False), MTTR: (10, False, True)}

    # Editing the old update keeps the retired figure (not on the form, not the form's to
    # change), in the database, in the new revision and in the summary re-rendered in place.
    posted = cadence.fake.message(ACME, update.message_ts)
    before_open = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(posted, "status_update_edit", user=VENDOR)
    call = cadence.fake.wait_for("views.open", count=before_open + 1)[-1]
    view = cadence.fake.view(call.response["view"]["id"])
    assert kpi_blocks(view) == {f"kpi_{uptime}"}
    reply = cadence.sim.submit_view(view, {"rag": "green", f"kpi_{uptime}": "99.99"}, user=VENDOR)
    assert reply.body == "", reply.body
    assert reported(cadence) == {uptime: 99.99, mttr: 10}
    with cadence.db.read_session() as session:
        stored = session.get(StatusUpdate, update.id)
        revisions = session.exec(select(UpdateRevision).order_by(UpdateRevision.revision)).all()
    assert stored.revision == 2 and [r.revision for r in revisions] == [1, 2]
    assert [(k["name"], k["value"]) for k in revisions[1].content["kpis"]] == [
        (UPTIME, 99.99),
        (MTTR, 10),
    ]
    cadence.wait_until(
        lambda: "_edited_" in text_of(cadence.fake.message(ACME, update.message_ts)),
        what="the summary updated in place",
    )
    text = text_of(cadence.fake.message(ACME, update.message_ts))
    assert "✅ Uptime: *99.99%* (target ≥ 99.9%)" in text
    assert "⚠️ Mean time to resolve: *10 hours* (target ≤ 8 hours) · _retired_" in text


def test_a_kpi_added_back_under_its_name_is_the_same_kpi_again(cadence):
    set_up(cadence)
    update = send_update(cadence)
    mttr = kpis(cadence)[MTTR].id
    edit_kpis(cadence, "Uptime (%) >= 99.9")
    assert kpis(cadence)[MTTR].retired_at is not None

    # Back, with a new target and the name in other letters: the same row, active again.
    edit_kpis(cadence, "Uptime (%) >= 99.9\nmean time to resolve (hours) <= 6")

    back = kpis(cadence)
    assert set(back) == {UPTIME, "mean time to resolve"}
    again = back["mean time to resolve"]
    assert (again.id, again.retired_at, again.target) == (mttr, None, 6)
    assert kpi_blocks(update_form(cadence)) == {f"kpi_{back[UPTIME].id}", f"kpi_{mttr}"}
    # The old figure joins up with it (and is no longer marked retired).
    shown = {r.kpi.id: (r.value, r.kpi.retired) for r in summary(cadence, update.id).kpis}
    assert shown[mttr] == (10, False)


def test_a_kpi_retired_twice_keeps_the_moment_it_first_went(cadence):
    set_up(cadence)
    edit_kpis(cadence, "Uptime (%) >= 99.9")
    first = kpis(cadence)[MTTR].retired_at
    assert first is not None

    edit_kpis(cadence, "Uptime (%) >= 99.5")

    after = kpis(cadence)
    assert after[MTTR].retired_at == first
    assert (after[UPTIME].retired_at, after[UPTIME].target) == (None, 99.5)
