"""Block Kit for feedback: the survey form, the thank-you, and a survey's results for the leads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.common import (
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION_TEXT,
    context,
    escape,
    message,
    section,
)
from bot.blocks.question_results import survey_blocks
from bot.blocks.questions import question_blocks
from bot.domain import moments
from bot.domain.command_reference import shorten
from bot.domain.feedback import (
    ANONYMOUS,
    MAX_COMMENT,
    RATING_LABELS,
    RATINGS,
    SCALE,
    FeedbackForm,
    SavedFeedback,
)
from bot.domain.feedback_results import MIN_ANSWERS, Comment, SurveyResults
from bot.domain.figures import QuestionFigure

FEEDBACK_MODAL = "feedback_form"
THANKS_MODAL = "feedback_thanks"


def feedback_modal(form: FeedbackForm) -> dict[str, Any]:
    """The survey: four ratings from 1 to 5, a comment, and "keep my name from the vendor"."""
    options = [Option(value=str(n), label=f"{n} — {word}") for n, word in SCALE.items()]
    intro = (
        f"How is *{escape(form.vendor)}* doing on *{escape(form.engagement_name)}*? "
        "The engagement's leads see ratings only as averages over "
        f"{MIN_ANSWERS} answers or more, and nothing goes to the vendor's channel."
    )
    blocks: list[Any] = [section(intro)]
    for key in RATINGS:
        blocks.append(
            InputBlock(
                block_id=key,
                label=RATING_LABELS[key],
                element=StaticSelectElement(
                    action_id=key, placeholder="1 (poor) to 5 (excellent)", options=options
                ),
            )
        )
    blocks += [
        InputBlock(
            block_id="comment",
            label="Comment",
            optional=True,
            element=PlainTextInputElement(
                action_id="comment",
                multiline=True,
                max_length=MAX_COMMENT,
                placeholder="What works well, and what should change?",
            ),
        ),
        *question_blocks(form.questions),  # the survey's own questions; the name choice last
        InputBlock(
            block_id="anonymous",
            label="Your name",
            optional=True,
            element=CheckboxesElement(
                action_id="anonymous",
                options=[
                    Option(
                        value=ANONYMOUS,
                        label="Keep my name from the vendor",
                        description="Your comment reaches the leads without your name.",
                    )
                ],
            ),
        ),
    ]
    view = View(
        type="modal",
        callback_id=FEEDBACK_MODAL,
        title="Feedback",
        submit="Send",
        close="Cancel",
        private_metadata=json.dumps(form.metadata()),
        blocks=blocks,
    )
    return view.to_dict()


def thanks_view(saved: SavedFeedback) -> dict[str, Any]:
    """The survey, once sent, turned into a thank-you (the submission's answer, so it is kept
    nowhere: a DM to the author would be a stored trace of who answered, and when).

    Nobody else hears of one answer: the leads learn the survey's results when it closes, and
    every view shows ratings only over batches of `MIN_ANSWERS` answers or more."""
    who = "without your name" if saved.anonymous else "with your name"
    late = (
        " It came after the survey's window, so it counts with this month's late answers."
        if saved.late
        else ""
    )
    text = (
        f"Thank you: your feedback on {escape(saved.vendor)} for "
        f"*{escape(saved.engagement_name)}* is in, {who}.{late}"
    )
    how = (
        f"The leads see ratings only as averages over {MIN_ANSWERS} answers or more (a survey's "
        "results when it closes), never one answer on its own."
    )
    view = View(
        type="modal",
        callback_id=THANKS_MODAL,
        title="Feedback",
        close="Done",
        blocks=[section(text), context(how)],
    )
    return view.to_dict()


# --- a survey's results ------------------------------------------------------------------------

COMMENT_LIMIT = 1000  # one comment in the results: longer ones are cut between words


def one_decimal(value: Fraction) -> str:
    """An exact average to one decimal, halves rounded away from zero (9/4 is 2.3, not 2.2)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def change_words(change: Fraction) -> str:
    """`up 0.7`, `down 0.3`, or `no change` when it rounds to nothing."""
    shown = one_decimal(abs(change))
    if shown == "0.0":
        return "no change"
    return f"{'up' if change > 0 else 'down'} {shown}"


