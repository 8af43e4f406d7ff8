"""The registries that give each concept one home stay whole: every `/cadence` form in the
reference has its handler, every check-in kind its form, every form one spec, every job kind
its handler."""

from __future__ import annotations

import handlers
from bot.domain import checkin_kinds, form_families
from bot.domain.checkin_kinds import CHECKIN_KINDS, CheckInKind, FormFamily
from bot.domain.command_reference import REFERENCE
from handlers import commands, form_specs
from storage.models import Cadence


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
        form = form_specs.BY_FAMILY[spec.answered_with]
        assert form.open_for_checkin is not None and form.callback_id in handlers.VIEWS
        assert 0 < len(spec.title) <= 24  # it titles the answer modal
        assert len(kind.value) <= Cadence.model_fields["kind"].metadata[0].max_length


def test_every_form_spec_is_bound_once_and_every_family_has_its_facts():
    """One spec per form: each is bound (handlers.VIEWS) under its own callback id, and each
    form family has its figures' and export's facts (bot/domain/form_families.py)."""
    assert [s.callback_id for s in form_specs.FORMS] == list(handlers.VIEWS)
    assert {s.callback_id: s.submitted for s in form_specs.FORMS} == handlers.VIEWS
    assert set(form_specs.BY_FAMILY) == set(FormFamily) == set(form_families.FAMILIES)
    assert all(spec.who_may for spec in form_specs.FORMS)
    counted = checkin_kinds.kinds_counted_on_time()
    assert CheckInKind.STATUS_UPDATE in counted
    assert counted == tuple(k for k, spec in CHECKIN_KINDS.items() if spec.counts_on_time)
