"""Block Kit for feedback: the survey form, the thank-you, and the summary for the leads."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.common import context, escape, message, pack_sections, section
from bot.domain.feedback import (
    ANONYMOUS,
    MAX_COMMENT,
    RATING_LABELS,
    RATINGS,
    SCALE,
    FeedbackForm,
    SavedFeedback,
)

FEEDBACK_MODAL = "feedback_form"


def feedback_modal(form: FeedbackForm) -> dict[str, Any]:
    """The survey: four ratings from 1 to 5, a comment, and "keep my name from the vendor"."""
    options = [Option(value=str(n), label=f"{n} — {word}") for n, word in SCALE.items()]
    intro = (
        f"How is *{escape(form.vendor)}* doing on *{escape(form.engagement_name)}*? "
        "Your answer goes to the engagement's leads, never to the vendor's channel."
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
                        description="The leads see your ratings and comment without your name.",
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


def _ratings_line(saved: SavedFeedback) -> str:
    return " · ".join(
        f"{RATING_LABELS[key]} *{value}/5*" for key, value in saved.data.ratings().items()
    )


def thanks_message(saved: SavedFeedback) -> dict[str, Any]:
    """The short confirmation DM to the person who answered."""
    who = "without your name" if saved.data.anonymous else "with your name"
    text = (
        f"Thank you: your feedback on {escape(saved.vendor)} for "
        f"*{escape(saved.engagement_name)}* went to its leads, {who}."
    )
    return message(text, [section(text), context(_ratings_line(saved))])


def leads_summary(saved: SavedFeedback) -> dict[str, Any]:
    """The DM to each lead; the author is named only when they did not ask to stay anonymous."""
    author = "anonymous" if saved.data.anonymous else f"<@{saved.author}>"
    late = " (after the survey window)" if saved.late else ""
    headline = (
        f"New feedback on *{escape(saved.vendor)}* for *{escape(saved.engagement_name)}* "
        f"from {author}{late}"
    )
    blocks: list[Any] = [section(headline), section(_ratings_line(saved))]
    if saved.data.comment:
        blocks += pack_sections(["*Comment*", *escape(saved.data.comment).splitlines()])
    if saved.data.anonymous:
        blocks.append(context("The author asked to keep their name from the vendor."))
    text = f"New feedback on {saved.vendor} for {saved.engagement_name} from {author}"
    return message(text, blocks)
