"""Workflow Builder steps: a function execution, and ``functions.completeSuccess`` /
``functions.completeError``, which end it
(https://docs.slack.dev/reference/methods/functions.completeSuccess,
https://docs.slack.dev/reference/methods/functions.completeError).

When a workflow reaches an app's step, Slack starts a function execution and sends the app the
``function_executed`` event (https://docs.slack.dev/reference/events/function_executed) with
its ``function_execution_id`` and a ``bot_access_token`` made for that execution, which Bolt
puts on the listener's client (its AttachingFunctionToken middleware). ``start_execution``
stands for Slack starting one (the simulator's ``function_executed`` helper calls it); the
execution then ends once, with its outputs or its error, as these methods record. Its token is
revoked when it ends (Slack's Bolt maintainers: the token expires 15 minutes after it was issued
"OR [is] revoked when the step is completed",
https://github.com/slackapi/bolt-python/issues/1075), so a second end with it is `invalid_auth`;
the workspace's bot token may end it too (both methods take bot tokens, no scope required).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from bot.demo.fake_slack.methods.base import ApiError

RUNNING, COMPLETED, FAILED = "running", "completed", "failed"
# The execution token's prefix: Slack's workflow function tokens read "xwfp-".
FUNCTION_TOKEN_PREFIX = "xwfp-"


@dataclass
class Execution:
    """One run of a step: what it was given, and how it ended (`outputs` or `error`)."""

    id: str
    callback_id: str
    team_id: str
    token: str
    inputs: dict[str, Any]
    workflow_execution_id: str
    state: str = RUNNING
    outputs: dict[str, Any] | None = None
    error: str | None = None
    ends: list[str] = field(default_factory=list)  # every completion tried, in order
    ended: int = 0  # completions Slack took: at most one, whatever was tried


class FunctionsMethods:
    """``functions.*``, and the executions they end."""

    def _init_functions(self) -> None:
        self._executions: dict[str, Execution] = {}
        self._execution_tokens: dict[str, str] = {}  # token -> execution id

    def start_execution(
        self, callback_id: str, inputs: dict[str, Any], *, team_id: str | None = None
    ) -> Execution:
        """Slack runs the app's step `callback_id` in a workflow: a new execution, running,
        with its own token acting for the workspace."""
        team = team_id or self.team_id
        execution = Execution(
            id=f"Fx{secrets.token_hex(5).upper()}",
            callback_id=callback_id,
            team_id=team,
            token=f"{FUNCTION_TOKEN_PREFIX}{secrets.token_hex(8)}-{secrets.token_hex(12)}",
            inputs=dict(inputs),
            workflow_execution_id=f"Wx{secrets.token_hex(5).upper()}",
        )
        with self._lock:
            self._executions[execution.id] = execution
            self._execution_tokens[execution.token] = execution.id
            self._tokens[execution.token] = team
        return execution

    def execution(self, execution_id: str) -> Execution:
        with self._lock:
            return self._executions[execution_id]

    def knows_function_token(self, token: str) -> bool:
        with self._lock:
            return token in self._execution_tokens

    def _running(self, args: dict[str, Any]) -> Execution:
        """The execution a call names, with the errors both methods document:
        `function_execution_not_found` for one unknown, `access_denied` ("this actor does not
        have access to this function execution") for another workspace's, and
        `execution_not_in_running_state` once it has been completed or failed."""
        self._require(args, "function_execution_id")
        execution = self._executions.get(str(args["function_execution_id"]))
        if execution is None:
            raise ApiError("function_execution_not_found")
        if execution.team_id != self._call_team():
            raise ApiError("access_denied")
        execution.ends.append("success" if "outputs" in args else "error")
        if execution.state != RUNNING:
            raise ApiError("execution_not_in_running_state")
        return execution

    def _ended(self, execution: Execution) -> None:
        """The execution has ended: its token is revoked."""
        execution.ended += 1
        self._execution_tokens.pop(execution.token, None)
        self._tokens.pop(execution.token, None)

    def _m_functions_completeSuccess(self, args: dict[str, Any]) -> dict[str, Any]:
        # https://docs.slack.dev/reference/methods/functions.completeSuccess: `outputs` is
        # required, an object matching the step's output parameters.
        self._require(args, "function_execution_id")
        outputs = args.get("outputs")
        if isinstance(outputs, str):  # form-encoded, as slack_sdk sends it: a JSON object
            try:
                outputs = json.loads(outputs)
            except ValueError:
                outputs = None
        if not isinstance(outputs, dict):
            raise ApiError("parameter_validation_failed")
        execution = self._running(args)
        execution.state, execution.outputs = COMPLETED, outputs
        self._ended(execution)
        return {}

    def _m_functions_completeError(self, args: dict[str, Any]) -> dict[str, Any]:
        # https://docs.slack.dev/reference/methods/functions.completeError: `error` is
        # required, the message Slackbot passes on to the person who ran the workflow.
        self._require(args, "function_execution_id", "error")
        execution = self._running(args)
        execution.state, execution.error = FAILED, str(args["error"])
        self._ended(execution)
        return {}
