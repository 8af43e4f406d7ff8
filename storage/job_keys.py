"""Every job's key, built in one place: one function per kind of key.

A key names one occurrence of one message or action, and the job table's unique key is what
makes planning it twice (a retried request, two processes, a pass after a crash) a no-op. So a
key's text must never change: rows planned before must still match the ones planned after
(`tests/test_job_keys.py` pins each form). A key that follows from another job (a lead's copy
of an alert, a digest's post to a channel) starts with that job's key.
"""

from __future__ import annotations

from datetime import datetime

MAX_LENGTH = 200  # storage.models.ScheduledJob.key


# --- a check-in's plan (bot/domain/checkins.py) -------------------------------------------------


def prompt(checkin_id: int, user_id: str | None) -> str:
    """A check-in's prompt to one person, or (None) to its channel."""
    return f"prompt:checkin={checkin_id}:{_to(user_id)}"


def reminder(checkin_id: int, user_id: str | None) -> str:
    return f"reminder:checkin={checkin_id}:{_to(user_id)}"


def _to(user_id: str | None) -> str:
    return "channel" if user_id is None else f"user={user_id}"


def overdue(checkin_id: int) -> str:
    return f"overdue:checkin={checkin_id}"


def escalate(checkin_id: int) -> str:
    return f"escalate:checkin={checkin_id}"


def survey_results(checkin_id: int) -> str:
    return f"survey-results:checkin={checkin_id}"


def survey_results_to(checkin_id: int, lead: str) -> str:
    """A survey's results to one lead."""
    return f"survey-results:checkin={checkin_id}:lead={lead}"


def in_channel(kind: str, checkin_id: int, user_id: str | None) -> str:
    """A prompt or reminder posted in the channel for a person whose DM was refused."""
    return f"{kind}-in-channel:checkin={checkin_id}:user={user_id}"


def alert(kind: str, checkin_id: int, user_id: str) -> str:
    """An overdue or escalation alert about a check-in, to one person."""
    return f"{kind}-alert:checkin={checkin_id}:user={user_id}"


def checkin_thread(checkin_id: int) -> str:
    return f"checkin-thread:checkin={checkin_id}"


def missed(cadence_id: int, through: str) -> str:
    """The summary of a cadence's occurrences missed while the engine was down."""
    return f"missed:cadence={cadence_id}:through={through}"


# --- engagements, updates, exports (bot/engine/outbox.py) ---------------------------------------


def welcome(engagement_id: int, request: str) -> str:
    return f"welcome:engagement={engagement_id}:request={request}"


def saved(engagement_id: int, request: str) -> str:
    return f"saved:engagement={engagement_id}:request={request}"


def archived(engagement_id: int) -> str:
    return f"archived:engagement={engagement_id}"


def update_summary(update_id: int, revision: int) -> str:
    return f"summary:update={update_id}:revision={revision}"


def update_alert(update_id: int, revision: int, lead: str) -> str:
    return f"update-alert:update={update_id}:revision={revision}:lead={lead}"


def roundup(team_id: str, user_id: str, day: str) -> str:
    """A person's daily round-up of held notices (`bot/domain/notifications.py`), for the local
    day (ISO date) it goes out on: the first notice held for that day plans it."""
    return f"roundup:team={team_id}:user={user_id}:day={day}"


def roundup_dm(roundup_key: str) -> str:
    """The round-up's DM, planned once by the round-up job."""
    return f"{roundup_key}:dm"


def risk_review_summary(review_id: int) -> str:
    return f"risk-review:{review_id}:summary"


def export(request: str) -> str:
    return f"export:request={request}"


def confirm(request: str) -> str:
    return f"confirm:request={request}"


def notice(engagement_id: int, target: str, cause: str, lead: str) -> str:
    """The leads told once that Cadence cannot post where it should (bot/engine/outbox.py)."""
    return f"notice:engagement={engagement_id}:target={target}:cause={cause}:lead={lead}"


def dm_answer(team_id: str, channel: str, ts: str) -> str:
    """The one short answer to a message typed in the Messages tab."""
    return f"dm-answer:{team_id}:{channel}:{ts}"


# --- concerns (bot/domain/concerns.py) -----------------------------------------------------------


def concern_due(concern_id: int, round_: int, stage: str) -> str:
    return f"concern-due:concern={concern_id}:round={round_}:stage={stage}"


def concern_card(concern_id: int, event_id: int) -> str:
    return f"concern-card:concern={concern_id}:event={event_id}"


def concern_line(event_id: int) -> str:
    return f"concern-line:event={event_id}"


def concern_notice(concern_id: int, reason: str, to: str) -> str:
    return f"concern-notice:concern={concern_id}:reason={reason}:to={to}"


# --- deliverables' clocks (bot/domain/deliverable_clocks.py) --------------------------------------


def deliverable_clocks(deliverable_id: int) -> str:
    """What every clock key of a deliverable starts with (to find its pending clocks)."""
    return f"deliverable-clock:deliverable={deliverable_id}:"


