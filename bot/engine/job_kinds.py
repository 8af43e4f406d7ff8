"""The registry of job kinds: what each kind of job does when its time comes.

Two sorts of handler:
- a *message* handler builds the Slack call from current state and returns it (or None when
  there is nothing to send any more, having recorded why); the runner makes the call, paced per
  channel, and records the outcome;
- a *database* handler reads and changes state and plans the message jobs that carry the news,
  in one transaction with finishing its own job (overdue, escalation, missed occurrences).

Adding a kind: a member of `storage.jobs.JobKind`, its handler, and its line here. A test
checks that every kind has exactly one handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.engine import (
    alerts,
    assurance_jobs,
    concern_jobs,
    contract_jobs,
    deliverable_jobs,
    digests,
    exports,
    messages,
    prompts,
    question_jobs,
    retention_jobs,
    roundups,
    step_ends,
    survey_results,
    timeline_jobs,
)
from bot.engine.assurance_cards import card as assurance_card
from bot.engine.assurance_cards import line as assurance_line
from bot.engine.assurance_cards import request as assurance_request
from bot.engine.deliverable_cards import card as deliverable_card
from bot.engine.deliverable_cards import line as deliverable_line
from bot.engine.delivery import Message
from bot.engine.home_jobs import publish_home
from bot.engine.sender import Sender
from storage.jobs import ClaimedJob, JobKind

MessageHandler = Callable[[Sender, ClaimedJob], Message | None]
DatabaseHandler = Callable[[Session, ClaimedJob, datetime], str]


@dataclass(frozen=True)
class KindHandler:
    builds_message: MessageHandler | None = None
    works_in_database: DatabaseHandler | None = None


KINDS: dict[JobKind, KindHandler] = {
    JobKind.PROMPT: KindHandler(builds_message=prompts.build_prompt),
    JobKind.REMINDER: KindHandler(builds_message=prompts.build_prompt),
    JobKind.MESSAGE: KindHandler(builds_message=messages.prepared),
    JobKind.WELCOME: KindHandler(builds_message=messages.welcome),
    JobKind.UPDATE_SUMMARY: KindHandler(builds_message=messages.update_summary),
    JobKind.CHECKIN_THREAD: KindHandler(builds_message=messages.checkin_thread),
    JobKind.EXPORT: KindHandler(builds_message=exports.send_export),
    JobKind.HOME: KindHandler(builds_message=publish_home),
    JobKind.CONCERN_CARD: KindHandler(builds_message=concern_jobs.card),
    JobKind.CONCERN_LINE: KindHandler(builds_message=concern_jobs.line),
    JobKind.CONCERN_NOTICE: KindHandler(builds_message=concern_jobs.dm),
    JobKind.CONCERN_DUE: KindHandler(works_in_database=concern_jobs.due),
    JobKind.DELIVERABLE_CLOCK: KindHandler(works_in_database=deliverable_jobs.clock),
    JobKind.DELIVERABLE_ALERT: KindHandler(builds_message=deliverable_jobs.alert),
    JobKind.DELIVERABLE_CARD: KindHandler(builds_message=deliverable_card),
    JobKind.DELIVERABLE_LINE: KindHandler(builds_message=deliverable_line),
    JobKind.DELIVERABLE_TIMELINE: KindHandler(builds_message=timeline_jobs.send_timeline),
    JobKind.ASSURANCE_CARD: KindHandler(builds_message=assurance_card),
    JobKind.ASSURANCE_LINE: KindHandler(builds_message=assurance_line),
    JobKind.ASSURANCE_REQUEST: KindHandler(builds_message=assurance_request),
    JobKind.OVERDUE: KindHandler(works_in_database=alerts.plan_overdue_alerts),
    JobKind.ESCALATE: KindHandler(works_in_database=alerts.plan_overdue_alerts),
    JobKind.MISSED_SUMMARY: KindHandler(works_in_database=alerts.plan_missed_summary),
    JobKind.SURVEY_RESULTS: KindHandler(works_in_database=survey_results.plan_survey_results),
    JobKind.DIGEST: KindHandler(works_in_database=digests.plan_posts),
    JobKind.RETENTION: KindHandler(works_in_database=retention_jobs.purge),
    JobKind.DIGEST_POST: KindHandler(builds_message=digests.build_post),
    JobKind.DIGEST_CHART: KindHandler(builds_message=digests.build_chart),
    JobKind.QUESTION_RULE: KindHandler(works_in_database=question_jobs.act),
    JobKind.QUESTION_ALERT: KindHandler(builds_message=question_jobs.alert),
    JobKind.CONTRACT_CLOCK: KindHandler(works_in_database=contract_jobs.clock),
    JobKind.ASSURANCE_CLOCK: KindHandler(works_in_database=assurance_jobs.clock),
    JobKind.ROUNDUP: KindHandler(works_in_database=roundups.plan_roundup),
    JobKind.STEP_END: KindHandler(builds_message=step_ends.build),
}


def handler_for(kind: str) -> KindHandler | None:
    try:
        return KINDS.get(JobKind(kind))
    except ValueError:
        return None
