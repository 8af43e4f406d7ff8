"""A project lead sets up an engagement in Slack, edits it, lists it and archives it.

Everything goes through signed HTTP requests to the running app and the fake Slack; each test
runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from conftest import (
    ACME,
    ADMIN,
    DIGEST,
    EXTERNAL,
    LEAD,
    LEAD2,
    OUTSIDER,
    PRIVATE,
    SHARED,
    STAKEHOLDER,
    TEAM,
    VENDOR,
)
from flows import GOOD_FORM, create_engagement, open_form, submit, text_of, wait_reply
from sqlmodel import select

from bot.domain import engagements
from storage.models import AuditEvent, ConcernSla, Engagement, EngagementMember, KpiDefinition


def test_a_lead_creates_an_engagement_through_the_modal(cadence):
    view = open_form(cadence)
    # The form opened at once, then the lead's time zone came from users.info.
    assert cadence.fake.calls_to("users.info")[0].args["user"] == LEAD
    tz_block = next(b for b in view["blocks"] if b.get("block_id", "").startswith("timezone"))
    assert tz_block["element"]["initial_value"] == "Europe/Berlin"
    leads_block = next(b for b in view["blocks"] if b.get("block_id") == "leads")
    assert leads_block["element"]["initial_users"] == [LEAD]

    reply = submit(cadence, view, {**GOOD_FORM, "digest_channel": DIGEST})
    assert reply.body == ""  # an empty 200 closes the modal

    engagement = cadence.wait_until(
        lambda: _engagement(cadence, "acme-payments"), what="the engagement row"
    )
    assert engagement.name == "Acme Payments"
    assert engagement.vendor == "Globex Consulting"
    assert engagement.channel_id == ACME
    assert engagement.digest_channel_id == DIGEST
    assert engagement.timezone == "Europe/Berlin"
    assert engagement.team_id == TEAM
    assert engagement.created_by == LEAD

    with cadence.db.read_session() as session:
        details = engagements.get(session=session, team_id=TEAM, engagement_id=engagement.id)
        kpis = session.exec(select(KpiDefinition).order_by(KpiDefinition.position)).all()
        slas = {s.severity: s.response_hours for s in session.exec(select(ConcernSla))}
        audit = session.exec(select(AuditEvent)).all()
    assert details.leads == (LEAD,)
    # The Slack Connect engineer from another organisation is kept by ID, like everyone else.
    assert details.vendor_contacts == (VENDOR, EXTERNAL)
    assert details.stakeholders == (STAKEHOLDER,)
    assert [(k.name, k.unit, k.target, k.higher_is_better) for k in kpis] == [
        ("Uptime", "%", 99.9, True),
        ("Mean time to resolve", "hours", 8.0, False),
    ]
    assert slas == {"critical": 4, "high": 24, "medium": 72, "low": 168}
    assert [(a.action, a.actor_user_id, a.entity_id) for a in audit] == [
        ("create", LEAD, engagement.id)
    ]
    assert audit[0].after["name"] == "Acme Payments"
    assert audit[0].after["kpis"] == ["Uptime (%) >= 99.9", "Mean time to resolve (hours) <= 8"]

    # The bot joined the public channel and welcomed it, then told the lead what is next.
    cadence.fake.wait_for("conversations.join")
    assert cadence.fake.is_member(ACME)
    welcome = cadence.wait_until(lambda: cadence.fake.messages(ACME), what="the welcome")[0]
    assert "Acme Payments" in text_of(welcome)
    assert f"<@{EXTERNAL}>" in text_of(welcome)
    assert "What will happen here" in text_of(welcome)
    dm = cadence.wait_until(
        lambda: [c for c in cadence.fake.calls_to("chat.postMessage") if c.args["channel"] == LEAD],
        what="the lead's confirmation",
    )[0]
    assert "/cadence schedule acme-payments" in text_of(dm.args)


def test_a_private_channel_gets_instructions_instead_of_a_join(cadence):
    create_engagement(cadence, channel=PRIVATE)
    dm = cadence.wait_until(
        lambda: [c for c in cadence.fake.calls_to("chat.postMessage") if c.args["channel"] == LEAD],
        what="the lead's DM",
    )[0]
    assert "/invite @Cadence" in text_of(dm.args)
    assert not [c for c in cadence.fake.calls_to("conversations.join") if c.ok]
    assert cadence.fake.messages(PRIVATE) == []


def test_a_slack_connect_channel_is_joined_and_welcomed(cadence):
    create_engagement(cadence, channel=SHARED)
    cadence.wait_until(
        lambda: cadence.fake.messages(SHARED), what="the welcome in the shared channel"
    )


def test_the_lead_edits_and_the_audit_trail_says_before_and_after(cadence):
    engagement = create_engagement(cadence)
    view = open_form(cadence, "engagement edit acme-payments")
    # The form is filled with what is stored.
    name_block = next(b for b in view["blocks"] if b.get("block_id") == "name")
    assert name_block["element"]["initial_value"] == "Acme Payments"
    kpi_block = next(b for b in view["blocks"] if b.get("block_id") == "kpis")
    assert "Uptime (%) >= 99.9" in kpi_block["element"]["initial_value"]

    submit(
        cadence,
        view,
        {
            "vendor": "Globex Consulting GmbH",
            "leads": [LEAD, LEAD2],
            "kpis": "Uptime (%) >= 99.95",
            "sla_critical": "2",
        },
    )
    with cadence.db.read_session() as session:
        details = engagements.get(session=session, team_id=TEAM, engagement_id=engagement.id)
        audit = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
        kpis = session.exec(select(KpiDefinition).order_by(KpiDefinition.id)).all()
    assert details.engagement.vendor == "Globex Consulting GmbH"
    assert details.leads == (LEAD, LEAD2)
    assert details.sla_hours["critical"] == 2
    # A KPI taken off is retired, not deleted: the values reported against it stay.
    assert [(k.name, k.target, k.retired_at is not None) for k in kpis] == [
        ("Uptime", 99.95, False),
        ("Mean time to resolve", 8.0, True),
    ]
    update = audit[-1]
    assert update.action == "update" and update.actor_user_id == LEAD
    assert update.before == {
        "vendor": "Globex Consulting",
        "leads": [LEAD],
        "kpis": ["Uptime (%) >= 99.9", "Mean time to resolve (hours) <= 8"],
        "sla_hours": {"critical": 4, "high": 24, "medium": 72, "low": 168},
    }
    assert update.after["vendor"] == "Globex Consulting GmbH"
    assert update.after["sla_hours"]["critical"] == 2
    # The editor hears what changed; the channel is not welcomed twice.
    cadence.wait_until(
        lambda: any(
            "Saved" in text_of(c.args)
            for c in cadence.fake.calls_to("chat.postMessage")
            if c.args["channel"] == LEAD
        ),
        what="the saved notice",
    )
    assert len(cadence.fake.messages(ACME)) == 1


def test_only_leads_and_admins_may_edit(cadence):
    create_engagement(cadence)
    reply = cadence.sim.command("engagement edit acme-payments", user=OUTSIDER)
    answer = wait_reply(cadence, reply)
    assert "Only the leads of Acme Payments" in text_of(answer)
    assert f"<@{LEAD}>" in text_of(answer)
    assert len(cadence.fake.calls_to("views.open")) == 1  # only the create form ever opened

    # A Cadence admin (CADENCE_ADMINS) may.
    view = open_form(cadence, "engagement edit acme-payments", user=ADMIN)
    submit(cadence, view, {"vendor": "Initech"}, user=ADMIN)
    assert _engagement(cadence, "acme-payments").vendor == "Initech"


def test_a_forged_edit_submission_is_refused_on_the_server(cadence):
    """Someone who is not a lead replays the edit form: private_metadata is not trusted."""
    create_engagement(cadence)
    view = open_form(cadence, "engagement edit acme-payments")
    reply = cadence.sim.submit_view(view, {"vendor": "Evil Corp"}, user=OUTSIDER)
    assert reply.status == 200
    assert reply.json["response_action"] == "errors"
    assert "Only the leads" in reply.json["errors"]["name"]
    assert _engagement(cadence, "acme-payments").vendor == "Globex Consulting"


def test_engagement_list_shows_handles_channels_and_leads(cadence):
    create_engagement(cadence)
    create_engagement(cadence, name="Initech Helpdesk", channel=SHARED, vendor="Initech")
    answer = wait_reply(cadence, cadence.sim.command("engagement list"))
    text = text_of(answer)
    assert "2 engagements" in text
    assert "`acme-payments`" in text and "`initech-helpdesk`" in text
    assert f"<#{ACME}>" in text and f"<@{LEAD}>" in text
    assert text.index("Acme Payments") < text.index("Initech Helpdesk")


def test_archive_asks_for_confirmation_then_archives(cadence):
    engagement = create_engagement(cadence)
    reply = cadence.sim.command("engagement archive acme-payments")
    confirmation = wait_reply(cadence, reply)
    assert "Archive *Acme Payments*" in text_of(confirmation)
    assert _engagement(cadence, "acme-payments").archived_at is None  # nothing yet

    # Someone else clicking the same button is refused on the server.
    click = cadence.sim.click(confirmation, "engagement_archive_confirm", user=OUTSIDER)
    refusal = cadence.wait_until(
        lambda: [r.body for r in cadence.fake.responses if r.name in click.response_url],
        what="the refusal",
    )[-1]
    assert "Only the leads" in text_of(refusal)
    assert _engagement(cadence, "acme-payments").archived_at is None

    click = cadence.sim.click(confirmation, "engagement_archive_confirm", user=LEAD)
    assert click.status == 200
    archived = cadence.wait_until(
        lambda: (
            (_engagement(cadence, "acme-payments").archived_at is not None)
            and _engagement(cadence, "acme-payments")
        ),
        what="the archive",
    )
    assert archived.id == engagement.id
    with cadence.db.read_session() as session:
        audit = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert (audit[-1].action, audit[-1].actor_user_id) == ("archive", LEAD)
    cadence.wait_until(
        lambda: any("archived" in text_of(m) for m in cadence.fake.messages(ACME)),
        what="the channel to hear about it",
    )
    # Archived engagements leave the list, and cannot be archived again or edited.
    assert "No engagements yet" in text_of(
        wait_reply(cadence, cadence.sim.command("engagement list"))
    )
    again = wait_reply(cadence, cadence.sim.command("engagement archive acme-payments"))
    assert "is archived" in text_of(again)


def test_cancelling_the_archive_removes_the_question(cadence):
    create_engagement(cadence)
    reply = cadence.sim.command("engagement archive acme-payments")
    confirmation = wait_reply(cadence, reply)
    click = cadence.sim.click(confirmation, "engagement_archive_cancel")
    deleted = cadence.wait_until(
        lambda: [r.body for r in cadence.fake.responses if r.name in click.response_url],
        what="the delete",
    )
    assert deleted[-1].get("delete_original") is True
    assert _engagement(cadence, "acme-payments").archived_at is None


def test_the_home_tab_lists_my_engagements(cadence):
    create_engagement(cadence)
    cadence.sim.app_home_opened(EXTERNAL)
    view = cadence.wait_until(lambda: cadence.fake.home_view(EXTERNAL), what="the home tab")
    text = "\n".join(text_of({"blocks": [b]}) for b in view["blocks"])
    assert "Acme Payments" in text and "vendor contact" in text
    cadence.sim.app_home_opened(OUTSIDER)
    view = cadence.wait_until(lambda: cadence.fake.home_view(OUTSIDER), what="the home tab")
    assert "not part of any engagement" in str(view)


def test_members_rows_carry_the_workspace(cadence):
    create_engagement(cadence)
    with cadence.db.read_session() as session:
        members = session.exec(select(EngagementMember)).all()
    assert members and {m.team_id for m in members} == {TEAM}


def _engagement(cadence, handle: str) -> Engagement | None:
    with cadence.db.read_session() as session:
        return session.exec(
            select(Engagement).where(Engagement.team_id == TEAM).where(Engagement.handle == handle)
        ).first()
