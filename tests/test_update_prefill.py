"""The update form is filled in from the author's previous update of the same kind, however many
answers of another kind came since.

Today the update form answers one kind of check-in; the forms planned next put more kinds on it,
each following its own previous update. The story: the vendor sends a status update, then
answers 51 check-ins of a second kind on the update form (the risk review's kind, put on the
form here as a line of the check-in kind registry would). The next status-update form is still
filled in from the status update, and the second kind's previous update is its own latest.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from conftest import TEAM, VENDOR
from flows import text_of
from test_answers import seed_checkin
from test_update_evidence import MONDAY, block, send, set_up, update_form, wait_summaries

from bot.domain import updates
from bot.domain.checkin_kinds import CheckInKind
from bot.domain.updates import records
from bot.platform import clock
from storage.models import StatusUpdate

OTHER_KIND = CheckInKind.RISK_REVIEW
NEWER_OF_OTHER_KIND = 51  # more than the 50 rows the old lookup read before filtering by kind


def test_the_form_is_filled_in_from_the_same_kind_past_51_answers_of_another(cadence, monkeypatch):
    engagement = set_up(cadence)
    send(
        cadence,
        {"rag": "green", "summary": "Tokenisation live in staging.", "next_steps": "Certify"},
    )
    (status_update,) = wait_summaries(cadence, 1)

    # A second kind on the update form, and 51 answers of it since the status update.
    monkeypatch.setattr(records, "UPDATE_KINDS", (CheckInKind.STATUS_UPDATE, OTHER_KIND))
    other_checkin = seed_checkin(cadence, engagement, kind=OTHER_KIND)
    with cadence.db.session() as session:
        for n in range(NEWER_OF_OTHER_KIND):
            at = MONDAY + timedelta(days=1, minutes=n)
            session.add(
                StatusUpdate(
                    team_id=TEAM,
                    engagement_id=engagement.id,
                    checkin_id=other_checkin,
                    author_user_id=VENDOR,
                    rag="amber",
                    summary=f"Risk answer {n}",
                    submitted_at=at,
                    updated_at=at,
                )
            )

    with clock.fixed_at(MONDAY + timedelta(days=7)):
        view = update_form(cadence)
    assert "Filled in from your update of 23 Nov 2026" in text_of(view)
    assert block(view, "summary")["element"]["initial_value"] == "Tokenisation live in staging."
    assert block(view, "next_steps")["element"]["initial_value"] == "Certify"

    # The other kind follows its own: its latest answer, and before that one, the one before.
    with cadence.db.read_session() as session:
        latest = updates.previous_update(
            session=session, engagement_id=engagement.id, author=VENDOR, kind=OTHER_KIND
        )
        assert latest is not None and latest.summary == f"Risk answer {NEWER_OF_OTHER_KIND - 1}"
        earlier = updates.previous_update(
            session=session,
            engagement_id=engagement.id,
            author=VENDOR,
            kind=OTHER_KIND,
            before_id=latest.id,
        )
        assert earlier is not None and earlier.summary == f"Risk answer {NEWER_OF_OTHER_KIND - 2}"
        first = updates.previous_update(
            session=session,
            engagement_id=engagement.id,
            author=VENDOR,
            kind=CheckInKind.STATUS_UPDATE,
        )
        assert first is not None and first.id == status_update.id
