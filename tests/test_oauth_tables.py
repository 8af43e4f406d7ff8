"""Slack's OAuth tables are written out in `storage/oauth_tables.py` (importing slack_sdk's
stores to build them would import sqlalchemy.ext.asyncio in every process): they must stay the
tables the stores themselves define, or the install flow would read and write columns that
are not there. The sealed secret columns are wider on purpose (`models.SEALED_COLUMNS`)."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Column, MetaData, String, Table

from storage import oauth_tables
from storage.models import SEALED_COLUMNS, SEALED_LENGTH, SLACK_BOTS, SLACK_INSTALLATIONS

STORE = SQLAlchemyInstallationStore
STATES = SQLAlchemyOAuthStateStore
PAIRS = [
    (
        oauth_tables.installations_table,
        STORE.build_installations_table,
        STORE.default_installations_table_name,
    ),
    (oauth_tables.bots_table, STORE.build_bots_table, STORE.default_bots_table_name),
    (oauth_tables.states_table, STATES.build_oauth_states_table, STATES.default_table_name),
]


def shape(table: Table) -> dict[str, Any]:
    """What the stores' statements depend on: names, types, nullability, keys, defaults, indexes."""
    columns = {
        c.name: (
            type(c.type).__name__,
            getattr(c.type, "length", None),
            c.nullable,
            c.primary_key,
            c.autoincrement,
            _default(c),
        )
        for c in table.columns
    }
    indexes = sorted((i.name, tuple(c.name for c in i.columns), i.unique) for i in table.indexes)
    return {"name": table.name, "columns": columns, "indexes": indexes}


def _default(column: Column) -> str | None:
    """A scalar default as itself, a SQL one by its function's name (`now`)."""
    default = column.default
    if default is None:
        return None
    if default.is_scalar:
        return repr(default.arg)
    return type(default.arg).__name__


@pytest.mark.parametrize(("ours", "theirs", "name"), PAIRS, ids=[p[2] for p in PAIRS])
def test_each_table_is_the_one_slack_sdk_builds(ours, theirs, name):
    assert shape(ours(MetaData())) == shape(theirs(MetaData(), name))


def test_on_cadences_metadata_only_the_secrets_are_wider():
    for table, builder, name in ((SLACK_INSTALLATIONS, *PAIRS[0][1:]), (SLACK_BOTS, *PAIRS[1][1:])):
        theirs = builder(MetaData(), name)
        for column in table.columns:
            expected = theirs.c[column.name].type
            if column.name in SEALED_COLUMNS[table]:
                assert isinstance(column.type, String) and column.type.length == SEALED_LENGTH
            else:
                assert type(column.type) is type(expected), column.name
                assert getattr(column.type, "length", None) == getattr(expected, "length", None)
