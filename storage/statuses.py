"""The statuses a job, a check-in and a check-in's recipient can have.

They live in storage because the tables refuse any other value (a CHECK constraint per status
column, `storage/models.py`), and the models cannot import the engine or the domain; those
import them from here (`storage.jobs.JobStatus`, `bot.domain.checkins.CheckInStatus`).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint


class JobStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"  # a Slack message went out (its channel and ts are recorded)
    DONE = "done"  # a job that sends nothing itself did its work
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_JOB_STATUSES = (JobStatus.SENT, JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)
# The condition of the finished jobs' partial index, and of the pruning that reads it, as one
# text: a partial index is used only when the statement's condition is its own, word for word.
FINISHED_JOBS = "status IN ({})".format(", ".join(f"'{s.value}'" for s in FINISHED_JOB_STATUSES))


class CheckInStatus(StrEnum):
    OPEN = "open"  # prompts and reminders go out; answers are on time
    OVERDUE = "overdue"  # the window closed with someone missing; late answers are accepted
    CLOSED = "closed"  # everyone answered (or was away)
    MISSED = "missed"  # its window closed while the engine was down: never prompted
    SKIPPED = "skipped"  # a lead skipped it
    HOLIDAY = "holiday"  # an engagement holiday
    EXCUSED = "excused"  # everyone asked was away


class RecipientStatus(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    AWAY = "away"


def one_of(statuses: type[StrEnum]) -> CheckConstraint:
    """`status IN (…)`, named `ck_<table>_status` by the models' naming convention (migration
    0016 writes the same constraints with their values spelled out)."""
    values = ", ".join(f"'{s.value}'" for s in statuses)
    return CheckConstraint(f"status IN ({values})", name="status")
