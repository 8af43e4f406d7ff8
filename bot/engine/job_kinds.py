"""The registry of job kinds: what each kind of job does when its time comes.

Two sorts of handler:
- a *message* handler builds the Slack call from current state and returns it (or None when
  there is nothing to send any more, having recorded why); the runner makes the call, paced per
  channel, and records the outcome;
- a *database* handler reads and changes state and plans the message jobs that carry the news,
  in one transaction with finishing its own job (overdue, escalation, missed occurrences).

Each handler is named here by `module:function` and imported the first time a job of its kind
runs: the `web` process runs only the kinds its requests plan (a prompt asked now, a card, an
export), so it does not carry the digest's building and chart, the clocks, the alerts or the
retention pass, which only the `worker`'s passes run (tests/test_web_memory.py).

Adding a kind: a member of `storage.jobs.JobKind`, its handler, and its line here. A test
checks that every kind has exactly one handler, and that each one imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, cast

from storage.jobs import ClaimedJob, JobKind

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.engine.delivery import Message
    from bot.engine.sender import Sender

MessageHandler = Callable[["Sender", ClaimedJob], "Message | None"]
DatabaseHandler = Callable[["Session", ClaimedJob, datetime], str]


@dataclass(frozen=True)
class KindHandler:
    """A kind's handler, `where` (`module:function`), imported when first asked for."""

    where: str
    in_database: bool = False

    @property
    def builds_message(self) -> MessageHandler | None:
        return None if self.in_database else cast(MessageHandler, _imported(self.where))

    @property
    def works_in_database(self) -> DatabaseHandler | None:
        return cast(DatabaseHandler, _imported(self.where)) if self.in_database else None


def message(where: str) -> KindHandler:
    """A handler that builds the Slack call of a job (the runner makes it)."""
    return KindHandler(where)


def in_database(where: str) -> KindHandler:
    """A handler that changes state and plans the jobs carrying the news, in one transaction."""
    return KindHandler(where, in_database=True)


@cache
def _imported(where: str) -> Callable[..., object]:
    module, name = where.split(":")
    return cast(Callable[..., object], getattr(importlib.import_module(module), name))


KINDS: dict[JobKind, KindHandler] = {
    JobKind.PROMPT: message("bot.engine.prompts:build_prompt"),
    JobKind.REMINDER: message("bot.engine.prompts:build_prompt"),
    JobKind.MESSAGE: message("bot.engine.messages:prepared"),
    JobKind.WELCOME: message("bot.engine.messages:welcome"),
    JobKind.UPDATE_SUMMARY: message("bot.engine.messages:update_summary"),
    JobKind.CHECKIN_THREAD: message("bot.engine.messages:checkin_thread"),
    JobKind.EXPORT: message("bot.engine.exports:send_export"),
    JobKind.HOME: message("bot.engine.home_jobs:publish_home"),
    JobKind.CONCERN_CARD: message("bot.engine.concern_jobs:card"),
    JobKind.CONCERN_LINE: message("bot.engine.concern_jobs:line"),
    JobKind.CONCERN_NOTICE: message("bot.engine.concern_jobs:dm"),
    JobKind.CONCERN_DUE: in_database("bot.engine.concern_jobs:due"),
    JobKind.DELIVERABLE_CLOCK: in_database("bot.engine.deliverable_jobs:clock"),
    JobKind.DELIVERABLE_ALERT: message("bot.engine.deliverable_jobs:alert"),
    JobKind.DELIVERABLE_CARD: message("bot.engine.deliverable_cards:card"),
    JobKind.DELIVERABLE_LINE: message("bot.engine.deliverable_cards:line"),
    JobKind.DELIVERABLE_TIMELINE: message("bot.engine.timeline_jobs:send_timeline"),
    JobKind.ASSURANCE_CARD: message("bot.engine.assurance_cards:card"),
    JobKind.ASSURANCE_LINE: message("bot.engine.assurance_cards:line"),
    JobKind.ASSURANCE_REQUEST: message("bot.engine.assurance_cards:request"),
    JobKind.OVERDUE: in_database("bot.engine.alerts:plan_overdue_alerts"),
    JobKind.ESCALATE: in_database("bot.engine.alerts:plan_overdue_alerts"),
    JobKind.MISSED_SUMMARY: in_database("bot.engine.alerts:plan_missed_summary"),
    JobKind.SURVEY_RESULTS: in_database("bot.engine.survey_results:plan_survey_results"),
    JobKind.DIGEST: in_database("bot.engine.digest_plans:plan_posts"),
    JobKind.RETENTION: in_database("bot.engine.retention_jobs:purge"),
    JobKind.DIGEST_POST: message("bot.engine.digests:build_post"),
    JobKind.DIGEST_CHART: message("bot.engine.digests:build_chart"),
    JobKind.QUESTION_RULE: in_database("bot.engine.question_jobs:act"),
    JobKind.QUESTION_ALERT: message("bot.engine.question_jobs:alert"),
    JobKind.CONTRACT_CLOCK: in_database("bot.engine.contract_jobs:clock"),
    JobKind.ASSURANCE_CLOCK: in_database("bot.engine.assurance_jobs:clock"),
    JobKind.ROUNDUP: in_database("bot.engine.roundups:plan_roundup"),
    JobKind.STEP_END: message("bot.engine.step_ends:build"),
}


def handler_for(kind: str) -> KindHandler | None:
    try:
        return KINDS.get(JobKind(kind))
    except ValueError:
        return None
