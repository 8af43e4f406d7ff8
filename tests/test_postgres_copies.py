"""The PostgreSQL databases tests run on (`postgres_copies.py`): one a test left with rows only
comes back to the next test empty, numbering from the start again; one whose schema changed, or
that someone is still connected to, is dropped and never handed out again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from postgres_copies import Copies
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.postgres

AWAY = (
    "INSERT INTO awayperiod (team_id, user_id, starts_on, ends_on, created_at)"
    " VALUES ('T1', 'U1', :day, :day, now()) RETURNING id"
)


@pytest.fixture
def copies(
    postgres_admin: Engine, postgres_server_url: str, postgres_template: str
) -> Iterator[Copies]:
    pool = Copies(postgres_admin, postgres_server_url, postgres_template, reuse=True)
    yield pool
    pool.close()


def exists(admin: Engine, url: str) -> bool:
    with admin.connect() as conn:
        return bool(
            conn.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :name"),
                {"name": make_url(url).database},
            ).scalar()
        )


def run(url: str, statement: str, **parameters: object) -> list[tuple]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), parameters)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_a_database_left_with_rows_comes_back_empty_and_numbering_from_the_start(copies):
    url = copies.take()
    assert run(url, AWAY, day=date(2026, 12, 7)) == [(1,)]
    assert run(url, AWAY, day=date(2026, 12, 8)) == [(2,)]
    copies.give_back(url)

    again = copies.take()
    assert again == url  # the same database, emptied
    assert run(again, "SELECT count(*) FROM awayperiod") == [(0,)]
    assert run(again, "SELECT version_num FROM alembic_version") != []  # its version kept
    assert run(again, AWAY, day=date(2026, 12, 9)) == [(1,)]  # as in a new copy
    copies.give_back(again)


def test_a_changed_schema_is_dropped_and_a_new_copy_comes_instead(copies, postgres_admin):
    url = copies.take()
    run(url, "ALTER TABLE awayperiod ADD COLUMN note text")
    copies.give_back(url)

    other = copies.take()
    assert other != url
    assert not exists(postgres_admin, url)
    assert run(other, "SELECT count(*) FROM awayperiod") == [(0,)]
    copies.give_back(other)


def test_a_database_someone_is_still_connected_to_is_dropped(copies, postgres_admin):
    url = copies.take()
    lingering = create_engine(url, poolclass=NullPool)
    conn = lingering.connect()  # a process the test did not stop, say
    try:
        conn.execute(text("SELECT 1"))
        copies.give_back(url)
        other = copies.take()
        assert other != url
        assert not exists(postgres_admin, url)  # dropped WITH (FORCE), as before
        copies.give_back(other)
    finally:
        conn.invalidate()
        lingering.dispose()


def test_an_analyzed_database_is_not_reused(copies, postgres_admin):
    url = copies.take()
    run(url, "ANALYZE awayperiod")  # the planner's figures would no longer be a new copy's
    copies.give_back(url)
    other = copies.take()
    assert other != url and not exists(postgres_admin, url)
    copies.give_back(other)


def test_closing_drops_every_database_it_made(
    postgres_admin, postgres_server_url, postgres_template
):
    pool = Copies(postgres_admin, postgres_server_url, postgres_template, reuse=True)
    first = pool.take()
    pool.give_back(first)
    second = pool.take()
    pool.close()
    assert not exists(postgres_admin, first) and not exists(postgres_admin, second)


def test_without_reuse_every_database_is_dropped_after_its_test(
    postgres_admin, postgres_server_url, postgres_template
):
    pool = Copies(postgres_admin, postgres_server_url, postgres_template, reuse=False)
    try:
        first = pool.take()
        pool.give_back(first)
        second = pool.take()
        assert second != first and not exists(postgres_admin, first)
        pool.give_back(second)
    finally:
        pool.close()
