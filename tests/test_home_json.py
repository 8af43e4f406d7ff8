"""The Home tab's JSON, byte for byte as it was when slack_sdk's block objects built it.

Why: the Home is built as plain dicts (`bot/blocks/kit.py`) and read with Core rows, for speed
(bench/README.md, "profile_requests"). `tests/expected/home_views.json` holds the views this
flow published when the Home was built with slack_sdk's objects and ORM instances (written once,
before the change, and never from the new code): every block, key and text must stay the same.
The flow gives a Home each of its parts: a check-in waiting with its button, a deliverable to
submit, evidence owed, a concern, engagements with figures, the lead's notification choice.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from conftest import LEAD, OUTSIDER, STAKEHOLDER, TEAM, VENDOR, Cadence
from engine_flows import jobs_of, tick
from test_assurance import add as add_evidence
from test_deliverables import add as add_deliverable
from test_home import MON, answer_amber_then_raise_a_concern, open_home, publishes_to, set_up

from bot.engine.home_jobs import home_page
from storage.jobs import JobKind
from storage.statuses import FINISHED_JOB_STATUSES

EXPECTED = Path(__file__).parent / "expected" / "home_views.json"


def sent(cadence: Cadence, user: str) -> dict[str, Any]:
    """The view the last views.publish to `user` sent, as sent (not as the stand-in keeps it)."""
    view = publishes_to(cadence, user)[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def homes(cadence: Cadence, monkeypatch) -> dict[str, Any]:
    """Each person's Home along the flow, as sent, by a name of the moment."""
    set_up(cadence)
    tick(cadence, monkeypatch, MON)
    add_deliverable(cadence)  # owned by the vendor: theirs to submit
    add_evidence(cadence)  # owed by the vendor
    home = open_home(cadence, VENDOR, MON + timedelta(hours=1))
    seen = {"vendor, waiting": sent(cadence, VENDOR)}
    answer_amber_then_raise_a_concern(cadence, home)
    # The Home jobs these changes planned are out first: a late one would publish after the
    # Home opened below, and that would be the view compared.
    cadence.wait_until(
        lambda: all(
            j.status in FINISHED_JOB_STATUSES
            for j in jobs_of(cadence, JobKind.HOME)
            if j.due_at <= MON + timedelta(hours=3)
        ),
        what="the Home jobs of the changes",
    )
    at = MON + timedelta(hours=4)
    for name, user in (
        ("lead", LEAD),
        ("vendor, answered", VENDOR),
        ("stakeholder", STAKEHOLDER),
        ("outsider", OUTSIDER),
    ):
        open_home(cadence, user, at)
        seen[name] = sent(cadence, user)
    return seen


def test_each_home_is_the_json_slack_sdk_gave(cadence, monkeypatch):
    seen = homes(cadence, monkeypatch)
    expected = json.loads(EXPECTED.read_text())
    assert list(seen) == list(expected)
    for name, view in seen.items():  # as sorted JSON: a difference shows as the lines it is on
        assert _lines(view) == _lines(expected[name]), name


def _lines(view: dict[str, Any]) -> list[str]:
    return json.dumps(view, indent=1, sort_keys=True, ensure_ascii=False).splitlines()


def test_a_home_runs_statements_built_once_per_process(cadence, monkeypatch):
    """Building the Home's SELECTs cost more CPU than running them (every change that shows on
    a Home publishes it again): each person's Home, read twice at different moments, runs the
    very same statement objects the second time as the first, none built afresh."""
    from sqlalchemy import event

    homes(cadence, monkeypatch)
    ran: list[list[Any]] = []

    def seen(_conn, clauseelement, _multiparams, _params, _options) -> None:
        ran[-1].append(clauseelement)  # the objects themselves: an id is reused once freed

    event.listen(cadence.db.engine, "before_execute", seen)
    try:
        for at in (MON + timedelta(hours=5), MON + timedelta(hours=6)):
            ran.append([])
            for user in (VENDOR, LEAD, STAKEHOLDER, OUTSIDER):
                with cadence.db.read_session() as session:
                    home_page(session, team_id=TEAM, user_id=user, now=at)
    finally:
        event.remove(cadence.db.engine, "before_execute", seen)
    first, second = ({id(s) for s in r} for r in ran)
    assert len(ran[0]) == len(ran[1]) and len(first) >= 15
    assert first == second