def _quote(text: str, limit: int = COMMENT_LIMIT) -> str:
    """A comment as a Slack quote, escaped, in at most `limit` characters: cut between words
    (escaping and the quote marks make it longer, so the cut moves back until it fits)."""
    room = limit
    while True:
        lines = escape(shorten(text, room)).splitlines() or [""]
        quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in lines)
        if len(quoted) <= limit or room <= 1:
            return quoted[:limit]
        room -= len(quoted) - limit


def _comment_text(comment: Comment) -> str:
    """A comment quoted with its author after it, or, given anonymously, saying so (not
    signed "anonymous" as if that were someone's name)."""
    if comment.author is None:
        return f"{_quote(comment.text)}\n_(given anonymously)_"
    return f"{_quote(comment.text)}\n— <@{comment.author}>"


def _comment_sections(comments: Sequence[Comment], budget: int) -> tuple[list[SectionBlock], int]:
    """Comments packed into at most `budget` sections of Slack's 3,000 characters, whole (each
    already cut to `COMMENT_LIMIT`); how many did not fit."""
    texts: list[str] = []
    current = ""
    shown = 0
    for comment in comments:
        item = _comment_text(comment)
        candidate = f"{current}\n\n{item}" if current else item
        if len(candidate) > MAX_SECTION_TEXT:
            if len(texts) + 2 > budget:
                break
            texts.append(current)
            candidate = item
        current = candidate
        shown += 1
    if current:
        texts.append(current)
    return [section(t) for t in texts], len(comments) - shown


def survey_results(
    *,
    engagement_name: str,
    vendor: str,
    slot: str,
    asked: int,
    results: SurveyResults,
    previous_slot: str | None = None,
    questions: Sequence[QuestionFigure] = (),
) -> dict[str, Any]:
    """The DM to each lead when a survey's window closes: one aggregate, never who answered.

    Anonymous comments carry no name; named ones their author. Below `MIN_ANSWERS` answers
    only their number is shown (the domain withholds averages, comments and change; see
    `bot.domain.feedback_results`). The change is against the survey of `previous_slot`.
    Comments that would take the message past Slack's 50 blocks are counted, not shown.
    `questions`: the survey's custom questions as `figures.survey_questions` aggregated them
    (each from MIN_ANSWERS answers up), shown before the comments.
    """
    n = results.answers
    answered = f"{n} of {asked} asked answered" if asked else f"{n} answered"
    headline = (
        f"*Feedback survey results* for *{escape(vendor)}* on *{escape(engagement_name)}* "
        f"(survey of {slot}): {answered}."
    )
    blocks: list[Any] = [section(headline)]
    text = f"Feedback survey results for {escape(engagement_name)} ({slot}): {answered}"
    if results.withheld:
        if n == 0:
            said = "Nobody answered this survey, so there is nothing to show."
        else:
            said = (
                f"Only {n} answered: averages and comments are shown from {MIN_ANSWERS} answers "
                "up, so that no one's answer can be recognised."
            )
        blocks.append(section(said))
        return message(f"{text}. {said}", blocks)
    lines = []
    for key, average in results.averages.items():
        change = results.changes.get(key)
        moved = f" ({change_words(change)})" if change is not None else ""
        lines.append(f"{RATING_LABELS[key]}: *{one_decimal(average)}* / 5{moved}")
    blocks.append(section("\n".join(lines)))
    if previous_slot is not None and results.previous_answers is not None:
        compared = (
            f"Changes against the survey of {previous_slot} "
            f"({moments.counted(results.previous_answers, 'answer')})."
        )
    else:
        compared = (
            f"No earlier survey of this cadence with {MIN_ANSWERS} answers or more to compare with."
        )
    blocks.append(context(compared))
    blocks += survey_blocks(questions, room=MAX_MESSAGE_BLOCKS - len(blocks) - 4)
    if results.comments:
        blocks.append(section(f"*Comments* ({len(results.comments)})"))
        room = MAX_MESSAGE_BLOCKS - len(blocks) - 1  # one left for the count of what did not fit
        comment_blocks, left_out = _comment_sections(results.comments, room)
        blocks += comment_blocks
        if left_out:
            more = moments.counted(left_out, "more comment")
            blocks.append(context(f"{more} did not fit in this message."))
    else:
        blocks.append(context("No comments."))
    return message(text, blocks)
