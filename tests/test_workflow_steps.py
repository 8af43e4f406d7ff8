"""Workflow Builder steps, as a team meets them: a workflow of their own reaches Cadence's
"Raise a concern", "Ask for a status update now" or "Add a deliverable" step; Slack sends the
``function_executed`` event (signed, shaped as its reference shows it); the step ends with its
outputs (``functions.completeSuccess``) or a message saying how to fix it
(``functions.completeError``), as the stand-in records. What a step does is what the command and
its form do: the concern, check-in or deliverable, its messages planned as jobs and sent once,
by the outbox or the next pass. Who may is checked as for the commands; a refused step, an
unknown engagement or a bad date changes nothing; Slack delivering the event again acts once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from conftest import (
    ACME,
    BOT_TOKEN,
    LEAD,
    OUTSIDER,
    STAKEHOLDER,
    VENDOR,
    Cadence,
    app_services,
    make_settings,
    serving,
)
from engine_flows import dms_to, schedule, tick, utc
from flows import create_engagement, text_of
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.demo.fake_slack.methods.functions import COMPLETED, FAILED, Execution
from bot.platform import clock
from handlers.workflow_steps import STEPS, function_object
from storage.encryption import Keys
from storage.models import CheckIn, Concern, Deliverable, ScheduledJob

ENCRYPTION_KEY = "cTiWnRT3iNfDjp1J3tDi8W6VjZ8Z2zgxBukmlqRDcFQ="  # a Fernet key, for tests only
NOW = utc(2026, 12, 2, 10, 0)  # a Wednesday: the weekly cadence's Monday slot is days away


def set_up(cadence: Cadence) -> None:
    with clock.fixed_at(NOW - timedelta(days=1)):
        create_engagement(cadence, stakeholders=[STAKEHOLDER])


def who(user: str) -> dict[str, str]:
    """A user_context input as Workflow Builder fills it: the person who ran the workflow."""
    return {"id": user, "secret": "b4a7f0c2e1d9"}


def run(cadence: Cadence, callback_id: str, inputs: dict[str, Any], *, at=NOW) -> Any:
    """The workflow reaches the step: Slack's signed event, acknowledged at once."""
    with clock.fixed_at(at):
        reply = cadence.sim.function_executed(
            callback_id, inputs, definition=function_object(callback_id)
        )
    assert reply.status == 200, reply.body
    return reply


def ended(cadence: Cadence, execution: Execution) -> Execution:
    """The execution once the step ended it (completed or failed), as Slack holds it."""
    return cadence.wait_until(
        lambda: execution if execution.state in (COMPLETED, FAILED) else None,
        what=f"step {execution.callback_id} to end",
    )


def failed(cadence: Cadence, reply: Any) -> str:
    execution = ended(cadence, reply.execution)
    assert execution.state == FAILED, execution.outputs
    assert execution.ends == ["error"]
    return execution.error or ""


def rows(cadence: Cadence, model) -> list[Any]:
    with cadence.db.read_session() as session:
        return list(session.exec(select(model).order_by(model.id)).all())


def jobs_about(cadence: Cadence, words: str) -> list[ScheduledJob]:
    return [j for j in rows(cadence, ScheduledJob) if words in j.key]


def card_in_acme(cadence: Cadence, words: str) -> list[dict[str, Any]]:
    return [m for m in cadence.fake.messages(ACME) if words in text_of(m)]


# --- each step, end to end ---------------------------------------------------------------------


def test_raise_a_concern_from_a_workflow(cadence, monkeypatch):
    set_up(cadence)
    reply = run(
        cadence,
        "raise_concern",
        {
            "engagement": f"<#{ACME}|acme-payments>",  # its channel, as a builder inserts it
            "raised_by": who(STAKEHOLDER),
            "title": "VPN keys shared by email",
            "severity": "high",
            "category": "security",
            "due_date": "2026-12-09",
        },
    )
    execution = ended(cadence, reply.execution)
    [concern] = rows(cadence, Concern)
    assert execution.state == COMPLETED, execution.error
    assert execution.outputs == {"concern_id": concern.id, "engagement": "acme-payments",
                                 "channel": ACME}  # fmt: skip
    assert (concern.title, concern.severity, concern.raised_by, concern.source) == (
        "VPN keys shared by email", "high", STAKEHOLDER, "workflow",
    )  # fmt: skip
    assert concern.source_ref == f"workflow:{execution.id}"
    assert str(concern.due_on) == "2026-12-09" and concern.owner_user_id == VENDOR
    # Its messages are jobs of its transaction: the card, the owner's DM, the leads' alert.
    planned = {j.key.split(":")[0] for j in jobs_about(cadence, f"concern={concern.id}:")}
    assert planned >= {"concern-card", "concern-notice", "concern-due"}, planned
    cadence.wait_until(lambda: card_in_acme(cadence, "VPN keys shared by email"), what="card")
    tick(cadence, monkeypatch, NOW + timedelta(minutes=1))
    assert len(card_in_acme(cadence, "VPN keys shared by email")) == 1  # sent once, not again
    alerts = [m for m in dms_to(cadence, LEAD) if "VPN keys" in str(m)]
    assert len(alerts) == 1  # a serious security concern alerts the leads at once


