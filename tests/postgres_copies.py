"""Each PostgreSQL test's database: a copy of the run's migrated template, or a database an
earlier test of the same worker left untouched but for its rows, emptied.

A `CREATE DATABASE … TEMPLATE` costs PostgreSQL 15 300-450 ms here (its ten megabytes are
mostly the catalogs, written to the write-ahead log); most tests take less, so making copies
paced the PostgreSQL half of the suite. Emptying a database costs a few tens of milliseconds.

A database is emptied for the next test only when that test could not tell it from a copy:
- nobody is connected to it any more (a process still connected could write into the next
  test), and no prepared transaction of it is left;
- its schema and migration version are the template's (`FINGERPRINT`: a test that downgrades
  or alters a table leaves another);
- nobody ran ANALYZE or VACUUM on it, by hand or automatically, so the planner's figures are
  a new copy's (the tests that seed thousands of rows and EXPLAIN do both);
- it held at most `MOST_ROWS_EMPTIED` rows and was used fewer than `MOST_USES` times.
Anything else is dropped WITH (FORCE), as every copy was before. The template must hold no row
but its Alembic version, or nothing is reused.

CADENCE_TEST_REUSE_DATABASES=0 gives every test a new copy (tests/conftest.py). Reuse was off
for a while because with it a tick now and then planned nothing it should: a real bug it only
made likelier, the planner's claim skipping a cadence that a job being planned at that instant
pointed at (`tests/test_planner_locks.py`).

Emptying is one statement: with triggers and foreign keys off for it, every table but
`alembic_version` is deleted from, and every sequence used is set back to its start. One thing
differs from a copy: a row written later may take a deleted row's place, so a scan without
ORDER BY no longer returns rows in the order they were written. That is production's
behaviour too, and `unordered_rows.py` makes SQLite break the assumption in every test.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

MOST_ROWS_EMPTIED = 2_000  # beyond this, dropping is no dearer than deleting, and leaves no bloat
MOST_USES = 25  # dead rows and index pages a long-lived copy would gather
LAST_CONNECTIONS_WAIT_S = 0.5  # a closed client's server process takes a moment to leave

USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"

# Everything a test could change in a schema, one line per item, hashed. Column numbers are
# in it, so a column dropped and added again (a downgrade and upgrade) does not match.
FINGERPRINT = f"""
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
    SELECT format('column %s.%s.%s #%s %s null:%s default:%s', n.nspname, c.relname,
                  a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
                  pg_get_expr(d.adbin, d.adrelid)) AS item
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE {USER_SCHEMAS} AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT format('relation %s.%s %s %s', n.nspname, c.relname, c.relkind, c.reloptions)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_SCHEMAS}
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid)
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_SCHEMAS}
    UNION ALL
    SELECT format('constraint %s %s %s', co.conrelid::regclass, co.conname,
                  pg_get_constraintdef(co.oid))
      FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace WHERE {USER_SCHEMAS}
    UNION ALL
    SELECT format('trigger %s %s %s', t.tgrelid::regclass, t.tgname, t.tgenabled)
      FROM pg_trigger t WHERE NOT t.tgisinternal
    UNION ALL
    SELECT format('function %s %s', p.oid::regprocedure, md5(p.prosrc))
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {USER_SCHEMAS}
    UNION ALL
    SELECT format('type %s.%s %s', n.nspname, t.typname, t.typtype)
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {USER_SCHEMAS}
    UNION ALL
    SELECT format('label %s %s %s', e.enumtypid::regtype, e.enumsortorder, e.enumlabel)
      FROM pg_enum e
    UNION ALL
    SELECT 'schema ' || nspname FROM pg_namespace n WHERE {USER_SCHEMAS}
    UNION ALL
    SELECT 'version ' || version_num FROM alembic_version
) items
"""

# Statistics are flushed as each server process ends; every other one has, here.
USAGE = """
SELECT coalesce(sum(n_live_tup), 0),
       coalesce(bool_or(last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL
                        OR last_vacuum IS NOT NULL OR last_autovacuum IS NOT NULL), false)
  FROM pg_stat_user_tables
"""


def create_database(admin: Engine, prefix: str, *, template: str | None = None) -> str:
    """A new database named `prefix` and a random suffix (a copy of `template` if given)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy_of}'))
    return name


