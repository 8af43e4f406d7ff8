"""A list of ids as one parameter (`storage/id_lists.py`): the same rows as IN, the same SQL
text whatever the list's length (so it is compiled and parsed once), and the column's index
used as IN used it."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, insert, select, text
from sqlmodel import col

from storage.db import Database
from storage.id_lists import among, ids_param, one_of
from storage.models import Engagement, EngagementMember

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
MEMBERS = 40


def seed(db: Database) -> list[int]:
    """One engagement with MEMBERS members; the members' ids."""
    with db.session() as session:
        engagement = Engagement(
            team_id="T1",
            name="Acme",
            handle="acme",
            vendor="Globex",
            channel_id="C1",
            created_by="U1",
            timezone="UTC",
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(engagement)
        session.flush()
        session.execute(
            insert(EngagementMember),
            [
                {
                    "team_id": "T1",
                    "engagement_id": engagement.id,
                    "user_id": f"U{n:03d}",
                    "role": "vendor",
                }
                for n in range(MEMBERS)
            ],
        )
    with db.read_session() as session:
        return list(
            session.exec(select(EngagementMember.id).order_by(col(EngagementMember.id))).scalars()
        )


AMONG = (
    select(EngagementMember.id)
    .where(among(col(EngagementMember.id), ids_param("ids")))
    .order_by(col(EngagementMember.id))
)


def test_the_same_rows_as_in_and_the_same_sql_for_any_length(db: Database):
    ids = seed(db)
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.read_session() as session:
            for wanted in ([], ids[:1], ids[3:9], [*ids, 999_999], [ids[5], ids[5]]):
                got = list(session.execute(AMONG, {"ids": wanted}).scalars())
                assert got == sorted(set(wanted) & set(ids)), wanted
                same = select(EngagementMember.id).where(col(EngagementMember.id).in_(wanted))
                assert sorted(session.execute(same).scalars()) == got
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    mine = [s for s in sent if ("engagementmember.id" in s and "json_each" in s) or "ANY(" in s]
    assert len(mine) == 5 and len(set(mine)) == 1, mine


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(picked=st.lists(st.integers(min_value=0, max_value=MEMBERS + 5), max_size=MEMBERS))
def test_any_list_of_ids_picks_exactly_those_rows(db: Database, picked: list[int]):
    with db.read_session() as session:
        ids = list(
            session.exec(select(EngagementMember.id).order_by(col(EngagementMember.id))).scalars()
        )
    if not ids:
        ids = seed(db)
    wanted = [ids[i] if i < len(ids) else 10_000_000 + i for i in picked]
    with db.read_session() as session:
        got = list(session.execute(AMONG, {"ids": wanted}).scalars())
    assert got == sorted(set(wanted) & set(ids))


def test_a_statement_built_for_either_takes_a_list_a_parameter_or_a_select(db: Database):
    ids = seed(db)
    by_param = select(EngagementMember.id).where(one_of(col(EngagementMember.id), ids_param("x")))
    by_list = select(EngagementMember.id).where(one_of(col(EngagementMember.id), ids[:3]))
    by_select = select(EngagementMember.id).where(
        one_of(
            col(EngagementMember.id),
            select(EngagementMember.id).where(col(EngagementMember.id) <= ids[2]),
        )
    )
    with db.read_session() as session:
        assert sorted(session.execute(by_param, {"x": ids[:3]}).scalars()) == ids[:3]
        assert sorted(session.execute(by_list).scalars()) == ids[:3]
        assert sorted(session.execute(by_select).scalars()) == ids[:3]


def test_the_columns_index_is_used(db: Database):
    """SQLite searches the index for each listed id; PostgreSQL, told not to scan the table
    (it would, for a table this small), reads the index with the array."""
    seed(db)
    statement = select(EngagementMember.user_id).where(
        among(col(EngagementMember.engagement_id), ids_param("ids"))
    )
    compiled = statement.compile(dialect=db.engine.dialect)
    with db.engine.connect() as connection:
        if db.is_sqlite:
            sql = str(compiled).replace("?", "'[1, 2]'")
            plan = " ".join(
                str(row[-1]) for row in connection.execute(text("EXPLAIN QUERY PLAN " + sql))
            )
            assert "SEARCH engagementmember USING" in plan and "INDEX" in plan, plan
        else:
            connection.execute(text("SET enable_seqscan = off"))
            sql = str(compiled).replace("%(ids)s", "'{1,2}'")
            plan = " ".join(row[0] for row in connection.execute(text("EXPLAIN " + sql)))
            assert "Index" in plan and "Seq Scan" not in plan, plan
