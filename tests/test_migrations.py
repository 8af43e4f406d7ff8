"""Upgrades rehearsed (issue 21): every migration, whatever revisions exist, on data.

- A database seeded at the base revision with realistic rows, and again at every revision on
  the way (rows fitting that revision's schema, tests/migration_seed.py), is upgraded one step
  at a time to head on SQLite and PostgreSQL: no row is lost and no value changes, except
  those a migration declares it rewrites (`REWRITES`). Each step also downgrades and upgrades
  again, and at head every row loads through the models.
- Rolling deploys: during a deploy the previous release's code runs against the new schema.
  So after each step the previous revision's INSERT (its columns only) and SELECT (every row,
  its columns) must still work, and a static rule checks each migration's upgrade is additive
  (expand, then contract in a later release): no table or column dropped or renamed, no NOT
  NULL column without a server default, no column made NOT NULL or retyped, unless the
  migration declares itself a contract step with its reason (`CONTRACT = "…"`).

The revisions are read from Alembic's script directory, never listed here.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from functools import partial

import pytest
from alembic import command
from alembic.script import Script, ScriptDirectory
from migration_seed import reflect, seed, snapshot
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from storage import migrate
from storage.db import make_engine


def revisions() -> list[Script]:
    """Every revision, base first (one line of history: a branch fails here)."""
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, f"migrations branch: heads {script.get_heads()}"
    return list(reversed(list(script.walk_revisions())))


def rewrites(revision: Script) -> dict[str, tuple[str, ...]]:
    """The columns (by table) whose existing values the migration changes on purpose."""
    return getattr(revision.module, "REWRITES", {})


def assert_kept(
    before: dict[str, dict[tuple, dict]],
    after: dict[str, dict[tuple, dict]],
    rewritten: dict[str, tuple[str, ...]],
    step: str,
    *,
    contract: bool = False,
) -> None:
    """Every row of `before` is in `after` with the same values, but for `rewritten` columns
    (and, after a contract step, for the tables and columns it removed)."""
    for table, rows in before.items():
        if contract and table not in after:
            continue
        assert len(after[table]) >= len(rows), f"{step}: {table} lost rows"
        for key, row in rows.items():
            assert key in after[table], f"{step}: {table} row {key} is gone"
            now = after[table][key]
            changed = {
                column
                for column, value in row.items()
                if column not in rewritten.get(table, ())
                and not (contract and column not in now)
                and now[column] != value
            }
            assert not changed, f"{step}: {table} row {key} changed {sorted(changed)}"


@dataclass
class Walk:
    """A database being walked through the revisions, and what it held at each step."""

    url: str
    engine: Engine
    batch: int = 0

    def seed(self, metadata) -> None:
        """Rows written by the code of the revision `metadata` was reflected at."""
        self.batch += 1
        with self.engine.begin() as conn:
            seed(conn, metadata, self.batch)

    def read(self, metadata) -> dict[str, dict[tuple, dict]]:
        with self.engine.connect() as conn:
            return snapshot(conn, metadata)

    def schema(self):
        with self.engine.connect() as conn:
            return reflect(conn)

    def migrate(self, step, target: str) -> None:
        self.engine.dispose()  # nothing cached from the schema before (PostgreSQL's plans)
        step(migrate.alembic_config(self.url), target)
        self.engine.dispose()


@pytest.mark.slow
def test_every_revision_upgrades_with_its_data_and_steps_down_and_up(database_url: str):
    walk = Walk(database_url, make_engine(database_url))
    scripts = revisions()
    try:
        walk.migrate(command.upgrade, scripts[0].revision)
        schema = walk.schema()
        walk.seed(schema)
        walk.seed(schema)  # two of everything: an anonymous answer and a named one, a survey…
        for revision in scripts[1:]:
            step = f"{revision.down_revision} → {revision.revision}"
            before = walk.read(schema)

            walk.migrate(command.upgrade, revision.revision)
            contract = hasattr(revision.module, "CONTRACT")
            if not contract:
                # The previous release's SELECT of every row still works, and finds them all;
                # its INSERT still works (a rolling deploy's old processes).
                assert_kept(before, walk.read(schema), rewrites(revision), step)
                walk.seed(schema)
            # A contract step removes what no running release reads: read with its schema.
            reading = walk.schema() if contract else schema
            kept = partial(assert_kept, rewritten=rewrites(revision), contract=contract)
            if contract:
                kept(before, walk.read(reading), step=step)

            upgraded = walk.read(reading)
            walk.migrate(command.downgrade, str(revision.down_revision))
            kept(upgraded, walk.read(reading), step=f"{step} downgraded")
            walk.migrate(command.upgrade, revision.revision)
            kept(upgraded, walk.read(reading), step=f"{step} again")

            schema = walk.schema()
            walk.seed(schema)  # rows fitting this revision's schema, carried to head from here
        counts = {table: len(rows) for table, rows in walk.read(schema).items()}
        assert all(counts.values()), f"empty at head: {[t for t, c in counts.items() if not c]}"
        # At head, every row loads through the models (what the code at head reads).
        with Session(walk.engine) as session:
            for table in SQLModel.metadata.sorted_tables:
                model = _model(table.name)
                if model is not None:
                    loaded = session.exec(select(model)).all()
                    assert len(loaded) == counts[table.name], table.name
        assert not migrate.pending(walk.engine, database_url)
    finally:
        walk.engine.dispose()


def _model(table: str):
    for mapper in SQLModel._sa_registry.mappers:
        if mapper.local_table.name == table:
            return mapper.class_
    return None


# --- the expand/contract rule ---------------------------------------------------------------------

DROPS = {"drop_table", "drop_column", "rename_table"}
RAW_SQL = re.compile(r"\b(DROP\s+(TABLE|COLUMN)|RENAME\s+(TO|COLUMN)|SET\s+NOT\s+NULL)\b", re.I)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _string_length(node: ast.expr | None) -> int | None:
    """n of a literal `sa.String(n)` (or `String(n)`), else None."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
        return None
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    length = node.args[0].value
    return length if name == "String" and isinstance(length, int) else None


