"""The demo's short summary: what the weeks came to, read from the app's own database (the
same rows its digest reads) and from what Slack showed."""

from __future__ import annotations

from collections import Counter

from sqlmodel import col, select

from bot.demo.transcript import Transcript
from storage.db import Database
from storage.models import (
    AssuranceEvent,
    AssuranceItem,
    Cadence,
    CheckIn,
    CheckInRecipient,
    Concern,
    Deliverable,
    Engagement,
    Feedback,
    KpiValue,
    StatusUpdate,
)


def count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def lines(db: Database, transcript: Transcript, digest_channel: str) -> list[str]:
    with db.read_session() as session:
        engagements = session.exec(select(Engagement).order_by(Engagement.id)).all()
        kinds = {c.id: c.kind for c in session.exec(select(Cadence))}
        checkins = {c.id: kinds[c.cadence_id] for c in session.exec(select(CheckIn))}
        recipients = session.exec(select(CheckInRecipient)).all()
        updates = session.exec(select(StatusUpdate)).all()
        missed = select(KpiValue).where(col(KpiValue.met_target).is_(False))
        missed_kpis = len(session.exec(missed).all())
        concerns = session.exec(select(Concern)).all()
        feedback = session.exec(select(Feedback)).all()
        deliverables = session.exec(select(Deliverable)).all()
        evidence = session.exec(select(AssuranceItem)).all()
        lapsed = set(
            session.exec(
                select(AssuranceEvent.item_id).where(AssuranceEvent.action == "expired")
            ).all()
        )
    surveys = {i for i, kind in checkins.items() if kind == "feedback_survey"}
    asked = [r for r in recipients if checkins[r.checkin_id] == "status_update"]
    reviews = [u for u in updates if checkins.get(u.checkin_id or 0) == "security_review"]
    updates = [u for u in updates if u not in reviews]  # the status updates: RAG and lateness
    from_answers = [c for c in concerns if c.source == "question"]
    evidence_states = Counter(i.status for i in evidence)
    renewed = sum(1 for i in evidence if i.id in lapsed and i.status == "accepted")
    late = sum(1 for u in updates if u.late)
    answered = sum(1 for r in asked if r.status == "answered")
    rags = Counter(u.rag for u in updates)
    concern_states = Counter(c.status for c in concerns)
    # Answered (acknowledged or resolved) late or not by the end: escalated, even once settled.
    late_to_acknowledge = sum(
        1
        for c in concerns
        if c.acknowledge_due_at is not None
        and (c.acknowledged_at or c.resolved_at or transcript.end) > c.acknowledge_due_at
    )
    entries = transcript.entries()
    digests = [e for e in entries if e.kind == "file" and e.file and e.file.is_image]
    in_digest = transcript.conversation(digest_channel)
    channel_messages = sum(
        1
        for c in transcript.conversations
        if c.kind == "channel"
        for e in c.entries
        if e.kind == "message"
    )
    dms = sum(
        1
        for c in transcript.conversations
        if c.kind == "dm"
        for e in c.entries
        if e.kind == "message"
    )
    forms = sum(1 for e in entries if e.kind == "form")
    names = ", ".join(f"{e.name} ({e.vendor})" for e in engagements)
    in_channel = f"#{in_digest.title.lstrip('#')}" if in_digest else "the digest channel"
    return [
        f"{len(engagements)} engagements: {names}.",
        f"{len(asked)} status updates asked: {answered - late} on time, {late} late, "
        f"{len(asked) - answered} never sent (reminded, overdue, escalated).",
        f"Updates: {rags['green']} green, {rags['amber']} amber, {rags['red']} red; "
        f"{missed_kpis} KPI figures short of target.",
        f"{count(len(concerns), 'concern')}: {concern_states['resolved']} resolved, "
        f"{concern_states['acknowledged']} acknowledged, {concern_states['open']} not "
        f"acknowledged; {late_to_acknowledge} past the deadline to acknowledge (alerted, then "
        "escalated).",
        f"{count(len(deliverables), 'deliverable')}: "
        f"{sum(1 for d in deliverables if d.status == 'accepted')} accepted "
        f"({sum(1 for d in deliverables if d.rework_count)} after a rejection), "
        f"{sum(d.slip_count for d in deliverables)} re-plans, "
        f"{sum(1 for d in deliverables if d.status not in ('accepted', 'cancelled'))} open.",
        f"{count(len(evidence), 'piece')} of security evidence "
        f"({sum(1 for i in evidence if i.required)} due diligence): "
        f"{evidence_states['accepted']} accepted, {evidence_states['rejected']} sent back, "
        f"{evidence_states['requested']} still requested; {renewed} expired and renewed.",
        f"{count(len(reviews), 'security review')} answered, "
        f"{count(len(from_answers), 'concern')} raised by answers.",
        f"{count(len(feedback), 'survey answer')} in {count(len(surveys), 'survey')}, each "
        "summed up for the leads.",
        f"{count(len(digests), 'weekly digest')} in {in_channel}, each with its chart.",
        f"Slack showed {channel_messages} channel messages and {dms} DMs; people sent {forms} "
        "forms.",
    ]
