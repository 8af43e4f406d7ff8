"""A list of ids bound as one parameter: `among(column, ids_param("ids"))`.

SQLAlchemy's expanding IN (`bindparam(..., expanding=True)`) writes a placeholder per id into the
SQL at every execution ("post-compile"): the text differs with the list's length, so SQLAlchemy
renders and processes it afresh each time and psycopg parses it afresh. A Home tab loads its
figures with eleven such statements after every change that shows there, and that rendering
cost about as much as running them. Here the list is one parameter and the SQL the same for
any list, compiled once per process: on PostgreSQL `column = ANY(:ids::INTEGER[])`, on
SQLite `column IN (SELECT value FROM json_each(:ids))` (the list sent as JSON text). Both use
the column's index as IN did (`tests/test_id_lists.py` reads their plans).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BindParameter, Boolean, Integer, String, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine


class IdList(TypeDecorator[list[int]]):
    """A list of integer ids as one bound value: an integer array on PostgreSQL, JSON text on
    SQLite (read there with json_each)."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(Integer))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Iterable[int] | None, dialect: Dialect) -> Any:
        ids = [int(i) for i in value or ()]
        return ids if dialect.name == "postgresql" else json.dumps(ids)


def ids_param(name: str) -> BindParameter[list[int]]:
    """A parameter that takes a list of ids at execution, for `among`."""
    return bindparam(name, type_=IdList())


class among(FunctionElement[bool]):
    """`among(column, ids)`: the row's `column` is one of the ids bound to `ids` (`ids_param`).
    An empty list matches nothing, as an empty IN does."""

    type = Boolean()
    inherit_cache = True
    name = "among"
    _is_implicitly_boolean = True  # a condition as it stands: not "… = 1" where no booleans


def _parts(element: among, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    column, ids = list(element.clauses)
    return compiler.process(column, **kw), compiler.process(ids, **kw)


@compiles(among, "postgresql")
def _among_postgresql(element: among, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = _parts(element, compiler, **kw)
    return f"{column} = ANY({ids})"  # the parameter is cast to INTEGER[] (IdList)


@compiles(among)
def _among_sqlite(element: among, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = _parts(element, compiler, **kw)
    return f"{column} IN (SELECT value FROM json_each({ids}))"


def one_of(column: Any, ids: Any) -> Any:
    """`column` is one of `ids`: a parameter of `ids_param` (with `among`), or a SELECT of ids or
    a list given now (with IN), for a statement built for either."""
    if isinstance(ids, BindParameter) and isinstance(ids.type, IdList):
        return among(column, ids)
    return column.in_(ids)
