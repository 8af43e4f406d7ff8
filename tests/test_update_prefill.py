"""The update form is filled in from the author's previous update of the same kind, however many
answers of another kind came since.

The update form answers more than one kind of check-in (the registry, `checkin_kinds`: status
updates and security reviews), each following its own previous update. The story: the vendor
sends a status update, then has 51 answers to a security review (a second kind on the update
form, through the real registry) since. The next status-update form is still filled in from
the status update, and the security review's previous update is its own latest.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from conftest import TEAM, VENDOR
from flows import text_of
from sqlmodel import select
from test_answers import answer_prompt, seed_checkin
from test_update_evidence import MONDAY, block, send, set_up, update_form, wait_summaries

from bot.domain import updates
from bot.domain.checkin_kinds import CheckInKind
from bot.platform import clock
from storage.models import CheckInRecipient, StatusUpdate

OTHER_KIND = CheckInKind.SECURITY_REVIEW
NEWER_OF_OTHER_KIND = 51  # more than the 50 rows the old lookup read before filtering by kind


def test_the_form_is_filled_in_from_the_same_kind_past_51_answers_of_another(cadence):
    engagement = set_up(cadence)
    send(
        cadence,
        {"rag": "green", "summary": "Tokenisation live in staging.", "next_steps": "Certify"},
    )
    (status_update,) = wait_summaries(cadence, 1)

    # A second kind on the update form, and 51 answers of it since the status update.
    assert OTHER_KIND in updates.UPDATE_KINDS
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
                    summary=f"Security answer {n}",
                    submitted_at=at,
                    updated_at=at,
                )
            )

    # The security review's own form, from its prompt, is filled in from its own latest.
    review = answer_prompt(cadence, other_checkin)
    assert review["title"]["text"] == "Security review"
    assert block(review, "summary")["element"]["initial_value"] == (
        f"Security answer {NEWER_OF_OTHER_KIND - 1}"
    )

    # Its answers are in (as their save would have marked it), so `/cadence update` opens a
    # status update, filled in from the status update, not from the 51 newer reviews.
    with cadence.db.session() as session:
        asked = session.exec(
            select(CheckInRecipient).where(CheckInRecipient.checkin_id == other_checkin)
        ).one()
        asked.status, asked.answered_at = "answered", MONDAY + timedelta(days=1)
        session.add(asked)
    with clock.fixed_at(MONDAY + timedelta(days=7)):
        view = update_form(cadence)
    assert "Filled in from your update of Mon 23 Nov 2026" in text_of(view)
    assert block(view, "summary")["element"]["initial_value"] == "Tokenisation live in staging."
    assert block(view, "next_steps")["element"]["initial_value"] == "Certify"

    # The other kind follows its own: its latest answer, and before that one, the one before.
    with cadence.db.read_session() as session:
        latest = updates.previous_update(
            session=session, engagement_id=engagement.id, author=VENDOR, kind=OTHER_KIND
        )
        assert latest is not None and latest.summary == f"Security answer {NEWER_OF_OTHER_KIND - 1}"
        earlier = updates.previous_update(
            session=session,
            engagement_id=engagement.id,
            author=VENDOR,
            kind=OTHER_KIND,
            before_id=latest.id,
        )
        assert (
            earlier is not None and earlier.summary == f"Security answer {NEWER_OF_OTHER_KIND - 2}"
        )
        first = updates.previous_update(
            session=session,
            engagement_id=engagement.id,
            author=VENDOR,
            kind=CheckInKind.STATUS_UPDATE,
        )
        assert first is not None and first.id == status_update.id
