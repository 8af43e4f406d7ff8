"""Workflow Builder steps: "Raise a concern", "Ask for a status update now" and "Add a
deliverable", which people add to workflows of their own (Bolt's custom functions).

Slack runs a step by sending the ``function_executed`` event
(https://docs.slack.dev/reference/events/function_executed); the step ends with
``functions.completeSuccess`` and its outputs, or ``functions.completeError`` and a message
Slackbot passes on to the person who ran the workflow
(https://docs.slack.dev/reference/methods/functions.completeError). Each step is one more
listener on the domain operations the commands and forms use, with the same checks of who may:
it never ends with an exception, only with its outputs or a message that says how to fix it.

The end is a job of the step's own transaction (`bot/engine/step_ends.py`): a change that
commits has its end planned with it, sent at once after the commit and retried by the engine
if Slack fails, so a retried event (acted on once) never leaves the step running. A refusal
writes nothing but its end (and the delivery, so a retry of it acts once too).

Who acts is the step's `slack#/types/user_context` input: Workflow Builder fills it with the
person who ran the workflow and lets no builder set it by hand
(https://docs.slack.dev/reference/types/user_context-type), so a workflow cannot act as a lead
for someone who is not one. The engagement is named as the commands name it (its handle or its
name), or by its channel. `STEPS` is also what manifest.yml declares (tests/test_manifest.py).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from bot.domain import cadences, concerns, deliverables, engagements
from bot.domain.concerns import CATEGORIES
from bot.domain.engagements import SEVERITIES, EngagementDetails
from bot.domain.errors import FieldErrors, NotFound, UserError
from bot.engine import step_ends
from handlers.context import AlreadyDone, Request
from storage.deadline import DatabaseUnavailable
from storage.encryption import Keys
from storage.models import Engagement

log = logging.getLogger("cadence.handlers")

USER_ID, USER_CONTEXT = "slack#/types/user_id", "slack#/types/user_context"
CHANNEL_ID, DATE = "slack#/types/channel_id", "slack#/types/date"
STRING, INTEGER = "string", "integer"
DATABASE_AWAY = "Cadence's database did not answer in time. Run the workflow again in a minute."
_CHANNEL = re.compile(r"^<?#?([CG][A-Z0-9]{2,})(?:\|[^>]*)?>?$")
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class Param:
    """One input or output of a step, typed as Slack defines its types."""

    name: str
    type: str
    title: str
    description: str
    required: bool = False
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """A step as manifest.yml declares it, and what it does with its inputs (its outputs)."""

    callback_id: str
    title: str
    description: str
    inputs: tuple[Param, ...]
    outputs: tuple[Param, ...]
    # What it does, in the step's transaction (`run_step` opens it and plans the end in it).
    run: Callable[[Session, Request, dict[str, Any], str], dict[str, Any]]

    @property
    def actor(self) -> Param:
        return next(p for p in self.inputs if p.type == USER_CONTEXT)

    def title_of(self, name: str) -> str:
        return next((p.title for p in self.inputs if p.name == name), name)


ENGAGEMENT = Param(
    "engagement", STRING, "Engagement",
    "Its handle (acme-payments), its name, or its channel", required=True,
)  # fmt: skip


def _actor_param(name: str, title: str) -> Param:
    return Param(name, USER_CONTEXT, title, "The person who runs the workflow", required=True)


# --- finding what the inputs name -------------------------------------------------------------


def _text(inputs: dict[str, Any], name: str) -> str:
    value = inputs.get(name)
    return value.strip() if isinstance(value, str) else ""


def actor_of(inputs: dict[str, Any], step: Step) -> str:
    """The person who ran the workflow, from the step's user_context input ({id, secret})."""
    value = inputs.get(step.actor.name)
    found = value.get("id") if isinstance(value, dict) else None
    if not isinstance(found, str) or not _USER.match(found):
        raise UserError(
            f"This step needs to know who runs the workflow: set its “{step.actor.title}” to the "
            "person who used this workflow."
        )
    return found


