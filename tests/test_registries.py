"""The registries that give each concept one home stay whole: every `/cadence` form in the
reference has its handler, every check-in kind its form, every job kind its handler."""

from __future__ import annotations

from bot.domain.checkin_kinds import CHECKIN_KINDS, CheckInKind
from bot.domain.command_reference import REFERENCE
from handlers import answers, commands


def test_every_available_command_form_is_routed_and_nothing_else():
    available = {
        form for spec in REFERENCE if spec.available for form in commands.literal_forms(spec)
    }
    coming = {
        form for spec in REFERENCE if not spec.available for form in commands.literal_forms(spec)
    }
    assert set(commands.ROUTES) == available
    assert not coming & set(commands.ROUTES)
    assert ("pause",) in available and ("away", "off") in available  # alternatives and forms


def test_routing_takes_the_longest_form_and_keeps_the_rest():
    assert commands.route(("away", "OFF")) == (("away", "off"), ())
    assert commands.route(("away", "2026-12-22", "2027-01-02")) == (
        ("away",),
        ("2026-12-22", "2027-01-02"),
    )
    assert commands.route(("engagement", "edit", "Acme", "Payments")) == (
        ("engagement", "edit"),
        ("Acme", "Payments"),
    )
    assert commands.route(("engagement", "destroy")) is None


def test_every_checkin_kind_has_one_entry_and_a_form_that_answers_it():
    assert set(CHECKIN_KINDS) == set(CheckInKind)
    for kind, spec in CHECKIN_KINDS.items():
        assert spec.kind == kind
        assert spec.answered_with in answers.FORMS
        assert 0 < len(spec.title) <= 24  # it titles the answer modal
