"""A Workflow Builder step's end as a job: ``functions.completeSuccess`` with its outputs, or
``functions.completeError`` with the message Slackbot passes on
(https://docs.slack.dev/reference/methods/functions.completeSuccess,
https://docs.slack.dev/reference/methods/functions.completeError).

Ending a step is a message like any other Cadence sends: `plan` puts it in the outbox in the
transaction of the step's change (or, for a refusal that writes nothing, as the only thing its
transaction writes), keyed by the function execution, so a retried event can never end a step
twice and a commit can never be left without its end. The outbox sends it at once after the
commit; if Slack fails (5xx, a timeout), the engine retries it with its backoff.

An unknown outcome needs no lookup: calling again is harmless. Slack answers a second end of
the same execution `execution_not_in_running_state`, or `function_execution_not_found` ("when
the function has been completed and cannot be found", completeError's reference), and both
mean an earlier attempt ended it (`ENDED`).

The call is made with the execution's own token (the event's ``bot_access_token``), kept in
the job's `secret` column only, encrypted with CADENCE_ENCRYPTION_KEYS (`storage.encryption`):
never in its payload, never in plain text, cleared when the job ends (`storage.jobs`). The
token lives 15 minutes and is revoked once the step has ended (Slack's Bolt maintainers,
https://github.com/slackapi/bolt-python/issues/1075); after that, when Slack refuses it, when
no keys are set (a deployment with one bot token: it is not stored at all) or when the keys no
longer open it, the workspace's bot token ends the step (both methods take bot tokens, no scope
required).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.engine.delivery import Message
from bot.engine.sender import Sender
from bot.engine.slack_errors import error_code
from storage import job_keys, jobs
from storage.encryption import Keys, UnreadableSecret
from storage.jobs import ClaimedJob, JobKind

log = logging.getLogger(__name__)
# Slack's answers to ending an execution that has ended already: an earlier attempt did it.
ENDED = frozenset({"execution_not_in_running_state", "function_execution_not_found"})
# What Slack answers a token it no longer takes (the execution token expired, or was revoked
# when the step ended): the errors every Web API method lists for a refused token.
TOKEN_REFUSED = frozenset({"invalid_auth", "token_expired", "token_revoked", "not_authed"})
# How long an execution's token is good for after Slack sent it.
TOKEN_LIFE = timedelta(minutes=15)
# Slack's limit on completeError's message is not documented; Slackbot's message stays short.
ERROR_CHARS = 2000


def plan(
    session: Session,
    *,
    team_id: str,
    execution: str,
    callback_id: str,
    token: str | None,
    keys: Keys | None,
    now: datetime,
    outputs: dict[str, Any] | None = None,
    error: str = "",
) -> None:
    """Plan the end of the execution `execution` in this transaction: with `error` it fails,
    else it completes with `outputs`. Planning it twice is a no-op (its key)."""
    # Its own lane (`runner.lane`): no channel's pacing holds a person's workflow back.
    payload: dict[str, Any] = {"execution": execution, "step": callback_id, "lane": execution}
    if error:
        payload["error"] = error[:ERROR_CHARS]
    else:
        payload["outputs"] = outputs or {}
    jobs.plan(
        session,
        team_id=team_id,
        key=job_keys.step_end(execution),
        kind=JobKind.STEP_END,
        due_at=now,
        now=now,
        payload=payload,
        secret=keys.seal(token) if token and keys is not None else None,
    )


def build(sender: Sender, job: ClaimedJob) -> Message:
    """The call that ends the step, with the execution's token while it may still be good."""
    payload = job.payload
    execution = str(payload.get("execution") or "")
    token = _token(sender, job)
    failing = "error" in payload

    def end(client: WebClient) -> Any:
        def with_token(override: str | None) -> Any:
            extra = {"token": override} if override else {}
            if failing:
                return client.functions_completeError(
                    function_execution_id=execution, error=str(payload["error"]), **extra
                )
            return client.functions_completeSuccess(
                function_execution_id=execution, outputs=payload.get("outputs") or {}, **extra
            )

        if token:
            try:
                return with_token(token)
            except SlackApiError as e:
                if error_code(e) not in TOKEN_REFUSED:
                    raise
        return with_token(None)  # the workspace's bot token

    return Message(
        channel=execution,
        payload={},
        describe=f"the end of step {payload.get('step')} ({execution}, "
        f"{'failed' if failing else 'completed'})",
        call=end,
        done_if=ENDED,
        quiet=True,  # no channel or lead to tell: the person who ran the workflow waits in it
    )


def _token(sender: Sender, job: ClaimedJob) -> str | None:
    """The execution's token while it may still be good, else None (the bot token then)."""
    planned = job.planned_at
    if job.secret is None or sender.keys is None or planned is None:
        return None
    if sender.now - planned >= TOKEN_LIFE:
        return None
    try:
        return sender.keys.open(job.secret, where=f"scheduledjob.secret (job {job.id})")
    except UnreadableSecret as e:
        log.warning("%s: the bot token ends the step instead", e)
        return None