def engagement_of(session: Session, req: Request, raw: Any) -> EngagementDetails:
    """The engagement an input names: by handle or name as `/cadence` commands take them, or
    by its channel (an id, or a channel mention)."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise UserError(
            "Say which engagement: its handle, like `acme-payments`, or its channel. "
            "`/cadence engagement list` shows the handles."
        )
    channel = _CHANNEL.match(text)
    if channel is None:
        return engagements.find(
            session=session, team_id=req.team_id, handle=text,
            only_for=None if req.is_admin else req.user_id,
        )  # fmt: skip
    found = session.exec(
        select(Engagement.id)
        .where(Engagement.team_id == req.team_id)
        .where(Engagement.channel_id == channel.group(1))
        .where(col(Engagement.archived_at).is_(None))
    ).all()
    if len(found) != 1 or found[0] is None:
        raise NotFound(
            f"{'No engagement' if not found else 'More than one engagement'} uses <#{channel.group(1)}> "
            "as its channel: name the engagement by its handle, like `acme-payments`. "
            "`/cadence engagement list` shows the handles."
        )
    return engagements.get(session=session, team_id=req.team_id, engagement_id=found[0])


# --- the steps -------------------------------------------------------------------------------


def raise_concern(
    session: Session, req: Request, inputs: dict[str, Any], execution: str
) -> dict[str, Any]:
    """A concern in the engagement's register, as the concern form raises one: its card, its
    owner's DM, its clocks and any alert to the leads planned in the same transaction."""
    details = engagement_of(session, req, inputs.get("engagement"))
    concerns.require_member(details, req.user_id, req.admins)
    data = concerns.validate(
        {
            "title": _text(inputs, "title"),
            "severity": _text(inputs, "severity").lower() or "medium",
            "category": _text(inputs, "category").lower() or "other",
            "description": _text(inputs, "description"),
            "owner": _text(inputs, "owner") or None,
            "due_on": _text(inputs, "due_date") or None,
        },
        today=req.now.date(),
    )
    concern = concerns.raise_concern(
        session=session, team_id=req.team_id, actor=req.user_id, engagement_id=details.id,
        data=data, now=req.now, admins=req.admins, source="workflow",
        source_ref=f"workflow:{execution}",
    )  # fmt: skip
    return {
        "concern_id": concern.id,
        "engagement": details.engagement.handle,
        "channel": details.engagement.channel_id,
    }


def ask_status_update(
    session: Session, req: Request, inputs: dict[str, Any], execution: str
) -> dict[str, Any]:
    """One more check-in of the engagement's status-update cadence, its prompts due now."""
    number = inputs.get("cadence")
    ref = str(number).strip() if number not in (None, "") else None
    details = engagement_of(session, req, inputs.get("engagement"))
    asked = cadences.ask_now(
        session=session, team_id=req.team_id, actor=req.user_id, engagement_id=details.id,
        ref=ref, now=req.now, admins=req.admins,
    )  # fmt: skip
    return {
        "checkin_id": asked.checkin.id,
        "cadence": asked.cadence.id,
        "asked_count": len(asked.asked),
    }


def add_deliverable(
    session: Session, req: Request, inputs: dict[str, Any], execution: str
) -> dict[str, Any]:
    """A deliverable, as the deliverable form adds one: checked against the engagement's
    people as they are now; its card and clocks planned."""
    details = engagement_of(session, req, inputs.get("engagement"))
    deliverables.require_creator(details, req.user_id, req.admins)
    owner = _text(inputs, "owner") or next(iter(details.vendor_contacts), "")
    deliverable = deliverables.create(
        session=session, team_id=req.team_id, actor=req.user_id, engagement_id=details.id,
        raw={
            "title": _text(inputs, "title"),
            "due_on": _text(inputs, "due_date"),
            "owner": owner,
            "description": _text(inputs, "description"),
            "acceptance": _text(inputs, "acceptance_criteria"),
            "milestone": _text(inputs, "milestone"),
        },
        now=req.now, admins=req.admins,
    )  # fmt: skip
    return {"deliverable_id": deliverable.id, "due_date": deliverable.due_on.isoformat()}


STEPS: dict[str, Step] = {
    step.callback_id: step
    for step in (
        Step(
            "raise_concern",
            "Raise a concern",
            "Raise a concern in an engagement's register",
            (
                ENGAGEMENT,
                _actor_param("raised_by", "Raised by"),
                Param("title", STRING, "Title", "What the concern is, in a few words", True),
                Param(
                    "severity", STRING, "Severity", "low, medium, high or critical", enum=SEVERITIES
                ),
                Param("category", STRING, "Category", "What it is about", enum=CATEGORIES),
                Param("description", STRING, "Description", "More about it"),
                Param("owner", USER_ID, "Owner", "Who handles it (else the first vendor contact)"),
                Param("due_date", DATE, "Due date", "When it should be resolved by"),
            ),
            (
                Param("concern_id", INTEGER, "Concern number", "The concern's number", True),
                Param("engagement", STRING, "Engagement", "The engagement's handle", True),
                Param("channel", CHANNEL_ID, "Channel", "Where its card is posted", True),
            ),
            raise_concern,
        ),
        Step(
            "ask_status_update",
            "Ask for a status update now",
            "Ask an engagement's people for a status update now, off the schedule",
            (
                ENGAGEMENT,
                _actor_param("requested_by", "Requested by"),
                Param(
                    "cadence",
                    INTEGER,
                    "Cadence number",
                    "Which status-update cadence (needed when there are several)",
                ),
            ),
            (
                Param("checkin_id", INTEGER, "Check-in number", "The check-in opened", True),
                Param("cadence", INTEGER, "Cadence number", "The cadence it belongs to", True),
                Param("asked_count", INTEGER, "People asked", "How many were asked", True),
            ),
            ask_status_update,
        ),
        Step(
            "add_deliverable",
            "Add a deliverable",
            "Add what the vendor delivers by when to an engagement",
            (
                ENGAGEMENT,
                _actor_param("added_by", "Added by"),
                Param("title", STRING, "Title", "What will be delivered", True),
                Param("due_date", DATE, "Due date", "The day it is due", True),
                Param("owner", USER_ID, "Owner", "A vendor contact (else the first one)"),
                Param("description", STRING, "Description", "What it is"),
                Param("acceptance_criteria", STRING, "Acceptance criteria", "How it is judged"),
                Param("milestone", STRING, "Milestone", "The milestone it belongs to"),
            ),
            (
                Param("deliverable_id", INTEGER, "Deliverable number", "Its number", True),
                Param("due_date", DATE, "Due date", "The day it is due", True),
            ),
            add_deliverable,
        ),
    )
}
# The form fields the domain names in FieldErrors, as the steps' inputs call them.
FIELD_INPUTS = {"due_on": "due_date", "acceptance": "acceptance_criteria"}