def test_ask_for_a_status_update_now_from_a_workflow(cadence, monkeypatch):
    set_up(cadence)
    made = schedule(cadence, NOW - timedelta(hours=20))
    reply = run(
        cadence,
        "ask_status_update",
        {"engagement": "Acme Payments", "requested_by": who(LEAD)},
    )
    execution = ended(cadence, reply.execution)
    assert execution.state == COMPLETED, execution.error
    [checkin] = rows(cadence, CheckIn)
    assert execution.outputs == {"checkin_id": checkin.id, "cadence": made.id, "asked_count": 2}
    assert checkin.cadence_id == made.id and checkin.status == "open"
    assert checkin.scheduled_for == NOW
    assert checkin.window_closes_at == NOW + timedelta(hours=48)  # the cadence's window
    planned = {j.key for j in jobs_about(cadence, f"checkin={checkin.id}")}
    assert f"prompt:checkin={checkin.id}:user={VENDOR}" in planned, planned

    # The prompts are due now: the outbox sends each at once, and no pass sends one again.
    def prompts() -> list[dict[str, Any]]:
        return [m for m in dms_to(cadence, VENDOR) if str(checkin.id) in str(m.get("blocks"))]

    cadence.wait_until(prompts, what="the vendor's prompt, sent by the outbox")
    tick(cadence, monkeypatch, NOW + timedelta(minutes=1))
    tick(cadence, monkeypatch, NOW + timedelta(minutes=2))
    assert len(prompts()) == 1
    # The schedule goes on: its next run is still the Monday slot.
    with cadence.db.read_session() as session:
        assert session.get(type(made), made.id).next_run_at == utc(2026, 12, 7, 8, 0)


def test_add_a_deliverable_from_a_workflow(cadence, monkeypatch):
    set_up(cadence)
    reply = run(
        cadence,
        "add_deliverable",
        {
            "engagement": "acme-payments",
            "added_by": who(LEAD),
            "title": "Cutover runbook",
            "due_date": "2026-12-18",
            "acceptance_criteria": "Rehearsed once in staging.",
        },
    )
    execution = ended(cadence, reply.execution)
    assert execution.state == COMPLETED, execution.error
    [deliverable] = rows(cadence, Deliverable)
    assert execution.outputs == {"deliverable_id": deliverable.id, "due_date": "2026-12-18"}
    assert (deliverable.title, deliverable.owner_user_id, deliverable.created_by) == (
        "Cutover runbook", VENDOR, LEAD,
    )  # fmt: skip
    assert deliverable.acceptance_criteria == "Rehearsed once in staging."
    planned = {j.key.split(":")[0] for j in jobs_about(cadence, f"deliverable={deliverable.id}:")}
    assert planned >= {"deliverable-card", "deliverable-clock"}, planned
    cadence.wait_until(lambda: card_in_acme(cadence, "Cutover runbook"), what="its card")
    tick(cadence, monkeypatch, NOW + timedelta(minutes=1))
    assert len(card_in_acme(cadence, "Cutover runbook")) == 1


# --- refusals: the step fails with a message, and nothing is written ----------------------------


