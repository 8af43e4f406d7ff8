"""Rows for any revision's schema, for the upgrade rehearsal (tests/test_migrations.py).

The schema is read from the database itself (reflected), not from the models: a row seeded at
revision N fits N's tables, whatever the code at head looks like. Every table gets a row per
batch, its foreign keys pointing at the batch's own parents, its `status IN (…)` checks
obeyed; the columns people would recognise get realistic values (`REALISTIC`), the rest a
value of their type that is unique to the batch (so unique constraints hold).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Date, DateTime, Float, Integer, MetaData, Table
from sqlalchemy import inspect as inspect_db

MONDAY = datetime(2026, 11, 2, 9, 0)  # naive UTC: the reflected DATETIME stores it as is
TEAM = "T0SEED{n}"

Value = Any | Callable[[int], Any]

# What each kind of row looks like in a workspace that has used Cadence for a while; only the
# columns the revision has are used. `{n}` is the batch's number.
REALISTIC: dict[str, dict[str, Value]] = {
    "workspace": {
        "name": "Initech",
        "digest_rule": "FREQ=WEEKLY;BYDAY=MO",
        "digest_local_time": "09:00",
        "digest_timezone": "Europe/Berlin",
    },
    "engagement": {
        "handle": "payments-{n}",
        "name": "Payments platform",
        "vendor": "Globex",
        "channel_id": "C0ACME",
        "timezone": "Europe/Berlin",
        "holidays": ["2026-12-25"],
        "criticality": "high",
    },
    "engagementmember": {"user_id": "U0LEAD", "role": "lead"},
    "kpidefinition": {"name": "Uptime {n}", "unit": "%", "target": 99.9},
    "concernsla": {"severity": "high", "response_hours": 24},
    "cadence": {
        # Odd batches are surveys: migration 0015 treats their answers as anonymous ones.
        "kind": lambda n: "feedback_survey" if n % 2 else "status_update",
        "rule": "FREQ=WEEKLY;BYDAY=MO",
        "rule_kind": "weekly",
        "local_time": "09:00",
        "timezone": "Europe/Berlin",
        "window_hours": 24,
        "reminder_hours": 4,
        "escalation_user_ids": ["U0LEAD"],
        "audience": "vendor",
        "audience_user_ids": [],
        "delivery": "dm",
        "status": "active",
    },
    "checkin": {"occurrence_key": "2026-11-02T09:00#{n}", "status": "overdue"},
    "checkinrecipient": {"user_id": "U0VENDOR", "status": "answered", "delivered_via": "dm"},
    "statusupdate": {
        "author_user_id": "U0VENDOR",
        "rag": "amber",
        "summary": "Card tokenisation slipped a week: the HSM arrived late",
        "accomplishments": "Sandbox certified",
        "next_steps": "Production keys ceremony",
        "blockers": "Waiting for the HSM",
        "confidence": 3,
        "reason": "One week behind the plan",
        "blocker_lines": [{"text": "Waiting for the HSM", "since": "2026-10-26", "carried": 1}],
    },
    "updaterevision": {"editor_user_id": "U0VENDOR", "content": {"summary": "First draft"}},
    "kpivalue": {"value": 99.95, "met_target": True},
    "feedback": {
        "author_user_id": "U0STAKE",
        "communication": 4,
        "quality": 3,
        "timeliness": 2,
        "overall": 3,
        "comment": "Releases keep slipping past Thursday",
        "anonymous": lambda n: n % 2 == 1,
    },
    "concern": {
        "title": "Penetration test findings still open",
        "description": "Two high findings from October are not fixed",
        "severity": "high",
        "category": "security",
        "raised_by": "U0LEAD",
        "source": "manual",
        "status": "acknowledged",
        "raised_side": "client",
    },
    "concernevent": {"actor_user_id": "U0VENDOR", "to_status": "acknowledged", "action": "ack"},
    "auditevent": {
        "actor_user_id": "U0LEAD",
        "entity_type": "engagement",
        "action": "update",
        "before": {"name": "Payments"},
        "after": {"name": "Payments platform"},
    },
    "awayperiod": {"user_id": "U0VENDOR"},
    "scheduledjob": {
        "key": "prompt:checkin={n}:user=U0VENDOR",
        "kind": "prompt",
        "user_id": "U0VENDOR",
        "payload": {},
        "status": "pending",
        "attempts": 2,
        "error": "outcome unknown: lookup 3 failed: timeout",  # migration 0016 reads it
    },
    "person": {"user_id": "U0VENDOR", "tz": "Asia/Kolkata", "status_emoji": "", "external": False},
    "slackrequest": {"key": "view:V0{n}"},
    "riskreview": {"author": "U0LEAD", "answers": [{"concern": 1, "state": "open"}]},
    "deliverable": {"title": "PCI DSS attestation", "status": "submitted", "acceptors": []},
    "deliverableevent": {"action": "submit", "to_status": "submitted", "data": {}},
    "question": {"kind": "number", "text": "Open incidents this week?", "options": [], "rule": {}},
    "questionanswer": {"value": {"number": 2}},
    "assurancetype": {"key": "soc2-{n}", "name": "SOC 2 Type II", "expires": True},
    "assurancerequirement": {"criticality": "high", "type_key": "soc2"},
    "assuranceitem": {"type_key": "soc2", "title": "SOC 2 Type II 2026", "reviewers": []},
    "assuranceevent": {"action": "provide", "to_status": "received", "data": {}},
    "slack_installations": {"bot_token": "xoxb-seed-{n}", "is_enterprise_install": False},
    "slack_bots": {"bot_token": "xoxb-seed-{n}", "is_enterprise_install": False},
}

# `status IN ('a', 'b')` as written (SQLite), or as PostgreSQL hands it back:
# `status::text = ANY (ARRAY['a'::character varying, …])`.
IN_LIST = re.compile(
    r"(\w+)(?:::\w+)?\s+(?:IN\s*\(|=\s*ANY\s*\(ARRAY\[)([^)\]]*)[)\]]", re.IGNORECASE
)


def reflect(connection: Connection) -> MetaData:
    """The schema as the database has it now (the revision's, not the models')."""
    metadata = MetaData()
    metadata.reflect(bind=connection)
    metadata.remove(metadata.tables["alembic_version"])
    return metadata


def allowed_values(connection: Connection, table: str) -> dict[str, list[str]]:
    """Each column's allowed values, from the table's `col IN ('a', 'b')` CHECK constraints."""
    allowed: dict[str, list[str]] = {}
    for check in inspect_db(connection).get_check_constraints(table):
        for column, values in IN_LIST.findall(check["sqltext"]):
            allowed[column] = re.findall(r"'([^']*)'", values)
    return allowed


def _generic(table: Table, column, n: int) -> Any:
    kind = column.type
    if isinstance(kind, Boolean):
        return n % 2 == 0
    if isinstance(kind, Integer):
        return n
    if isinstance(kind, Float):
        return n + 0.5
    if isinstance(kind, DateTime):
        return MONDAY + timedelta(hours=n)
    if isinstance(kind, Date):
        return date(2026, 11, 2) + timedelta(days=n)
    if isinstance(kind, JSON):
        return []
    length = getattr(kind, "length", None) or 200
    return f"{n}-{column.name}"[:length]


def _realistic(value: Value, n: int) -> Any:
    if callable(value):
        return value(n)
    if isinstance(value, str):
        return value.format(n=n)
    return value


def seed(connection: Connection, metadata: MetaData, n: int) -> dict[str, dict[str, Any]]:
    """One row in every table of `metadata` (a schema reflected at some revision), inserted
    parents first into the database behind `connection`; the rows, by table."""
    inserted: dict[str, dict[str, Any]] = {}
    ids: dict[str, Any] = {}
    for table in metadata.sorted_tables:
        allowed = allowed_values(connection, table.name)
        realistic = REALISTIC.get(table.name, {})
        row: dict[str, Any] = {}
        for column in table.columns:
            if column.primary_key and isinstance(column.type, Integer):
                continue  # the database numbers it
            if column.name == "team_id":
                row[column.name] = TEAM.format(n=n)
            elif column.foreign_keys:
                (fk,) = column.foreign_keys
                row[column.name] = ids[fk.column.table.name]
            elif column.name in allowed:
                row[column.name] = allowed[column.name][n % len(allowed[column.name])]
            elif column.name in realistic:
                row[column.name] = _realistic(realistic[column.name], n)
            else:
                row[column.name] = _generic(table, column, n)
        result = connection.execute(table.insert().values(**row))
        if result.inserted_primary_key and result.inserted_primary_key[0] is not None:
            ids[table.name] = result.inserted_primary_key[0]
        inserted[table.name] = row
    return inserted


def snapshot(connection: Connection, metadata: MetaData) -> dict[str, dict[tuple, dict]]:
    """Every row of every table of `metadata`, by primary key: read with that revision's own
    SELECT (its columns only), so reading it after an upgrade is the previous release's query
    run against the new schema."""
    rows: dict[str, dict[tuple, dict]] = {}
    for table in metadata.sorted_tables:
        key = [c.name for c in table.primary_key.columns]
        rows[table.name] = {
            tuple(r[k] for k in key): dict(r) for r in connection.execute(table.select()).mappings()
        }
    return rows