def deliverable_clock(deliverable_id: int, stage: str, facts: str) -> str:
    """One clock of a deliverable; `facts` are what it follows from (the due moment and the
    slip and rework counts, or the submission's moment), so a change of them names a new one."""
    return f"{deliverable_clocks(deliverable_id)}stage={stage}:{facts}"


# --- deliverables' cards (bot/domain/deliverables.py) --------------------------------------------


def deliverable_card(deliverable_id: int, event_id: int) -> str:
    return f"deliverable-card:deliverable={deliverable_id}:event={event_id}"


def deliverable_line(event_id: int) -> str:
    return f"deliverable-line:event={event_id}"


def deliverable_timeline(request: str) -> str:
    """`/cadence deliverables <eng> chart`: the timeline picture that request asked for."""
    return f"deliverable-timeline:request={request}"


# --- an assurance item's card and requests (bot/domain/assurance/register.py) -------------------


def assurance_card(item_id: int, event_id: int) -> str:
    return f"assurance-card:item={item_id}:event={event_id}"


def assurance_line(event_id: int) -> str:
    return f"assurance-line:event={event_id}"


def assurance_request(item_id: int, round_: int, to: str) -> str:
    """The DM asking the owner to provide an item, once per round it is owed and owner."""
    return f"assurance-request:item={item_id}:round={round_}:to={to}"


# --- custom questions' rules (bot/domain/questions/rules.py) -----------------------------------


def question_rule(fired_id: int) -> str:
    """A survey answer's rule, acting when the survey closes (never at the answer's moment)."""
    return f"question-rule:fired={fired_id}"


def question_alert(fired_id: int, lead: str) -> str:
    """A question's rule alerting one lead (once per check-in and question: the fired row)."""
    return f"question-alert:fired={fired_id}:lead={lead}"


# --- the digest (bot/engine/digests.py, handlers/digests.py) -------------------------------------


def digest(team_id: str, slot: datetime) -> str:
    """A workspace's scheduled digest, named after its slot."""
    return f"digest:team={team_id}:at={slot.isoformat()}"


def digest_sent_now(team_id: str, request: str) -> str:
    """`/cadence digest send`: a digest planned by a request."""
    return f"digest:team={team_id}:request={request}"


def digest_preview(request: str) -> str:
    return f"digest-preview:request={request}"


def digest_post(digest_key: str, channel: str) -> str:
    return f"digest-post:{digest_key}:channel={channel}"


def digest_chart(post_key: str) -> str:
    return f"digest-chart:{post_key}"


# --- Home (bot/domain/home.py) ------------------------------------------------------------------


def home(user_id: str, window: datetime, *, then: bool = False) -> str:
    """A person's Home tab republished after the changes of the coalescing window that starts
    at `window` (`bot/domain/home.py`): the window's first refresh at once, and `then` one
    for every later change of the window together, at its end."""
    return f"home:user={user_id}:at={window.isoformat()}" + (":then" if then else "")


# --- a message that follows from another job -----------------------------------------------------


def to_lead(job_key: str, lead: str) -> str:
    return f"{job_key}:lead={lead}"


def to_person(job_key: str, user_id: str) -> str:
    return f"{job_key}:to={user_id}"


def to_creator(job_key: str, user_id: str) -> str:
    return f"{job_key}:creator={user_id}"


def not_posted(job_key: str) -> str:
    """The author told that their update's summary could not be posted."""
    return f"{job_key}:not-posted"


# --- the contract's dates (bot/domain/contract_clocks.py) -----------------------------------------


def contract_clocks(engagement_id: int) -> str:
    """What every contract clock key of an engagement starts with (to find its pending ones)."""
    return f"contract-clock:engagement={engagement_id}:"


def contract_clock(engagement_id: int, stage: str, facts: str) -> str:
    """One contract reminder; `facts` are the dates it follows from, so new dates name a new
    one (and the old one is cancelled)."""
    return f"{contract_clocks(engagement_id)}stage={stage}:{facts}"


# --- an assurance item's clocks (bot/domain/assurance/clocks.py) ---------------------------------


def assurance_clocks(item_id: int) -> str:
    """What every clock key of an assurance item starts with (to find its pending clocks)."""
    return f"assurance-clock:item={item_id}:"


def assurance_clock(item_id: int, stage: str, facts: str) -> str:
    """One clock of an assurance item; `facts` are what it follows from (its valid-until date
    and round, or the moment it became owed and the window), so a change names a new one."""
    return f"{assurance_clocks(item_id)}stage={stage}:{facts}"


def retention(team_id: str, day: str, batch: int) -> str:
    """One batch of a workspace's daily retention pass (`bot/engine/retention_jobs.py`)."""
    return f"retention:team={team_id}:on={day}:batch={batch}"


# --- Workflow Builder steps (bot/engine/step_ends.py) -------------------------------------------


def step_end(execution_id: str) -> str:
    """A step's end (functions.completeSuccess or completeError): one per function execution."""
    return f"step-end:execution={execution_id}"
