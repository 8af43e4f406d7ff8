"""The pure rules behind the engagement form, and the builders' respect for Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.blocks.engagements import engagement_list, engagement_modal
from bot.blocks.help import help_message
from bot.blocks.home import home_view
from bot.demo.fake_slack import validate_message_blocks, validate_view
from bot.domain.engagements import (
    EngagementDetails,
    KpiSpec,
    normalize_timezone,
    parse_kpis,
    slugify,
    validate,
)
from bot.domain.errors import UserError
from storage.models import Engagement


@pytest.mark.parametrize(
    ("name", "handle"),
    [
        ("Acme Payments", "acme-payments"),
        ("  Acme   Payments (EU) ", "acme-payments-eu"),
        ("Zürich Café Ops", "zurich-cafe-ops"),
        ("SAP/ERP — Phase 2", "sap-erp-phase-2"),
        ("🚀", ""),
    ],
)
def test_handles_are_slugs_of_names(name, handle):
    assert slugify(name) == handle


@given(st.text(max_size=120))
def test_a_handle_is_always_short_lowercase_and_typeable(name):
    handle = slugify(name)
    assert len(handle) <= 40
    assert handle == handle.strip("-")
    assert all(c.islower() or c.isdigit() or c == "-" for c in handle)
    assert slugify(handle) == handle  # typing the handle finds the same engagement


def test_kpis_read_like_a_person_writes_them():
    assert parse_kpis(
        "Uptime (%) >= 99.9\n- Backlog (tickets) <= 20\n\nCSAT ≥ 4,5\nLatency <= 250ms"
    ) == (
        KpiSpec("Uptime", "%", 99.9, True),
        KpiSpec("Backlog", "tickets", 20, False),
        KpiSpec("CSAT", "", 4.5, True),
        KpiSpec("Latency", "ms", 250, False),
    )


@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[A-Za-z][A-Za-z ]{0,20}[A-Za-z]", fullmatch=True),
            st.sampled_from(["", "%", "hours", "tickets"]),
            st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda f: round(f, 3)),
            st.booleans(),
        ),
        max_size=8,
        unique_by=lambda t: t[0].lower(),
    )
)
def test_a_rendered_kpi_parses_back_to_itself(rows):
    specs = tuple(KpiSpec(n, u, t, h) for n, u, t, h in rows)
    assert parse_kpis("\n".join(s.render() for s in specs)) == specs


def test_time_zones_are_canonical_and_typos_get_a_suggestion():
    assert normalize_timezone("europe/berlin") == "Europe/Berlin"
    assert normalize_timezone("Australia/Lord_Howe") == "Australia/Lord_Howe"
    with pytest.raises(UserError, match="Did you mean America/New_York"):
        normalize_timezone("America/NewYork")


def test_validate_uses_default_slas_when_left_blank():
    data = validate(
        {
            "name": "X",
            "vendor": "Y",
            "channel": "C1",
            "leads": ["U1", "U1"],
            "timezone": "utc",
        }
    )
    assert data.leads == ("U1",)
    assert data.timezone == "UTC"
    assert data.sla_hours == {"critical": 4, "high": 24, "medium": 72, "low": 168}


def details(n: int) -> EngagementDetails:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    engagement = Engagement(
        id=n,
        team_id="T1",
        handle=f"engagement-{n}",
        name=f"Engagement {n} " + "x" * 60,
        vendor="Vendor " + "y" * 100,
        channel_id="C123456789",
        timezone="UTC",
        created_by="U1",
        created_at=now,
        updated_at=now,
    )
    return EngagementDetails(
        engagement, tuple(f"U{i:09d}" for i in range(5)), (), (), (), {"critical": 4}
    )


def test_a_long_list_fits_in_one_message_within_slacks_limits():
    payload = engagement_list([details(i).line for i in range(400)])
    assert len(payload["blocks"]) <= 50
    assert validate_message_blocks(payload["blocks"]) == []
    assert "400 engagements" in payload["text"]


def test_the_home_tab_and_help_stay_within_slacks_limits():
    assert validate_view(home_view("U1", [(details(i), ("lead",)) for i in range(400)])) == []
    assert validate_message_blocks(help_message()["blocks"]) == []


def test_help_is_built_once_and_each_caller_gets_its_own_copy():
    """`/cadence help` is the same for everyone: built once per process, and a caller that
    changes what it got changes nothing for the next."""
    first = help_message()
    first["blocks"].clear()
    first["text"] = "changed"
    second = help_message()
    assert second["text"] == "Cadence commands: /cadence help" and len(second["blocks"]) > 3
    assert second is not help_message()


def test_the_edit_form_with_everything_filled_is_a_valid_modal():
    full = details(1).as_input()
    view = engagement_modal(private_metadata={"mode": "edit", "engagement_id": 1}, initial=full)
    assert validate_view(view) == []


def test_a_long_cadence_list_fits_in_one_message_within_slacks_limits():
    from bot.blocks.cadences import cadence_list
    from storage.models import Cadence

    now = datetime(2026, 11, 25, tzinfo=UTC)
    engagement = details(1).engagement
    rows = [
        (
            Cadence(
                id=n,
                team_id="T1",
                engagement_id=1,
                kind="status_update",
                rule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                rule_kind="weekly",
                local_time="09:00",
                timezone="America/Argentina/ComodRivadavia",
                reminder_hours=4,
                escalation_hours=24,
                escalation_user_ids=[f"U{i:09d}" for i in range(20)],
                audience="chosen",
                audience_user_ids=[f"U{i:09d}" for i in range(50)],
                next_run_at=now,
                created_by="U1",
                created_at=now,
                updated_at=now,
            ),
            engagement,
        )
        for n in range(60)
    ]
    payload = cadence_list(rows, now, scope="in this workspace")
    assert len(payload["blocks"]) <= 50
    assert validate_message_blocks(payload["blocks"]) == []
    assert "Showing 24 of 60" in str(payload["blocks"][-1])