def function_object(callback_id: str) -> dict[str, Any]:
    """The step as the ``function`` object of a ``function_executed`` event describes it."""
    step = STEPS[callback_id]

    def params(found: tuple[Param, ...]) -> list[dict[str, Any]]:
        return [{"type": p.type, "name": p.name, "description": p.description,
                 "title": p.title, "is_required": p.required} for p in found]  # fmt: skip

    return {"title": step.title, "description": step.description,
            "input_parameters": params(step.inputs), "output_parameters": params(step.outputs)}  # fmt: skip


# --- the listener ------------------------------------------------------------------------------


def why(step: Step, error: UserError) -> str:
    """The message a failed step leaves: the domain's, each field named as the step's input."""
    if isinstance(error, FieldErrors) and error.errors:
        return " ".join(
            f"{step.title_of(FIELD_INPUTS.get(field, field))}: {message}"
            for field, message in error.errors.items()
        )
    return error.message


def run_step(step: Step) -> Callable[..., None]:
    """The listener of one step: its change and its end (the outputs) in one transaction; on
    any failure, a transaction that writes only its end (a clear message)."""

    def listener(event: dict, context: BoltContext) -> None:
        req = Request.of(context)
        inputs = event.get("inputs") if isinstance(event.get("inputs"), dict) else {}
        execution = event.get("function_execution_id")
        if not isinstance(execution, str) or not execution:
            log.warning("%s: an execution without its id: nothing to end", step.callback_id)
            return
        token = context.function_bot_access_token or event.get("bot_access_token")
        end = Ending(req, step, execution, token if isinstance(token, str) else None)
        try:
            req = dataclasses.replace(req, user_id=actor_of(inputs, step))
            with req.change() as session:
                outputs = step.run(session, req, inputs, execution)
                end.plan(session, outputs=outputs)
            return
        except AlreadyDone:  # Slack delivered it again: the first delivery planned its end
            log.info("%s: a retried execution %s was acted on before", step.callback_id, execution)
            return
        except DatabaseUnavailable as e:
            log.warning("%s: the database is unavailable (%s)", step.callback_id, e)
            error = DATABASE_AWAY
        except UserError as e:
            error = why(step, e)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("step %s failed (reference %s)", step.callback_id, reference)
            error = (f"Sorry, something went wrong on Cadence's side (reference {reference}). "
                     "Run the workflow again; if it keeps happening, give your Cadence admin "
                     "that reference.")  # fmt: skip
        end.fail(context, error)

    listener.__name__ = listener.__qualname__ = step.callback_id
    listener.__doc__ = f"The Workflow Builder step “{step.title}”."
    return listener


@dataclass(frozen=True)
class Ending:
    """How one execution ends: planned as a job (`step_ends.plan`), in the step's transaction
    or one of its own."""

    req: Request
    step: Step
    execution: str
    token: str | None

    def plan(self, session: Session, *, outputs: dict[str, Any] | None = None, error: str = ""):
        step_ends.plan(
            session, team_id=self.req.team_id, execution=self.execution,
            callback_id=self.step.callback_id, token=self.token, keys=self.keys, now=self.req.now,
            outputs=outputs, error=error,
        )  # fmt: skip

    @property
    def keys(self) -> Keys | None:
        """What seals the execution's token; without keys it is not stored (`step_ends`)."""
        services = self.req.services
        return services.keys if services.settings.encryption_keys else None

    def fail(self, context: BoltContext, error: str) -> None:
        """The change wrote nothing: a transaction of its own records the delivery (a retry of
        it acts once) and plans the failed end. Only a database that cannot take even that
        has the step failed at once, from here (nothing else could end it)."""
        try:
            with self.req.change() as session:
                self.plan(session, error=error)
        except AlreadyDone:
            log.info("%s: a retried execution %s was refused before", self.step.callback_id,
                     self.execution)  # fmt: skip
        except Exception as e:
            log.warning("%s: could not plan the end of %s (%s); failing it at once",
                        self.step.callback_id, self.execution, e)  # fmt: skip
            try:
                context.fail(error=error)
            except SlackApiError as refused:
                log.warning("%s: Slack did not take its end (%s)", self.step.callback_id,
                            refused.response.get("error"))  # fmt: skip


FUNCTIONS: dict[str, Callable[..., None]] = {cid: run_step(s) for cid, s in STEPS.items()}