def drop_database(admin: Engine, name: str) -> None:
    """Drop `name`, even if something still holds a connection to it."""
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Copies:
    """The databases PostgreSQL tests run on, for one pytest process (xdist worker). A copy is
    made one test ahead on a thread of its own; a database given back is checked and emptied on
    that thread too, while the test's teardown and the next test's setup go on."""

    def __init__(self, admin: Engine, server_url: str, template: str, *, reuse: bool) -> None:
        self.admin, self.server_url, self.template = admin, server_url, template
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="postgres-copies")
        self.lock = threading.Lock()
        self.uses: dict[str, int] = {}
        self.returning: list[Future[str | None]] = []  # databases given back, being checked
        # The template's fingerprint and the statement that empties a copy, read first (the
        # one thread runs it before the first copy is made): only when databases are reused.
        self.recyclable = self.thread.submit(self._read_template) if reuse else None
        self.next: Future[str] = self.thread.submit(self._create)

    # --- the pool's side -----------------------------------------------------------------------

    def take(self) -> str:
        """A database as the template made it (nobody else uses it while the test runs)."""
        with self.lock:
            returning, self.returning = self.returning, []
        name = None
        for future in returning:  # one at most, unless a teardown gave back several
            emptied = future.result()
            if emptied is not None and name is None:
                name = emptied
            elif emptied is not None:
                self.thread.submit(self._drop, emptied)
        if name is None:
            name = self.next.result()
            self.next = self.thread.submit(self._create)
        self.uses[name] = self.uses.get(name, 0) + 1
        return self._url(name)

    def give_back(self, url: str) -> None:
        """Emptied for the next test if nothing of this one can show, else dropped."""
        name = make_url(url).database
        assert name is not None
        future = self.thread.submit(self._recycle_or_drop, name)
        with self.lock:
            self.returning.append(future)

    def close(self) -> None:
        """Drop every database this pool made, given back or not (then the template may go)."""
        with self.lock:
            returning, self.returning = self.returning, []
        for future in returning:
            with contextlib.suppress(Exception):
                name = future.result()
                if name is not None:
                    self.thread.submit(self._drop, name)
        for name in self.uses.copy():  # handed out and never given back
            self.thread.submit(self._drop, name)
        with contextlib.suppress(Exception):  # its creation failed: nothing to drop
            self.thread.submit(self._drop, self.next.result())
        self.thread.shutdown(wait=True)

    # --- on the copies' thread -----------------------------------------------------------------

    def _url(self, name: str) -> str:
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def _read_template(self) -> tuple[str, str] | None:
        """The template's fingerprint, and the statement that empties a copy of it; None if it
        holds rows other than its version, which emptying would lose (then every database is
        dropped after use)."""
        engine = create_engine(self._url(self.template), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                tables = _tables(conn)
                any_rows = " OR ".join(f'EXISTS (SELECT FROM "{table}")' for table in tables)
                if conn.execute(text(f"SELECT {any_rows or 'false'}")).scalar():
                    return None
                return conn.execute(text(FINGERPRINT)).scalar_one(), _emptying(tables)
        finally:
            engine.dispose()  # CREATE DATABASE … TEMPLATE needs the template unconnected

    def _create(self) -> str:
        # With reuse, the first runs after `_read_template` (one thread, in order): unconnected.
        return create_database(self.admin, "cadence_t", template=self.template)

    def _drop(self, name: str) -> None:
        self.uses.pop(name, None)
        drop_database(self.admin, name)

    def _recycle_or_drop(self, name: str) -> str | None:
        """`name` emptied and ready for the next test, or None (it was dropped)."""
        try:
            template = self.recyclable.result() if self.recyclable is not None else None
            if (
                template is not None
                and self.uses.get(name, MOST_USES) < MOST_USES
                and self._empty_if_untouched(name, *template)
            ):
                return name
        except Exception:  # whatever went wrong, dropping it is what was always done
            pass
        self._drop(name)
        return None

    def _empty_if_untouched(self, name: str, fingerprint: str, emptying: str) -> bool:
        if not self._alone_in(name):
            return False
        engine = create_engine(self._url(name), poolclass=NullPool)
        try:
            with engine.begin() as conn:
                rows, maintained = conn.execute(text(USAGE)).one()
                if maintained or rows > MOST_ROWS_EMPTIED:
                    return False
                if conn.execute(text(FINGERPRINT)).scalar_one() != fingerprint:
                    return False
                conn.execute(text(emptying))
            return True
        finally:
            engine.dispose()

    def _alone_in(self, name: str) -> bool:
        """Nobody is connected to `name` (a closed client's server process may take a moment to
        leave) and no prepared transaction of it is left."""
        deadline = time.monotonic() + LAST_CONNECTIONS_WAIT_S
        with self.admin.connect() as conn:
            while True:
                others, prepared = conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = :name),"
                        " (SELECT count(*) FROM pg_prepared_xacts WHERE database = :name)"
                    ),
                    {"name": name},
                ).one()
                if prepared:
                    return False
                if not others:
                    return True
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.02)


def _emptying(tables: list[str]) -> str:
    """One statement (a DO block: one round trip) that deletes every row of `tables`, triggers
    and foreign keys off, and sets every sequence that was used back to its start. TRUNCATE
    would cost 7 ms a table and more through CASCADE: as much as a new copy."""
    deletes = " ".join(f'DELETE FROM "{table}";' for table in tables)
    return (
        f"DO $$ BEGIN SET LOCAL session_replication_role = replica; {deletes}"
        " PERFORM setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false)"
        "   FROM pg_sequences WHERE last_value IS NOT NULL;"
        " END $$"
    )


def _tables(conn: Connection) -> list[str]:
    """Every table of the schema but Alembic's version (the one whose row a copy keeps)."""
    return list(
        conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'alembic_version' ORDER BY tablename"
            )
        ).scalars()
    )
