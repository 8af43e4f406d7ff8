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
the job's `secret` column only: never in its payload, cleared when the job ends
(`storage.jobs`). The token lives 15 minutes and is revoked once the step has ended (Slack's
Bolt maintainers, https://github.com/slackapi/bolt-python/issues/1075); after that, or when
Slack refuses it, the workspace's bot token ends the step (both methods take bot tokens, no
scope required).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.engine.delivery import Message
from bot.engine.sender import Sender
from bot.engine.slack_errors import error_code
from storage import job_keys, jobs
from storage.jobs import ClaimedJob, JobKind

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
        secret=token or None,
    )


def build(sender: Sender, job: ClaimedJob) -> Message:
    """The call that ends the step, with the execution's token while it may still be good."""
    payload = job.payload
    execution = str(payload.get("execution") or "")
    token = job.secret if _fresh(job, sender.now) else None
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


def _fresh(job: ClaimedJob, now: datetime) -> bool:
    planned = job.planned_at
    return planned is not None and now - planned < TOKEN_LIFE