def test_each_step_refuses_whom_the_command_refuses(cadence):
    set_up(cadence)
    schedule(cadence, NOW - timedelta(hours=20))
    concern = {"engagement": "acme-payments", "raised_by": who(OUTSIDER), "title": "Hm"}
    said = failed(cadence, run(cadence, "raise_concern", concern))
    assert "are raised by the people on it" in said
    # A vendor contact may raise a concern, but not ask for an update or add a deliverable.
    asked = {"engagement": "acme-payments", "requested_by": who(VENDOR)}
    assert "Only the leads of Acme Payments" in failed(cadence, run(cadence, "ask_status_update",
                                                                      asked))  # fmt: skip
    added = {"engagement": "acme-payments", "added_by": who(STAKEHOLDER), "title": "Runbook",
             "due_date": "2026-12-18"}  # fmt: skip
    said = failed(cadence, run(cadence, "add_deliverable", added))
    assert "Only the leads of Acme Payments" in said
    assert rows(cadence, Concern) == rows(cadence, CheckIn) == rows(cadence, Deliverable) == []


def test_unknown_engagements_and_bad_input_fail_the_step_saying_what_to_fix(cadence):
    set_up(cadence)
    base = {"engagement": "acme-payments", "added_by": who(LEAD), "title": "Runbook"}
    said = failed(cadence, run(cadence, "add_deliverable", {**base, "engagement": "acme-paymnts",
                                                            "due_date": "2026-12-18"}))  # fmt: skip
    assert "There is no engagement `acme-paymnts`" in said and "`acme-payments`?" in said
    said = failed(cadence, run(cadence, "add_deliverable", {**base, "engagement": "C0NOWHERE",
                                                            "due_date": "2026-12-18"}))  # fmt: skip
    assert "No engagement uses <#C0NOWHERE>" in said
    said = failed(cadence, run(cadence, "add_deliverable", {**base, "due_date": "2026-02-30"}))
    assert said == "Due date: Pick a date from the calendar."
    said = failed(cadence, run(cadence, "add_deliverable", {**base, "due_date": "2026-11-02"}))
    assert said.startswith("Due date: That date is in the past")
    said = failed(cadence, run(cadence, "add_deliverable", {**base, "due_date": "2026-12-18",
                                                            "owner": STAKEHOLDER}))  # fmt: skip
    assert said.startswith("Owner: The owner is one of the vendor contacts")
    concern = {"engagement": "acme-payments", "raised_by": who(LEAD), "title": "Hm",
               "severity": "dire", "due_date": "someday"}  # fmt: skip
    said = failed(cadence, run(cadence, "raise_concern", concern))
    assert "Severity: Choose how severe it is" in said and "Due date: Pick a date" in said
    # No cadence to ask with yet: the step says how to add one.
    said = failed(cadence, run(cadence, "ask_status_update", {"engagement": "acme-payments",
                                                              "requested_by": who(LEAD)}))  # fmt: skip
    assert "/cadence schedule acme-payments" in said
    # Whoever runs it must be known: a workflow whose actor is missing or forged.
    for actor in (None, "U0LEAD", {"id": ["U0LEAD"]}, {"id": "nobody"}):
        said = failed(cadence, run(cadence, "add_deliverable", {**base, "added_by": actor,
                                                                "due_date": "2026-12-18"}))  # fmt: skip
        assert "needs to know who runs the workflow" in said
    # Inputs of the wrong shape are refused like any other, never an exception.
    said = failed(cadence, run(cadence, "raise_concern", {"engagement": ["acme"], "title": 7,
                                                          "raised_by": who(LEAD)}))  # fmt: skip
    assert "Say which engagement" in said
    assert rows(cadence, Concern) == rows(cadence, Deliverable) == rows(cadence, CheckIn) == []


def test_several_status_update_cadences_need_a_number(cadence):
    set_up(cadence)
    first = schedule(cadence, NOW - timedelta(hours=20))
    second = schedule(cadence, NOW - timedelta(hours=20), rule_weekdays=["3"])
    inputs = {"engagement": "acme-payments", "requested_by": who(LEAD)}
    said = failed(cadence, run(cadence, "ask_status_update", inputs))
    assert f"#{first.id}, #{second.id}" in said and "by its number" in said
    reply = run(cadence, "ask_status_update", {**inputs, "cadence": second.id})
    execution = ended(cadence, reply.execution)
    assert execution.state == COMPLETED and execution.outputs["cadence"] == second.id
    assert [c.cadence_id for c in rows(cadence, CheckIn)] == [second.id]


