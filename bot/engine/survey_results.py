"""A feedback survey's results: when its window closes, each lead gets one DM with the aggregate.

A database kind (`JobKind.SURVEY_RESULTS`, planned by `checkins.open_occurrence` for kinds the
feedback form answers, due when the window closes): it reads the answers, builds the DM once
and plans it for each lead under its own key, so a lead gets it once however often this runs.
What may be shown is the domain's rule (`bot.domain.feedback_results`: nothing that names an
anonymous answerer, nothing but a count below three answers; the custom questions from
`figures.survey_questions`, each from three answers up); the wording is
`bot.blocks.feedback.survey_results`.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.blocks import feedback as feedback_blocks
from bot.domain import checkins, feedback_results, figures, moments
from bot.engine.outbox import leads_of, plan_message
from bot.engine.planner import person_zones
from storage import job_keys, jobs
from storage.models import Cadence, CheckIn, Engagement


def plan_survey_results(session: Session, job: jobs.ClaimedJob, now: datetime) -> str:
    """Plan the survey's results for each of the engagement's leads, once each."""
    checkin = session.get(CheckIn, job.checkin_id)
    if checkin is None:
        return f"{job.key}: check-in gone"
    assert checkin.id is not None
    engagement = session.get(Engagement, checkin.engagement_id)
    assert engagement is not None
    results, previous = feedback_results.results_of(session, checkin)
    found = checkins.roster(session, checkin.id)
    cadence = session.get(Cadence, checkin.cadence_id)
    assert cadence is not None
    asked = len(found.missing) + len(found.answered)
    questions = figures.survey_questions(session, checkin)
    leads = leads_of(session, engagement)
    zones = person_zones(session, engagement.team_id, leads)

    def when(key: str, lead: str) -> str:
        return moments.slot(
            key,
            cadence.timezone,
            reader_tz=zones.get(lead),
            each_person=cadence.recipient_local_time,
            reader_unknown=True,  # Slack shows them their own zone then
        )

    for lead in leads:
        dm = feedback_blocks.survey_results(
            engagement_name=engagement.name,
            vendor=engagement.vendor,
            slot=when(checkin.occurrence_key, lead),
            asked=asked,
            results=results,
            previous_slot=when(previous.occurrence_key, lead) if previous else None,
            questions=questions,
        )
        plan_message(
            session,
            job,
            key=job_keys.survey_results_to(checkin.id, lead),
            to=lead,
            message=dm,
            describe=f"survey results {engagement.handle} {checkin.occurrence_key} to {lead}",
            now=now,
        )
    shown = "withheld" if results.withheld else "shown"
    return (
        f"{job.key}: results ({results.answers} answers, {shown}) planned for "
        f"{', '.join(leads) or 'no lead'}"
    )