def _widened(call: ast.Call) -> bool:
    """A String made longer (`existing_type=sa.String(200), type_=sa.String(1000)`): the previous
    release's values all fit, and it reads longer ones as it read any."""
    old = _string_length(_keyword(call, "existing_type"))
    new = _string_length(_keyword(call, "type_"))
    return old is not None and new is not None and new >= old


def not_additive(source: str) -> list[str]:
    """What a migration's `upgrade()` (its source) does that the previous release's code
    could trip on."""
    tree = ast.parse(source)
    found: list[str] = []
    calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=lambda n: n.lineno)
    for call in calls:
        name = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        line = f"line {call.lineno}: {ast.unparse(call)[:90]}"
        if name in DROPS:
            found.append(f"{name} ({line})")
        elif name == "alter_column":
            if _keyword(call, "new_column_name") is not None:
                found.append(f"a column renamed ({line})")
            if _is_false(_keyword(call, "nullable")):
                found.append(f"a column made NOT NULL ({line})")
            if _keyword(call, "type_") is not None and not _widened(call):
                found.append(f"a column's type changed ({line})")
        elif name == "add_column":
            column = call.args[0] if call.args else _keyword(call, "column")
            if (
                isinstance(column, ast.Call)
                and _is_false(_keyword(column, "nullable"))
                and _keyword(column, "server_default") is None
            ):
                found.append(f"a NOT NULL column without a server default ({line})")
        elif name == "execute":
            for text in (n.value for n in ast.walk(call) if isinstance(n, ast.Constant)):
                if isinstance(text, str) and RAW_SQL.search(text):
                    found.append(f"SQL that drops, renames or tightens ({line})")
    return found


@pytest.mark.parametrize("revision", revisions()[1:], ids=lambda r: r.revision)
def test_each_migration_is_additive_or_declares_itself_a_contract_step(revision: Script):
    """The base revision creates the schema; every later one only adds, so the previous
    release keeps working during a rolling deploy. A contract step (dropping what a release
    before the previous one stopped using) says so and why: `CONTRACT = "reason"`."""
    problems = not_additive(inspect.getsource(revision.module.upgrade))
    contract = getattr(revision.module, "CONTRACT", None)
    if contract is not None:
        assert isinstance(contract, str) and len(contract.split()) >= 5, (
            f"{revision.revision}: CONTRACT must give its reason in words"
        )
        return
    assert problems == [], (
        f"migration {revision.revision} is not additive: {problems}. Expand now and contract in "
        "a later release, or declare CONTRACT = '<why no running release needs it>'"
    )


def test_the_rule_catches_each_kind_of_contraction():
    """The rule itself, on a migration that does each thing it forbids (and things it allows:
    a nullable column, a server default, an index, a String widened)."""
    source = """
import sqlalchemy as sa
from alembic import op

def upgrade():
    op.drop_table("old")
    with op.batch_alter_table("t") as batch_op:
        batch_op.drop_column("gone")
        batch_op.alter_column("a", new_column_name="b")
        batch_op.alter_column("c", nullable=False)
        batch_op.alter_column("d", nullable=True)
        batch_op.alter_column("e", type_=sa.Integer())
        batch_op.alter_column("e2", existing_type=sa.String(200), type_=sa.String(50))
        batch_op.alter_column("e3", existing_type=sa.String(200), type_=sa.String(1000))
        batch_op.add_column(sa.Column("f", sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column("g", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("h", sa.Integer(), nullable=True))
    op.rename_table("x", "y")
    op.execute("ALTER TABLE t ALTER COLUMN i SET NOT NULL")
    op.create_index("ix_t_h", "t", ["h"])
"""
    found = not_additive(source)
    assert [f.split(" (")[0] for f in found] == [
        "drop_table",
        "drop_column",
        "a column renamed",
        "a column made NOT NULL",
        "a column's type changed",
        "a column's type changed",
        "a NOT NULL column without a server default",
        "rename_table",
        "SQL that drops, renames or tightens",
    ]