def test_a_retried_event_acts_once(cadence, monkeypatch):
    """Slack delivers the same event again (X-Slack-Retry-Num): one deliverable, one check-in,
    and the step is not ended a second time."""
    set_up(cadence)
    schedule(cadence, NOW - timedelta(hours=20))
    for callback_id, inputs, model in (
        ("add_deliverable", {"engagement": "acme-payments", "added_by": who(LEAD),
                             "title": "Runbook", "due_date": "2026-12-18"}, Deliverable),
        ("ask_status_update", {"engagement": "acme-payments", "requested_by": who(LEAD)},
         CheckIn),
    ):  # fmt: skip
        first = run(cadence, callback_id, inputs)
        assert ended(cadence, first.execution).state == COMPLETED
        with clock.fixed_at(NOW):
            again = cadence.sim.function_executed(callback_id, inputs, retry_of=first)
        assert again.status == 200
        tick(cadence, monkeypatch, NOW + timedelta(minutes=1))
        assert len(rows(cadence, model)) == 1
        assert first.execution.ends == ["success"]
    # Two workflows asking within a minute open one check-in between them.
    again = run(cadence, "ask_status_update", {"engagement": "acme-payments",
                                               "requested_by": who(LEAD)})  # fmt: skip
    execution = ended(cadence, again.execution)
    assert execution.state == COMPLETED
    assert execution.outputs["checkin_id"] == rows(cadence, CheckIn)[0].id
    assert len(rows(cadence, CheckIn)) == 1


def test_the_steps_are_those_the_event_names():
    """Every step has its callback id, one user_context input (who runs it) and outputs."""
    assert set(STEPS) == {"raise_concern", "ask_status_update", "add_deliverable"}
    for step in STEPS.values():
        assert [p.type for p in step.inputs].count("slack#/types/user_context") == 1
        assert step.outputs and all(p.required for p in step.outputs)


def test_the_stand_in_ends_an_execution_once_as_slacks_reference_says(fake_slack):
    """functions.completeSuccess / completeError with the execution's own token: an unknown
    execution is `function_execution_not_found`, one already ended
    `execution_not_in_running_state` (asked with the bot token: the execution's token was
    revoked when it ended), and a made-up function token is refused."""
    execution = fake_slack.start_execution("add_deliverable", {"title": "Runbook"})
    client = WebClient(token=execution.token, base_url=fake_slack.base_url)
    bot = WebClient(token=BOT_TOKEN, base_url=fake_slack.base_url)
    assert client.functions_completeSuccess(
        function_execution_id=execution.id, outputs={"deliverable_id": 4}
    )["ok"]
    assert (execution.state, execution.outputs) == (COMPLETED, {"deliverable_id": 4})
    for call, error in (
        (lambda: client.functions_completeError(function_execution_id=execution.id, error="x"),
         "invalid_auth"),
        (lambda: bot.functions_completeError(function_execution_id=execution.id, error="x"),
         "execution_not_in_running_state"),
        (lambda: bot.functions_completeError(function_execution_id="Fx0NONE", error="x"),
         "function_execution_not_found"),
        (lambda: WebClient(token="xwfp-made-up", base_url=fake_slack.base_url)
         .functions_completeSuccess(function_execution_id=execution.id, outputs={}),
         "invalid_auth"),
    ):  # fmt: skip
        try:
            call()
        except SlackApiError as e:
            assert e.response["error"] == error
        else:
            raise AssertionError(f"{error} expected")
    assert execution.state == COMPLETED and execution.ends == ["success", "error"]
    assert execution.ended == 1


# --- the end is a job of the step's transaction: it cannot get lost -----------------------------


def end_job(cadence: Cadence, execution: Execution) -> ScheduledJob | None:
    """The job that ends the execution (None before the step planned it)."""
    key = f"step-end:execution={execution.id}"
    found = [j for j in rows(cadence, ScheduledJob) if j.key == key]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.fixture
def sealing(fake_slack, db, database_url) -> Iterator[Cadence]:
    """Cadence with encryption keys (CADENCE_ENCRYPTION_KEYS), as a deployment under OAuth."""
    settings = make_settings(database_url, fake_slack, CADENCE_ENCRYPTION_KEYS=ENCRYPTION_KEY)
    with serving(app_services(settings, db), fake_slack) as app:
        yield app


