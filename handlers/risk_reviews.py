"""Risk review listeners: the form a recipient opens from the check-in's prompt (through its
spec in handlers/form_specs.py) and its submission.

Ids in private_metadata are hints: bot/domain/risk_reviews.py re-checks the check-in, who may
answer it and who may change each concern. The summary of what changed is planned through the
outbox in the same transaction as the review, keyed by the review, for the engagement channel.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from sqlmodel import Session

from bot.blocks.risk_reviews import risk_review_modal, risk_review_summary
from bot.domain import checkins, risk_reviews
from bot.engine import outbox
from handlers.context import Request
from handlers.forms import metadata_id, submit
from storage import job_keys


def review_form(session: Session, found: checkins.CheckInContext, req: Request) -> dict:
    """The form for a risk review check-in (the prompt's button)."""
    return risk_review_modal(
        risk_reviews.form_for_checkin(
            session=session, context=found, user_id=req.user_id, admins=req.admins, now=req.now
        )
    )


def risk_review_submitted(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    req = Request.of(context)

    def save(session: Session, values: dict[str, Any], metadata: dict[str, Any]) -> bool:
        ids = metadata.get("concern_ids")
        saved = risk_reviews.save(
            session=session,
            team_id=req.team_id,
            actor=req.user_id,
            raw=values,
            checkin_id=metadata_id(metadata, "checkin_id"),
            concern_ids=[i for i in ids if isinstance(i, int)] if isinstance(ids, list) else [],
            admins=req.admins,
            now=req.now,
            question_ids=metadata.get("questions"),
        )
        outbox.message(
            session,
            team_id=req.team_id,
            key=job_keys.risk_review_summary(saved.review_id),
            to=saved.channel_id,
            payload=risk_review_summary(saved),
            describe=f"risk review {saved.review_id} summary",
            now=req.now,
            checkin_id=saved.checkin_id,
        )
        return True

    # A problem that belongs to no field (not asked, answered already) goes on the first
    # field there is: the first concern's choice, or the new concern's title.
    def general(blocks: dict[str, str]) -> str:
        return next(iter(blocks), risk_reviews.NEW_FIELDS["title"])

    if submit(ack, view, req.change, general, save):
        ack()
