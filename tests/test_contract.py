"""The contract's dates, told as a lead meets them: set on the engagement form (start, end, a
renewal that happens by itself, the notice period), the leads are reminded 90, 30 and 7 days
before the last day to give notice and on the end date, at 09:00 in the engagement's zone
(across the spring DST change), each once even with four tick processes; new dates cancel the
old reminders; bad dates are refused inline and change nothing.

Europe/Berlin enters summer time on Sunday 28 March 2027: 09:00 there is 08:00 UTC before and
07:00 UTC after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import LEAD, Cadence
from engine_flows import dms_to, tick, utc
from flows import create_engagement, open_form, submit, text_of
from test_engine_processes import tick_process

from bot.platform import clock
from storage.models import Engagement

CREATED = utc(2026, 12, 1, 9, 0)
# Ends Wednesday 30 June 2027; 90 days' notice: the last day to give it is Thursday 1 April.
CONTRACT = {
    "contract_start": "2025-07-01",
    "contract_end": "2027-06-30",
    "contract_renews": ["renews"],
    "notice_days": "90",
}
NOTICE = "last day to give notice"


def set_up(cadence: Cadence, **contract: str) -> Engagement:
    with clock.fixed_at(CREATED):
        return create_engagement(cadence, timezone="Europe/Berlin", **{**CONTRACT, **contract})


def reminders(cadence: Cadence, words: str = "📄") -> list[str]:
    return [text_of(m) for m in dms_to(cadence, LEAD) if words in text_of(m)]


def test_the_leads_are_reminded_before_the_notice_deadline_and_on_the_end_date(
    cadence, monkeypatch
):
    engagement = set_up(cadence)
    assert (engagement.contract_end.isoformat(), engagement.notice_days) == ("2027-06-30", 90)
    assert engagement.contract_renews
    # 90 days before 1 April: Friday 1 January, 09:00 in Berlin (winter: 08:00 UTC).
    tick(cadence, monkeypatch, utc(2027, 1, 1, 7, 59))
    assert not reminders(cadence, NOTICE)
    tick(cadence, monkeypatch, utc(2027, 1, 1, 8, 0))
    said = reminders(cadence, NOTICE)
    assert len(said) == 1, said
    assert "*Thu 01 Apr 2027*, in 90 days" in said[0]
    assert "it renews by itself on Wed 30 Jun 2027" in said[0]
    # 30 and 7 days before: Tuesday 2 March and Thursday 25 March, still winter time.
    tick(cadence, monkeypatch, utc(2027, 3, 2, 8, 0))
    tick(cadence, monkeypatch, utc(2027, 3, 25, 8, 0))
    said = reminders(cadence, NOTICE)
    assert [("in 30 days" in s, "in 7 days" in s) for s in said[1:]] == [
        (True, False),
        (False, True),
    ]
    # The end date, in summer time: 09:00 in Berlin is 07:00 UTC.
    tick(cadence, monkeypatch, utc(2027, 6, 30, 6, 59))
    assert not reminders(cadence, "renewed itself today")
    tick(cadence, monkeypatch, utc(2027, 6, 30, 7, 0))
    assert len(reminders(cadence, "renewed itself today")) == 1
    tick(cadence, monkeypatch, utc(2027, 7, 1, 7, 0))
    assert len(reminders(cadence)) == 4  # nothing twice


def test_new_dates_cancel_the_old_reminders(cadence, monkeypatch):
    set_up(cadence)
    with clock.fixed_at(CREATED + timedelta(days=1)):
        view = open_form(cadence, "engagement edit acme-payments")
        done = submit(cadence, view, {"notice_days": "30", "contract_renews": []})
        assert done.body == "", done.body
    # Notice by 31 May now; the old 1 January reminder never comes.
    tick(cadence, monkeypatch, utc(2027, 1, 1, 9, 0))
    assert not reminders(cadence)
    tick(cadence, monkeypatch, utc(2027, 3, 2, 8, 0))  # 90 days before 31 May: 2 March
    said = reminders(cadence, NOTICE)
    assert len(said) == 1 and "*Mon 31 May 2027*" in said[0], said
    assert "it ends on Wed 30 Jun 2027" in said[0]


def test_dates_changed_and_changed_back_remind_as_before(cadence, monkeypatch):
    """A reminder cancelled because the dates changed is due again when they change back:
    it was never sent, so its key (the dates it follows from) must not stay spent."""
    set_up(cadence)
    for day, values in (
        (1, {"notice_days": "30", "contract_renews": []}),
        (2, {"notice_days": "90", "contract_renews": ["renews"]}),
    ):
        with clock.fixed_at(CREATED + timedelta(days=day)):
            view = open_form(cadence, "engagement edit acme-payments")
            done = submit(cadence, view, values)
            assert done.body == "", done.body
    tick(cadence, monkeypatch, utc(2027, 1, 1, 8, 0))
    said = reminders(cadence, NOTICE)
    assert len(said) == 1 and "*Thu 01 Apr 2027*, in 90 days" in said[0], said
    tick(cadence, monkeypatch, utc(2027, 3, 2, 8, 0))  # the 31 May reminder stays cancelled
    assert len(reminders(cadence, NOTICE)) == 2
    assert "*Thu 01 Apr 2027*, in 30 days" in reminders(cadence, NOTICE)[1]


def test_bad_dates_are_refused_inline_and_change_nothing(cadence):
    set_up(cadence)
    for values, field, words in (
        ({"contract_end": "2025-01-01"}, "contract_end", "must end after it starts"),
        ({"contract_end": None, "contract_renews": []}, "contract_end", "counts back from"),
        ({"notice_days": "-1"}, "notice_days", "from 0 to 730"),
    ):
        with clock.fixed_at(CREATED + timedelta(hours=1)):
            view = open_form(cadence, "engagement edit acme-payments")
            reply = cadence.sim.submit_view(view, values, check_required=False)
        errors = (reply.json or {}).get("errors") or {}
        assert words in errors.get(field, ""), (values, reply.body)
    with cadence.db.read_session() as session:
        kept = session.get(Engagement, 1)
    assert (kept.contract_end.isoformat(), kept.notice_days) == ("2027-06-30", 90)


@pytest.mark.slow
def test_four_tick_processes_remind_once(cadence):
    set_up(cadence)
    processes = [tick_process(cadence, utc(2027, 1, 1, 9, 0)) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], [err for _, err in outputs]
    assert len(reminders(cadence, NOTICE)) == 1
