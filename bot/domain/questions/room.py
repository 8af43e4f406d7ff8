"""How many custom questions a check-in's form has room for: Slack shows at most 100 blocks in
a modal, and the questions come after the form's own fields.

Each family's own blocks are counted here at their worst (every KPI an engagement may have,
every deliverable the update asks about, every concern the review lists beside a full set of
questions), from the same constants the forms are built from, so the two cannot drift; `tests/test_questions_manage.py`
builds each worst-case form with the real Block Kit builders and holds these counts as upper
bounds. A question is one input block, and the questions get one heading of their own.
"""

from __future__ import annotations

from bot.domain.checkin_kinds import FormFamily, spec_of
from bot.domain.engagements import MAX_KPIS
from bot.domain.feedback import RATINGS
from bot.domain.questions.definition import MAX_QUESTIONS
from bot.domain.risk_reviews import concerns_with
from bot.domain.updates.deliverable_answers import MAX_ASKED

MODAL_BLOCKS = 100  # Slack's limit for a modal
QUESTIONS_HEADING = 1  # the heading above a form's questions
# The update: its introduction, status, what would make it green, summary, accomplishments,
# next steps, last time's blockers, new blockers and confidence (9); the deliverables asked
# about (a heading, three blocks each, a closing line); the KPIs (a heading, one each).
UPDATE_BLOCKS = 9 + (1 + 3 * MAX_ASKED + 1) + (1 + MAX_KPIS)
# The survey: its introduction, one rating each, the comment and "keep my name".
FEEDBACK_BLOCKS = 1 + len(RATINGS) + 2
# The review: its own seven, and three blocks a concern listed; its concerns make way for its
# questions (`risk_reviews.concerns_with`), so at its fullest it lists fewer of them.
RISK_REVIEW_BLOCKS = 7 + 3 * concerns_with(MAX_QUESTIONS)
FORM_BLOCKS: dict[FormFamily, int] = {
    FormFamily.UPDATE: UPDATE_BLOCKS,
    FormFamily.FEEDBACK: FEEDBACK_BLOCKS,
    FormFamily.RISK_REVIEW: RISK_REVIEW_BLOCKS,
}


def room_for(family: FormFamily | None) -> int:
    """The most questions a form of `family` can carry (None: the engagement's defaults,
    which any new cadence may copy: `MAX_QUESTIONS`, each cadence taking what fits)."""
    if family is None:
        return MAX_QUESTIONS
    free = MODAL_BLOCKS - FORM_BLOCKS[family] - QUESTIONS_HEADING
    return max(0, min(MAX_QUESTIONS, free))


def family_of(kind: str) -> FormFamily | None:
    """The form family a cadence's kind of check-in is answered with (None: unknown kind)."""
    spec = spec_of(kind)
    return spec.answered_with if spec else None
