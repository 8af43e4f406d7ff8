"""The audit chain: every audit event is a link whose hash covers its content and the hash of
the link before it in its workspace, so an event edited, deleted or inserted outside Cadence
breaks the chain where it happened (`verify`, `python -m bot audit verify`).

Linking happens at commit (a `before_commit` hook), not when the event is recorded: the
workspace's `AuditChainHead` row is then locked last in the transaction (an upsert, which on
PostgreSQL waits for any other writer of the same workspace), so two transactions never fork
the chain and the lock never takes part in a deadlock with the rows the change itself locks.
The unique (team_id, seq) makes a fork impossible even if that lock were bypassed. The chain's
order is `seq`, not the id: ids are given at the insert, which may come before another
transaction's commit.

What a hash chain without a secret proves: an edit by someone who does not also recompute
every later hash and the head. docs/security.md says how to anchor the head elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col

from storage.models import AuditChainHead, AuditEvent

PENDING = "cadence_audit_pending"  # session.info: the events this transaction recorded
FORMAT = 1  # the hashed content's version: a change of what is hashed is a new version
PAGE = 1000  # events read at once by `verify`


def content(
    *,
    team_id: str,
    seq: int,
    actor: str,
    entity_type: str,
    entity_id: int,
    action: str,
    before: Any,
    after: Any,
    at: datetime,
    prev_hash: str,
) -> str:
    """The canonical text an event's hash covers: sorted keys, no spaces, UTF-8, the moment as
    UTC with microseconds (what both databases give back)."""
    return json.dumps(
        {
            "v": FORMAT,
            "team_id": team_id,
            "seq": seq,
            "actor": actor,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "action": action,
            "before": before,
            "after": after,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "prev": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_of(row: Any) -> str:
    """The hash an event (a model or a row with the model's column names) should carry."""
    return digest(
        content(
            team_id=row.team_id,
            seq=row.seq,
            actor=row.actor_user_id,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            action=row.action,
            before=row.before,
            after=row.after,
            at=row.at,
            prev_hash=row.prev_hash or "",
        )
    )


def add(session: Session, audit_event: AuditEvent) -> None:
    """Add an event to the session's transaction: it is inserted at commit, linked into its
    chain (one INSERT with its link, not an INSERT and an UPDATE). Recorded in a savepoint that
    rolls back, it is dropped with it."""
    innermost = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(PENDING, []).append((audit_event, innermost))


def _lock_head(session: OrmSession, team_id: str) -> tuple[int, str]:
    """Lock the workspace's chain head (created the first time) and return its end. An
    upsert: on PostgreSQL it waits for another transaction holding the row, then sees what
    that one committed; SQLite has one writer at a time anyway."""
    table = AuditChainHead.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(team_id=team_id, last_seq=0, last_hash="", first_seq=1, start_hash="")
        .on_conflict_do_update(index_elements=["team_id"], set_={"team_id": team_id})
        .returning(table.c.last_seq, table.c.last_hash)
    )
    last_seq, last_hash = session.execute(statement).one()
    return last_seq, last_hash


@event.listens_for(OrmSession, "before_commit")
def _link_pending(session: OrmSession) -> None:
    pending: list[tuple[AuditEvent, Any]] = session.info.pop(PENDING, [])
    if not pending:
        return
    by_team: dict[str, list[AuditEvent]] = {}
    for audit_event, _ in pending:
        by_team.setdefault(audit_event.team_id, []).append(audit_event)
    for team_id in sorted(by_team):  # one order of locks for every transaction
        last_seq, last_hash = _lock_head(session, team_id)
        for audit_event in by_team[team_id]:
            last_seq += 1
            audit_event.seq = last_seq
            audit_event.prev_hash = last_hash
            last_hash = hash_of(audit_event)
            audit_event.hash = last_hash
            session.add(audit_event)
        session.execute(
            update(AuditChainHead)
            .where(col(AuditChainHead.team_id) == team_id)
            .values(last_seq=last_seq, last_hash=last_hash)
        )


@event.listens_for(OrmSession, "after_soft_rollback")
def _drop_rolled_back(session: OrmSession, previous_transaction: Any) -> None:
    """A rollback drops the events recorded inside what it rolled back (a savepoint or all)."""
    pending = session.info.get(PENDING)
    if not pending:
        return
    kept = [(e, t) for e, t in pending if not _within(t, previous_transaction)]
    session.info[PENDING] = kept


