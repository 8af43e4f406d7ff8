"""Alerts the engine plans when time passes: a check-in's window closed (overdue), the
escalation delay passed, occurrences were missed while the engine was down.

These kinds work in the database only: in one transaction they read the state, change it and
plan the message jobs that carry the news, each under its own key, so each alert goes out once.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.blocks import checkins as checkin_blocks
from bot.domain import checkins, moments
from bot.domain.cadences import CadenceStatus
from bot.domain.checkin_kinds import FormFamily, spec_of
from bot.engine.outbox import leads_of, plan_message
from bot.engine.planner import person_zones
from storage import job_keys, jobs
from storage.jobs import JobKind
from storage.models import Cadence, CheckIn, Engagement


def plan_overdue_alerts(session: Session, job: jobs.ClaimedJob, now: datetime) -> str:
    """At window close: mark the check-in overdue and alert the leads once, naming who is
    missing and who is away (a survey's: only how many, since its answers may be anonymous).
    After the escalation delay: the escalation target, once."""
    escalation = job.kind == JobKind.ESCALATE
    checkin = session.get(CheckIn, job.checkin_id)
    if checkin is None:
        return f"{job.key}: check-in gone"
    cadence = session.get(Cadence, checkin.cadence_id)
    engagement = session.get(Engagement, checkin.engagement_id)
    assert cadence is not None and engagement is not None
    if escalation:
        found = checkins.roster(session, checkin.id)
    else:
        found = checkins.close_window(session, checkin=checkin, now=now)
    missing = list(found.missing)
    if not missing:
        return f"{job.key}: everyone answered, no alert"
    if cadence.status != CadenceStatus.ACTIVE:  # paused or deleted: nobody is chased
        return f"{job.key}: window closed, no alert (cadence {cadence.status})"
    leads = leads_of(session, engagement)
    targets = list(cadence.escalation_user_ids or leads) if escalation else leads
    zones = person_zones(session, engagement.team_id, targets)
    spec = spec_of(cadence.kind)
    survey = spec is not None and spec.answered_with == FormFamily.FEEDBACK
    asked = len(found.missing) + len(found.answered) + len(found.away)

    def alert_for(target: str) -> dict:
        """The alert as `target` reads it: the slot in their own zone."""
        slot = moments.slot(
            checkin.occurrence_key,
            cadence.timezone,
            reader_tz=zones.get(target),
            each_person=cadence.recipient_local_time,
            reader_unknown=True,  # Slack shows them their own zone then
        )
        if survey:  # counts only: naming who is missing or away names who answered
            return checkin_blocks.survey_overdue_alert(
                engagement_name=engagement.name,
                handle=engagement.handle,
                kind=cadence.kind,
                slot=slot,
                asked=asked,
                answered=len(found.answered),
                away=len(found.away),
                escalation=escalation,
            )
        return checkin_blocks.overdue_alert(
            engagement_name=engagement.name,
            handle=engagement.handle,
            kind=cadence.kind,
            slot=slot,
            missing=missing,
            away=list(found.away),
            answered=list(found.answered),
            via_channel=list(found.via_channel),
            escalation=escalation,
        )

    missing_said = f"{len(missing)} of {asked}" if survey else ", ".join(missing)
    label = "escalation" if escalation else "overdue alert"
    for target in targets:
        plan_message(
            session,
            job,
            key=job_keys.alert(job.kind, checkin.id, target),
            to=target,
            message=alert_for(target),
            describe=f"{label} {engagement.handle} {checkin.occurrence_key} to {target}",
            now=now,
        )
    return f"{job.key}: {label} planned for {', '.join(targets)} (missing {missing_said})"


def plan_missed_summary(session: Session, job: jobs.ClaimedJob, now: datetime) -> str:
    cadence = session.get(Cadence, job.cadence_id)
    if cadence is None:
        return f"{job.key}: cadence gone"
    engagement = session.get(Engagement, cadence.engagement_id)
    assert engagement is not None
    leads = leads_of(session, engagement)
    zones = person_zones(session, engagement.team_id, leads)
    for lead in leads:
        summary = checkin_blocks.missed_summary(
            engagement_name=engagement.name,
            kind=cadence.kind,
            slots=[
                moments.slot(
                    key,
                    cadence.timezone,
                    reader_tz=zones.get(lead),
                    each_person=cadence.recipient_local_time,
                    reader_unknown=True,
                )
                for key in job.payload.get("slots", [])
            ],
        )
        plan_message(
            session,
            job,
            key=job_keys.to_lead(job.key, lead),
            to=lead,
            message=summary,
            describe=f"missed summary {engagement.handle} to {lead}",
            now=now,
        )
    return f"{job.key}: summary planned for {', '.join(leads)}"
