"""A list costs the same however many engagements there are: `/cadence engagement list`,
`/cadence cadences`, the Home tab, `/cadence concerns` and an engagement's health card, each
driven end to end through signed requests, send as many SQL statements with thirty engagements
as with one (no query per engagement); a workspace with more engagements than a message holds
gets the first ones, within Slack's limits, and is told how many more there are and how to
narrow the list; and the threads that serve them and the database pool are sized together."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ACME, EXTERNAL, LEAD, OUTSIDER, STAKEHOLDER, TEAM, VENDOR, Cadence
from flows import text_of, wait_reply
from sqlalchemy import Engine, event
from sqlalchemy.pool import QueuePool

from bot.blocks.cadences import MAX_LISTED as CADENCES_LISTED
from bot.blocks.common import MAX_MESSAGE_BLOCKS
from bot.blocks.engagements import MAX_LISTED as ENGAGEMENTS_LISTED
from bot.demo.fake_slack import validate_message_blocks, validate_view
from bot.domain import cadences, engagements
from bot.domain.concerns import ConcernInput, raise_concern
from bot.domain.engagements import MAX_NAME, MAX_PEOPLE_PER_ROLE, MAX_VENDOR
from bot.entry import sizing
from bot.platform import clock
from storage.db import Database
from storage.models import (
    AssuranceItem,
    Question,
    QuestionAnswer,
    QuestionRuleFired,
    StatusUpdate,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
DAY = timedelta(days=1)
ROW_STATEMENTS = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement that reads or writes rows, sent by the engine while the block runs,
    from any thread (not BEGIN or a session setting such as a request's time limit)."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        first = statement.lstrip().split(None, 1)[0].upper()
        if first in ROW_STATEMENTS and "set_config(" not in statement:  # PostgreSQL's limits
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def seed(
    db: Database,
    numbers: range,
    *,
    name: Callable[[int], str] | None = None,
    concerns: bool = False,
    **longer: Any,
) -> None:
    """Engagements as the form makes them (a lead, two vendor contacts, a stakeholder, two KPIs,
    the default SLAs; `longer` replaces any of these), each with a weekly status update
    cadence and, with `concerns`, an open concern (Problem <n>), through the domain, a
    custom question answered whose rule fired, and two pieces of evidence, one expiring and
    one expired (the rows the forms write); the contract ends within 90 days."""
    kpis = engagements.parse_kpis("Uptime (%) >= 99.9\nMean time to resolve (hours) <= 8")
    schedule = cadences.validate(
        {"kind": "status_update", "rule_kind": "weekly", "weekdays": ["0"], "local_time": "09:00",
         "timezone": "Europe/Berlin", "window_hours": "48", "audience": "vendor", "delivery": "dm"},
        default_timezone="Europe/Berlin",
        now=NOW,
    )  # fmt: skip
    with db.session() as session:
        for n in numbers:
            data = engagements.EngagementInput(
                name=name(n) if name else f"Client {n:03d}",
                vendor="Globex Consulting",
                channel_id=ACME,
                timezone="Europe/Berlin",
                leads=(LEAD,),
                vendor_contacts=(VENDOR, EXTERNAL),
                stakeholders=(STAKEHOLDER,),
                kpis=kpis,
                contract_end=(NOW + 40 * DAY).date(),
            )
            created = engagements.create(
                session=session, team_id=TEAM, actor=LEAD, data=replace(data, **longer), now=NOW
            )
            made = cadences.create(
                session=session, team_id=TEAM, actor=LEAD, engagement_id=created.id,
                data=schedule, now=NOW, admins=(),
            )  # fmt: skip
            if concerns:
                answered(session, created.id, made.id)
                evidence(session, created.id)
                problem = ConcernInput(title=f"Problem {n}", severity="high", category="delivery")
                raise_concern(
                    session=session, team_id=TEAM, actor=STAKEHOLDER, engagement_id=created.id,
                    data=problem, now=NOW, admins=(),
                )  # fmt: skip


def answered(session: Any, engagement_id: int, cadence_id: int) -> None:
    """A rating question answered a day ago, and a yes/no whose rule fired on its answer."""
    at = NOW - DAY
    for key, kind, value, number in (("morale", "rating", 4, 4.0), ("risk", "yes_no", True, 1.0)):
        question = Question(
            team_id=TEAM, engagement_id=engagement_id, cadence_id=cadence_id, key=key,
            text=f"{key.capitalize()}?", kind=kind, created_by=LEAD, created_at=at,
        )  # fmt: skip
        session.add(question)
        session.flush()
        answer = QuestionAnswer(
            team_id=TEAM, engagement_id=engagement_id, question_id=question.id,
            question_key=key, source="update", source_id=engagement_id,
            author_user_id=VENDOR, value=value, number=number, answered_at=at,
        )  # fmt: skip
        session.add(answer)
        session.flush()
    session.add(
        QuestionRuleFired(
            team_id=TEAM, engagement_id=engagement_id, scope=f"update:{engagement_id}",
            question_key="risk", answer_id=answer.id, action="alert", fired_at=at,
        )
    )  # fmt: skip


def evidence(session: Any, engagement_id: int) -> None:
    """An accepted ISO 27001 certificate valid for 10 more days, and an expired SOC 2 report."""
    for type_key, status, until in (
        ("iso27001", "accepted", NOW + 10 * DAY),
        ("soc2_type2", "expired", NOW - 5 * DAY),
    ):
        session.add(
            AssuranceItem(
                team_id=TEAM, engagement_id=engagement_id, type_key=type_key, title=type_key,
                required=True, status=status, owner_user_id=VENDOR, reviewers=[],
                valid_until=until.date(), created_by=LEAD, created_at=NOW - 30 * DAY,
                updated_at=NOW - 20 * DAY, requested_at=NOW - 30 * DAY,
                reviewed_at=NOW - 20 * DAY,
            )
        )  # fmt: skip


def command(cadence: Cadence, text: str) -> dict[str, Any]:
    """The ephemeral answer to `/cadence <text>` (the listener is done once it is sent)."""
    return wait_reply(cadence, cadence.sim.command(text))


def card_at_now(cadence: Cadence) -> dict[str, Any]:
    """`/cadence status client-000` a day after the seeded moment (the evidence's dates and
    the contract's end are counted from it)."""
    with clock.fixed_at(NOW + DAY):
        return command(cadence, "status client-000")


def open_home(cadence: Cadence) -> dict[str, Any]:
    """The lead opens the Home tab; the view published (the listener's last step)."""
    before = len(cadence.fake.calls_to("views.publish"))
    cadence.sim.app_home_opened(LEAD)
    cadence.fake.wait_for("views.publish", count=before + 1)
    view = cadence.fake.home_view(LEAD)
    assert view is not None and validate_view(view) == []
    return view


LISTS: dict[str, tuple[Callable[[Cadence], dict[str, Any]], tuple[str, ...]]] = {
    # what to show, and what the person reads with thirty engagements
    "engagement list": (
        lambda c: command(c, "engagement list"),
        ("30 engagements", "*Client 029*", f"leads <@{LEAD}>"),  # details read for all thirty
    ),
    "cadences": (lambda c: command(c, "cadences"), ("30 cadences", "Client 023")),  # 24 shown
    "home": (open_home, ("Your engagements* (30)", "*Client 029*", f"leads <@{LEAD}>")),
    "concerns": (lambda c: command(c, "concerns"), ("(30)", "Problem 29")),
    "health card": (
        lambda c: card_at_now(c),
        (
            "Health of Client 000",
            "Morale? 4.0/5 (1 check-in)",
            "Last rule fired: Status update",
            "1 expiring in 30 days · *1 expired*",
            "*iso27001* · due diligence · valid until",
            "Contract: ends *Mon 04 Jan 2027* (in 39 days)",
        ),
    ),
}


def counted(cadence: Cadence, show: Callable[[Cadence], dict[str, Any]]) -> tuple[int, str]:
    """How many statements showing the list sends once warmed up (the first request of a
    workspace or a person records them), and what the person reads."""
    show(cadence)
    with statements(cadence.db.engine) as sent:
        shown = show(cadence)
        count = len(sent)
    return count, text_of(shown)


@pytest.mark.parametrize("shown", list(LISTS))
def test_a_list_sends_as_many_statements_for_thirty_engagements_as_for_one(cadence, shown):
    show, with_thirty = LISTS[shown]
    seed(cadence.db, range(1), concerns=True)
    one, text = counted(cadence, show)
    assert "Client 000" in text

    seed(cadence.db, range(1, 30), concerns=True)
    thirty, text = counted(cadence, show)
    for expected in with_thirty:
        assert expected in text
    assert thirty == one, f"{shown}: {one} statements for 1 engagement, {thirty} for 30"


def test_the_engagement_list_reads_its_lines_in_two_statements(cadence):
    """A list shows a line per engagement (name, handle, vendor, channel, leads): it reads
    those columns and the leads alone (a COUNT, and the page joined to its leads), not each
    engagement's people, KPIs and SLAs as ORM objects (five statements, and most of the
    request's CPU at a page of a hundred). Counted beyond what `/cadence help`, which reads
    nothing, costs."""
    seed(cadence.db, range(30))
    base, _ = counted(cadence, lambda c: command(c, "help"))
    listed, text = counted(cadence, lambda c: command(c, "engagement list"))
    assert "*Client 029*" in text and f"leads <@{LEAD}>" in text
    assert listed - base == 2


def test_more_engagements_than_a_message_holds_are_counted_and_narrowed(cadence):
    seed(cadence.db, range(ENGAGEMENTS_LISTED + 5))
    total = ENGAGEMENTS_LISTED + 5

    listing = command(cadence, "engagement list")
    assert len(listing["blocks"]) <= MAX_MESSAGE_BLOCKS
    assert validate_message_blocks(listing["blocks"]) == []
    text = text_of(listing)
    assert f"{total} engagements" in text
    shown = sum(f"*Client {n:03d}*" in text for n in range(total))
    assert 0 < shown <= ENGAGEMENTS_LISTED
    assert f"Showing {shown} of {total} by name" in text
    assert "`/cadence engagement list <word>`" in text
    assert f"*Client {total - 1:03d}*" not in text  # by name: the last ones wait

    # A word narrows it: only the engagements whose name holds it.
    narrowed = text_of(command(cadence, "engagement list client 10"))
    assert "5 engagements matching “client 10”" in narrowed  # 100 to 104
    assert "*Client 104*" in narrowed and "*Client 010*" not in narrowed
    assert "Showing" not in narrowed
    assert "No engagement matching “nobody”" in text_of(command(cadence, "engagement list nobody"))

    cadence_list = command(cadence, "cadences")
    assert len(cadence_list["blocks"]) <= MAX_MESSAGE_BLOCKS
    assert validate_message_blocks(cadence_list["blocks"]) == []
    assert f"Showing {CADENCES_LISTED} of {total}" in text_of(cadence_list)


def test_long_lines_fill_the_message_first_and_the_rest_is_still_counted(cadence):
    """Everything at its longest and full of characters Slack escapes (a name, a vendor, fifty
    leads): fewer fit than the page read, and the message still holds at most 50 blocks and
    says how many it left out."""
    seed(
        cadence.db,
        range(ENGAGEMENTS_LISTED),
        name=lambda n: f"{n:03d}" + "&" * (MAX_NAME - 3),
        vendor="<" * MAX_VENDOR,
        leads=(LEAD, *(f"U{i:010d}" for i in range(MAX_PEOPLE_PER_ROLE - 1))),
    )
    listing = command(cadence, "engagement list")
    assert len(listing["blocks"]) <= MAX_MESSAGE_BLOCKS
    assert validate_message_blocks(listing["blocks"]) == []
    text = text_of(listing)
    shown = sum(f"*{n:03d}&amp;" in text for n in range(ENGAGEMENTS_LISTED))
    assert 0 < shown < ENGAGEMENTS_LISTED
    assert f"Showing {shown} of {ENGAGEMENTS_LISTED} by name" in text


def test_the_threads_that_serve_lists_and_the_pool_are_sized_together(db):
    """The Procfile runs as many gunicorn threads as `sizing` says; an ack never waits for a
    listener thread held by another request's work after its own ack (twice as many listeners
    as HTTP threads); and the pool (on SQLite as on PostgreSQL) can give every listener, the
    outbox's two threads and the /healthz probe a connection at the same moment."""
    web = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    assert f"--threads {sizing.HTTP_THREADS} " in web
    assert sizing.LISTENER_THREADS >= 2 * sizing.HTTP_THREADS
    pool = db.engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.size() + pool._max_overflow >= sizing.LISTENER_THREADS + 2 + 1


def rag(db: Database, name: str, colour: str, at: datetime) -> None:
    """A status update of `colour` for the engagement named `name`, submitted at `at`."""
    with db.session() as session:
        found = engagements.find(session=session, team_id=TEAM, handle=name)
        session.add(
            StatusUpdate(
                team_id=TEAM, engagement_id=found.id, author_user_id=VENDOR, rag=colour,
                submitted_at=at, updated_at=at,
            )
        )  # fmt: skip


def test_a_persons_engagements_come_worst_first_one_page_at_a_time(db):
    """What Home shows first is read first: the RAG in force decides (red, amber, green, no
    update yet; then the name), the page is cut in the query and the rest is counted."""
    seed(db, range(1))

    def page(user: str = LEAD, limit: int = 5) -> engagements.PersonPage:
        with db.read_session() as session:
            return engagements.page_for_person(
                session=session, team_id=TEAM, user_id=user, limit=limit, now=NOW + DAY
            )

    with statements(db.engine) as sent:
        assert page().total == 1
    one = len(sent)

    seed(db, range(1, 30))
    rag(db, "Client 001", "green", NOW)
    rag(db, "Client 005", "red", NOW - DAY)
    rag(db, "Client 005", "green", NOW)  # in force: the latest
    rag(db, "Client 010", "amber", NOW)
    rag(db, "Client 020", "red", NOW)
    rag(db, "Client 007", "red", NOW + 2 * DAY)  # not yet submitted at `now`
    with statements(db.engine) as sent:
        first = page()
    assert len(sent) == one  # the same five SELECTs for thirty as for one
    names = [d.engagement.name for d, _ in first.rows]
    assert names == ["Client 020", "Client 010", "Client 001", "Client 005", "Client 000"]
    assert first.total == 30 and all(roles == ("lead",) for _, roles in first.rows)
    assert page(VENDOR, limit=1).rows[0][1] == ("vendor contact",)
    assert page(OUTSIDER) == engagements.PersonPage((), 0)