def _within(transaction: Any, outer: Any) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


# --- verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """The first broken link: the event where the chain stops holding, and why."""

    event_id: int | None
    reason: str


@dataclass(frozen=True)
class Verdict:
    team_id: str
    events: int
    broken: Break | None
    last_hash: str


def teams(session: Session) -> list[str]:
    """Every workspace with audit events or a chain head."""
    found = set(session.execute(select(AuditEvent.team_id).distinct()).scalars())
    found |= set(session.execute(select(AuditChainHead.team_id)).scalars())
    return sorted(found)


def _chained(session: Session, team_id: str) -> Iterator[Any]:
    """The workspace's linked events in chain order, a page at a time."""
    after = None
    columns = AuditEvent.__table__.c
    while True:
        query = select(AuditEvent.__table__).where(columns.team_id == team_id)
        query = query.where(columns.seq.is_not(None))
        if after is not None:
            query = query.where(columns.seq > after)
        rows = session.execute(query.order_by(columns.seq).limit(PAGE)).all()
        yield from rows
        if len(rows) < PAGE:
            return
        after = rows[-1].seq


def verify(session: Session, team_id: str) -> Verdict:
    """Walk the workspace's chain from where it begins; the first link that does not hold."""
    head = session.get(AuditChainHead, team_id)
    expected_seq = head.first_seq if head else 1
    expected_prev = head.start_hash if head else ""
    count = 0
    last_id: int | None = None
    broken: Break | None = None
    for row in _chained(session, team_id):
        if row.seq < expected_seq:
            broken = Break(row.id, f"link {row.seq} lies before where the chain begins")
        elif row.seq > expected_seq:
            missing = (
                f"link {expected_seq}"
                if row.seq == expected_seq + 1
                else (f"links {expected_seq} to {row.seq - 1}")
            )
            broken = Break(row.id, f"{missing} before it were deleted")
        elif (row.prev_hash or "") != expected_prev:
            broken = Break(row.id, "it does not follow the event before it (replaced or inserted)")
        elif hash_of(row) != row.hash:
            broken = Break(row.id, "its content no longer matches its hash (edited)")
        if broken:
            return Verdict(team_id, count, broken, expected_prev)
        count += 1
        expected_seq += 1
        expected_prev = row.hash
        last_id = row.id
    if head is None and count:
        broken = Break(None, "its chain head is missing (deleted outside Cadence)")
    elif head is not None and (expected_seq - 1, expected_prev) != (head.last_seq, head.last_hash):
        where = f"after event {last_id}" if last_id else "from its start"
        broken = Break(
            last_id,
            f"the chain ends at link {expected_seq - 1} but Cadence wrote up to link "
            f"{head.last_seq}: the last events were deleted ({where})",
        )
    if broken is None:
        unchained = session.execute(
            select(func.min(AuditEvent.id))
            .where(col(AuditEvent.team_id) == team_id)
            .where(col(AuditEvent.seq).is_(None))
        ).scalar()
        if unchained is not None:
            broken = Break(unchained, "it is in no chain (inserted outside Cadence)")
    return Verdict(team_id, count, broken, expected_prev)


def trim(session: Session, *, team_id: str, before: datetime, now: datetime, limit: int) -> int:
    """Delete up to `limit` of the workspace's oldest events recorded before `before`, from the
    chain's start only (a link is never cut out of the middle), and record where the chain now
    begins so `verify` still holds. Returns how many were deleted."""
    head = session.execute(
        select(AuditChainHead).where(col(AuditChainHead.team_id) == team_id).with_for_update()
    ).scalar()
    if head is None:
        return 0
    rows = session.execute(
        select(AuditEvent.id, AuditEvent.seq, AuditEvent.at, AuditEvent.hash)
        .where(AuditEvent.team_id == team_id)
        .where(col(AuditEvent.seq) >= head.first_seq)
        .order_by(col(AuditEvent.seq))
        .limit(limit)
    ).all()
    cut = []
    for row in rows:
        if row.at >= before:  # the first link young enough to keep ends the cut
            break
        cut.append(row)
    if not cut:
        return 0
    session.execute(delete(AuditEvent).where(col(AuditEvent.id).in_([r.id for r in cut])))
    head.first_seq = cut[-1].seq + 1
    head.start_hash = cut[-1].hash or ""
    head.trimmed_at = now
    session.add(head)
    return len(cut)