@pytest.mark.slow  # Slack failing, retries waited out
def test_an_end_slack_fails_is_sent_again_by_the_next_pass_and_a_retry_does_not_act(
    sealing, monkeypatch
):
    """The change commits, but Slack answers the step's end with 503s (more than the client's
    own retries): the end waits in the outbox with the engine's backoff, Slack's retry of the
    event acts on nothing, and the next pass ends the step, once."""
    cadence = sealing
    set_up(cadence)
    cadence.fake.server_error("functions.completeSuccess", status=503, times=3)
    inputs = {"engagement": "acme-payments", "raised_by": who(LEAD), "title": "Badge access"}
    first = run(cadence, "raise_concern", inputs)
    execution = first.execution

    def waiting() -> ScheduledJob | None:
        job = end_job(cadence, execution)
        return job if job is not None and job.status == "pending" and job.error else None

    job = cadence.wait_until(waiting, what="the end to wait for its retry")
    assert "HTTP 503" in job.error and execution.state == "running"
    # Its token, for now, sealed with the deployment's keys: in no payload, never in plain text.
    assert job.secret and execution.token not in job.secret
    assert Keys([ENCRYPTION_KEY]).open(job.secret, where="test") == execution.token
    assert execution.token not in str(job.payload)
    assert job.payload["outputs"]["concern_id"] == rows(cadence, Concern)[0].id
    with clock.fixed_at(NOW):
        again = cadence.sim.function_executed("raise_concern", inputs, retry_of=first)
    assert again.status == 200
    keys = {"CADENCE_ENCRYPTION_KEYS": ENCRYPTION_KEY}
    tick(cadence, monkeypatch, NOW + timedelta(minutes=1), **keys)  # past the 30 s backoff
    assert execution.state == COMPLETED and execution.ended == 1
    assert execution.outputs == {"concern_id": rows(cadence, Concern)[0].id,
                                 "engagement": "acme-payments", "channel": ACME}  # fmt: skip
    assert len(rows(cadence, Concern)) == 1
    job = end_job(cadence, execution)
    assert (job.status, job.secret) == ("sent", None)  # the token is not kept once it is done
    used = [c.headers.get("Authorization") for c in cadence.fake.calls
            if c.method == "functions.completeSuccess"]  # fmt: skip
    assert used[-1] == f"Bearer {execution.token}"  # the execution's own token ended it
    tick(cadence, monkeypatch, NOW + timedelta(minutes=5), **keys)
    assert execution.ended == 1 and execution.ends == ["success"]


def test_an_end_whose_answer_was_lost_is_done_once(cadence, monkeypatch):
    """Slack took the end but its answer never came: the engine calls again (with the bot
    token: a deployment without encryption keys stores no execution token) and hears
    `execution_not_in_running_state`, which is done, not a failure."""
    set_up(cadence)
    cadence.fake.drop("functions.completeSuccess", reaches_slack=True)
    inputs = {"engagement": "acme-payments", "added_by": who(LEAD), "title": "Runbook",
              "due_date": "2026-12-18"}  # fmt: skip
    execution = run(cadence, "add_deliverable", inputs).execution
    ended(cadence, execution)
    assert end_job(cadence, execution).secret is None  # no keys: its token is not stored at all
    cadence.wait_until(
        lambda: getattr(end_job(cadence, execution), "status", None) in ("pending", "sent"),
        what="its outcome",
    )
    tick(cadence, monkeypatch, NOW + timedelta(minutes=1))
    job = end_job(cadence, execution)
    assert (job.status, job.secret) == ("sent", None), job.error
    assert execution.state == COMPLETED and execution.ended == 1
    assert execution.ends == ["success", "success"]  # the second answered as done


def test_a_refusal_writes_only_its_end(cadence, monkeypatch):
    """A refused step changes nothing but still ends: its failed end is the one job of its
    transaction, and a retry of the event plans nothing more."""
    set_up(cadence)
    before = {j.key for j in rows(cadence, ScheduledJob)}
    inputs = {"engagement": "acme-payments", "raised_by": who(OUTSIDER), "title": "Hm"}
    first = run(cadence, "raise_concern", inputs)
    assert "are raised by the people on it" in failed(cadence, first)
    with clock.fixed_at(NOW):
        cadence.sim.function_executed("raise_concern", inputs, retry_of=first)
    tick(cadence, monkeypatch, NOW + timedelta(minutes=1))
    planned = [j for j in rows(cadence, ScheduledJob) if j.key not in before]
    assert [(j.key, j.status, j.secret) for j in planned] == [
        (f"step-end:execution={first.execution.id}", "sent", None)
    ]
    assert first.execution.ended == 1 and rows(cadence, Concern) == []
