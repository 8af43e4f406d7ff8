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

Keyed (`storage/audit_keys.py`): with the deployment's encryption keys at hand, a link's hash is
an HMAC-SHA256 under an audit key derived from them, and the head carries a seal (an HMAC of
where the chain begins and ends), so someone who can write to the database but holds no key
cannot recompute links or the head: an edit, a rewrite from any point on as plain sha256 links,
or a head moved to hide the last events all show. A link records the key that made it
(`key_id`, NULL for a plain sha256 link), so links made before keys existed, or under a key
since retired, still verify. Plain links may only come before the first keyed one: after it a
plain link is a downgrade.

What a hash chain without a secret proves: an edit by someone who does not also recompute
every later hash and the head. docs/security.md says how to anchor the head elsewhere.

Adopting (`adopt`, `python -m bot audit verify --adopt`): events written without a link (by a
release before the chain, during a rolling deploy) are chained at the end in id order, with an
audit event naming them, by an operator who vouches for them; never by a write on its own,
which would launder an event inserted outside Cadence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, delete, event, insert, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col

from storage.audit_keys import NONE, SESSION_INFO, AuditKeys
from storage.models import AuditChainHead, AuditEvent

PENDING = "cadence_audit_pending"  # session.info: the events this transaction recorded
FORMAT = 1  # the hashed content's version: a change of what is hashed is a new version
KEYED_FORMAT = 2  # a keyed link's content: FORMAT's fields and the key's id
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
    key_id: str | None = None,
) -> str:
    """The canonical text an event's hash covers: sorted keys, no spaces, UTF-8, the moment as
    UTC with microseconds (what both databases give back). A keyed link's names its key."""
    fields = {"v": KEYED_FORMAT, "kid": key_id} if key_id else {"v": FORMAT}
    return json.dumps(
        {
            **fields,
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


def keys_of(session: OrmSession) -> AuditKeys:
    """The keys this session links with (`Database.session` gives them; none: plain sha256)."""
    return session.info.get(SESSION_INFO, NONE)


def hash_of(row: Any, keys: AuditKeys = NONE) -> str:
    """The hash an event (a model or a row with the model's column names) should carry: plain
    sha256 when its `key_id` is None, else the HMAC under that key (KeyError: not at hand)."""
    kid = getattr(row, "key_id", None)
    text = content(
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
        key_id=kid,
    )
    return keys.mac(kid, text) if kid else digest(text)


def head_content(
    *, team_id: str, first_seq: int, start_hash: str, last_seq: int, last_hash: str, kid: str
) -> str:
    """What a head's seal covers: where its chain begins and ends, and the seal's key."""
    return json.dumps(
        {
            "v": KEYED_FORMAT,
            "team_id": team_id,
            "first_seq": first_seq,
            "start_hash": start_hash,
            "last_seq": last_seq,
            "last_hash": last_hash,
            "kid": kid,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def seal_of(head: Any, keys: AuditKeys, kid: str) -> str:
    """The seal a head (a model or row) should carry under key `kid` (KeyError: not at hand)."""
    text = head_content(
        team_id=head.team_id,
        first_seq=head.first_seq,
        start_hash=head.start_hash or "",
        last_seq=head.last_seq,
        last_hash=head.last_hash or "",
        kid=kid,
    )
    return keys.mac(kid, text)


def seal_values(keys: AuditKeys, **head: Any) -> dict[str, Any]:
    """The head's `key_id` and `seal` for these values of its columns (both None without a
    key: an unsealed head)."""
    if not keys.keyed:
        return {"key_id": None, "seal": None}
    kid = keys.current
    return {"key_id": kid, "seal": seal_of(SimpleNamespace(**head), keys, kid)}


def add(session: Session, audit_event: AuditEvent) -> None:
    """Add an event to the session's transaction: it is inserted at commit, linked into its
    chain (one INSERT with its link, not an INSERT and an UPDATE). Recorded in a savepoint that
    rolls back, it is dropped with it."""
    innermost = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(PENDING, []).append((audit_event, innermost))


def _lock_head(session: OrmSession, team_id: str) -> tuple[int, str, int, str]:
    """Lock the workspace's chain head (created the first time) and return its end. An
    upsert: on PostgreSQL it waits for another transaction holding the row, then sees what
    that one committed; SQLite has one writer at a time anyway."""
    statement = _lock_statement(session.get_bind().dialect.name)
    last_seq, last_hash, first_seq, start_hash = session.execute(
        statement, {"team_id": team_id}
    ).one()
    return last_seq, last_hash, first_seq, start_hash


@cache
def _lock_statement(dialect: str) -> Any:
    """`_lock_head`'s upsert, built once per process (every audited change runs it)."""
    table = AuditChainHead.__table__
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        upsert(table)
        .values(team_id=bindparam("team_id"), last_seq=0, last_hash="", first_seq=1, start_hash="")
        .on_conflict_do_update(index_elements=["team_id"], set_={"team_id": bindparam("team_id")})
        .returning(table.c.last_seq, table.c.last_hash, table.c.first_seq, table.c.start_hash)
    )


@cache
def _move_statement() -> Any:
    """The head's new end (and seal), built once per process; the values bound at execution."""
    table = AuditChainHead.__table__
    return (
        update(table)
        .where(table.c.team_id == bindparam("head_team_id"))
        .values(
            last_seq=bindparam("last_seq"),
            last_hash=bindparam("last_hash"),
            key_id=bindparam("key_id"),
            seal=bindparam("seal"),
        )
    )


@event.listens_for(OrmSession, "before_commit")
def _link_pending(session: OrmSession) -> None:
    pending: list[tuple[AuditEvent, Any]] = session.info.pop(PENDING, [])
    if not pending:
        return
    by_team: dict[str, list[AuditEvent]] = {}
    for audit_event, _ in pending:
        by_team.setdefault(audit_event.team_id, []).append(audit_event)
    keys = keys_of(session)
    new: list[AuditEvent] = []
    for team_id in sorted(by_team):  # one order of locks for every transaction
        last_seq, last_hash, first_seq, start_hash = _lock_head(session, team_id)
        for audit_event in by_team[team_id]:
            last_seq += 1
            audit_event.seq = last_seq
            audit_event.prev_hash = last_hash
            audit_event.key_id = keys.current
            last_hash = hash_of(audit_event, keys)
            audit_event.hash = last_hash
            if inspect(audit_event).transient:
                new.append(audit_event)
            else:
                session.add(audit_event)  # adopted: a stored event, linked now
        ends = {"last_seq": last_seq, "last_hash": last_hash}
        sealed = seal_values(
            keys, team_id=team_id, first_seq=first_seq, start_hash=start_hash, **ends
        )
        session.execute(_move_statement(), {"head_team_id": team_id, **ends, **sealed})
    if new:
        _insert_new(session, new)


def _insert_new(session: OrmSession, events: list[AuditEvent]) -> None:
    """New events, linked, in one INSERT of plain rows (the ORM's unit of work for them cost
    more than the statement); each gets its id, as a flush would give it."""
    rows = [{name: getattr(e, name) for name in _EVENT_COLUMNS} for e in events]
    ids = session.execute(_insert_statement(), rows).scalars().all()
    for audit_event, event_id in zip(events, ids, strict=True):
        audit_event.id = event_id


_EVENT_COLUMNS = tuple(c.name for c in AuditEvent.__table__.columns if c.name != "id")


@cache
def _insert_statement() -> Any:
    table = AuditEvent.__table__
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


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
    """The first broken link: the event where the chain stops holding, and why. `needs_key`:
    not broken but not checkable, a key it was made with is not at hand."""

    event_id: int | None
    reason: str
    needs_key: bool = False


@dataclass(frozen=True)
class Verdict:
    team_id: str
    events: int
    broken: Break | None
    last_hash: str
    keyed: bool = False  # its end is held by a key (a keyed last link or a sealed head)
    adoptable: tuple[int, ...] = ()  # unchained event ids, when nothing else is wrong


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


def verify(session: Session, team_id: str, keys: AuditKeys = NONE) -> Verdict:
    """Walk the workspace's chain from where it begins; the first link that does not hold.
    With a key at hand, the head's seal is checked too, and a chain whose end no key holds is
    not called intact (its links could have been recomputed by anyone)."""
    head = session.get(AuditChainHead, team_id)
    expected_seq = head.first_seq if head else 1
    expected_prev = head.start_hash if head else ""
    count = 0
    last_id: int | None = None
    last_keyed: tuple[int, str] | None = None  # the last keyed link's seq and hash
    plain_tail: list[int] = []  # the ids of the plain links after it
    broken: Break | None = None
    for row in _chained(session, team_id):
        broken = _link_break(row, expected_seq, expected_prev, keys)
        if broken:
            return Verdict(team_id, count, broken, expected_prev)
        count += 1
        expected_seq += 1
        expected_prev = row.hash
        last_id = row.id
        if row.key_id:
            last_keyed, plain_tail = (row.seq, row.hash), []
        else:
            plain_tail.append(row.id)
    if head is None and count:
        broken = Break(None, "its chain head is missing (deleted outside Cadence)")
    elif head is not None and (expected_seq - 1, expected_prev) != (head.last_seq, head.last_hash):
        where = f"after event {last_id}" if last_id else "from its start"
        broken = Break(
            last_id,
            f"the chain ends at link {expected_seq - 1} but Cadence wrote up to link "
            f"{head.last_seq}: the last events were deleted ({where})",
        )
    elif head is not None:
        broken = _head_break(head, keys, keyed=last_keyed is not None)
        if broken and broken.reason == MOVED and last_keyed and plain_tail:
            sealed_at = {"last_seq": last_keyed[0], "last_hash": last_keyed[1]}
            if (
                seal_of(SimpleNamespace(**{**_head_values(head), **sealed_at}), keys, head.key_id)
                == head.seal
            ):
                broken = Break(
                    plain_tail[0],
                    f"{PLAIN_TAIL} ({len(plain_tail)} event(s) from this one): by the previous "
                    "release during a rolling deploy, or by someone without the key; if the "
                    "former, `python -m bot audit verify --adopt` seals them",
                )
    unchained = tuple(
        session.execute(
            select(AuditEvent.id)
            .where(col(AuditEvent.team_id) == team_id)
            .where(col(AuditEvent.seq).is_(None))
            .order_by(col(AuditEvent.id))
        ).scalars()
    )
    adoptable: tuple[int, ...] = ()
    if broken is None and unchained:
        adoptable = unchained
        broken = Break(
            unchained[0],
            f"it is in no chain ({len(unchained)} such event(s)): inserted outside Cadence, or "
            "written by a release before the chain during a rolling deploy; if the latter, "
            "`python -m bot audit verify --adopt` chains them",
        )
    keyed = head is not None and bool(head.seal) and broken is None
    if broken is not None and broken.reason.startswith((UNSEALED, PLAIN_TAIL)):
        adoptable = unchained
    return Verdict(team_id, count, broken, expected_prev, keyed, adoptable)


UNSEALED = "its head is not sealed"
PLAIN_TAIL = "the head was sealed before the last events, plain sha256 links"
MOVED = "its head's seal does not match where the chain ends (moved)"


def _head_values(head: AuditChainHead) -> dict[str, Any]:
    return {
        "team_id": head.team_id,
        "first_seq": head.first_seq,
        "start_hash": head.start_hash,
        "last_seq": head.last_seq,
        "last_hash": head.last_hash,
    }


def _link_break(row: Any, expected_seq: int, expected_prev: str, keys: AuditKeys) -> Break | None:
    if row.seq < expected_seq:
        return Break(row.id, f"link {row.seq} lies before where the chain begins")
    if row.seq > expected_seq:
        missing = (
            f"link {expected_seq}"
            if row.seq == expected_seq + 1
            else (f"links {expected_seq} to {row.seq - 1}")
        )
        return Break(row.id, f"{missing} before it were deleted")
    if (row.prev_hash or "") != expected_prev:
        return Break(row.id, "it does not follow the event before it (replaced or inserted)")
    if row.key_id and row.key_id not in keys.by_id:
        return Break(row.id, _missing_key(row.key_id), needs_key=True)
    if hash_of(row, keys) != row.hash:
        return Break(row.id, "its content no longer matches its hash (edited)")
    return None


def _head_break(head: AuditChainHead, keys: AuditKeys, *, keyed: bool) -> Break | None:
    """Whether the head's seal holds; with a key at hand a head must be sealed."""
    if head.seal is None:
        if not keys.keyed and not keyed:
            return None  # no key anywhere: a plain chain, docs/security.md says what it proves
        if not keys.keyed:
            return Break(None, NO_KEY_FOR_KEYED, needs_key=True)
        if keyed:
            return Break(None, "its head's seal was removed though its links are keyed")
        return Break(
            None,
            f"{UNSEALED}: no key holds where the chain ends (its last links could have been "
            "recomputed by anyone); if no event was recorded since the key was set, "
            "`python -m bot audit verify --adopt` seals it",
        )
    if head.key_id not in keys.by_id:
        return Break(None, _missing_key(head.key_id or "none"), needs_key=True)
    if seal_of(head, keys, head.key_id) != head.seal:
        return Break(None, MOVED)
    return None


NO_KEY_FOR_KEYED = (
    "its links are keyed: set CADENCE_ENCRYPTION_KEYS (and CADENCE_RETIRED_KEYS) to verify them"
)


def _missing_key(kid: str) -> str:
    return (
        f"it is keyed by audit key {kid}, derived from a key neither CADENCE_ENCRYPTION_KEYS nor "
        "CADENCE_RETIRED_KEYS holds: set that key to verify it"
    )


def adoptable(verdict: Verdict) -> bool:
    """Whether all the chain lacks is what an operator may vouch for: unchained events, a head
    no key holds yet, or plain links a release without keys wrote after the head was sealed."""
    broken = verdict.broken
    return broken is not None and (
        bool(verdict.adoptable) or broken.reason.startswith((UNSEALED, PLAIN_TAIL))
    )


def adopt(session: Session, verdict: Verdict, *, actor: str, now: datetime) -> list[int]:
    """Chain the workspace's unchained events at its end in id order, and record an event naming
    them (which, with a key, also seals the head). Only for a chain otherwise intact (an
    unchained event, an unsealed head or a plain tail is all `verify` found). Returns the ids
    adopted."""
    if not adoptable(verdict):
        raise ValueError(f"the chain of {verdict.team_id} is broken: nothing is adopted")
    ids = list(verdict.adoptable)
    for event_id in ids:
        row = session.get(AuditEvent, event_id)
        if row is not None and row.seq is None:
            add(session, row)
    add(
        session,
        AuditEvent(
            team_id=verdict.team_id,
            actor_user_id=actor,
            entity_type="audit",
            entity_id=0,
            action="adopted",
            before=None,
            after={"events": ids, "sealed": keys_of(session).keyed},
            at=now,
        ),
    )
    return ids


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
    sealed = seal_values(
        keys_of(session),
        team_id=team_id,
        first_seq=head.first_seq,
        start_hash=head.start_hash,
        last_seq=head.last_seq,
        last_hash=head.last_hash,
    )
    head.key_id, head.seal = sealed["key_id"], sealed["seal"]
    session.add(head)
    return len(cut)
