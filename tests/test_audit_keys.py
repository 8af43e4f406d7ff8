"""The audit chain keyed (storage/audit_keys.py): an insider who can write to the database but
holds no key edits a row AND recomputes every plain sha256 hash and the head, and is caught;
links made before keys existed and under a retired key still verify; events written by a
release without the chain, or without keys, during a rolling deploy are adopted by an operator
(`audit verify --adopt`), audited, never by a write on its own."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlmodel import select

from bot.domain import audit
from bot.entry.cli import main
from storage.audit_chain import hash_of, trim
from storage.audit_keys import NONE, AuditKeys
from storage.db import Database
from storage.models import AuditChainHead, AuditEvent

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def verify(monkeypatch, database_url: str, *args: str, keys=(), retired=()) -> tuple[int, str]:
    """`python -m bot audit verify` with these keys in the environment (only the database and
    the keys are set)."""
    for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CADENCE_ENCRYPTION_KEYS", ",".join(keys))
    monkeypatch.setenv("CADENCE_RETIRED_KEYS", ",".join(retired))
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(["audit", "verify", *args])
    return status, out.getvalue()


def record(db: Database, n: int, keys: AuditKeys, team_id: str = "T1") -> None:
    db.audit_keys = keys
    with db.session() as session:
        audit.record(
            session=session, team_id=team_id, actor="U1", entity_type="engagement",
            entity_id=n, action="update", now=NOW + timedelta(minutes=n),
            before={"vendor": f"old {n}"}, after={"vendor": f"new {n}"},
        )  # fmt: skip


def chain(db: Database, team_id: str = "T1") -> list[AuditEvent]:
    with db.read_session() as session:
        query = select(AuditEvent).where(AuditEvent.team_id == team_id).order_by(AuditEvent.id)
        return list(session.exec(query))


def recompute_plain_from(db: Database, seq: int, *, strip_seal: bool) -> None:
    """The insider: every link from `seq` on rewritten as a plain sha256 link (what anyone can
    compute), and the head's end moved to match, by raw SQL."""
    table = AuditEvent.__table__
    with db.begin() as conn:  # the columns' own types: JSON and moments as Cadence reads them
        rows = conn.execute(select(table).where(table.c.team_id == "T1").order_by(table.c.seq))
        rows = [dict(r._mapping) for r in rows]
        prev = next((r["hash"] for r in rows if r["seq"] == seq - 1), "")
        for row in rows:
            if row["seq"] < seq:
                continue
            row.update(prev_hash=prev, key_id=None)
            prev = hash_of(SimpleNamespace(**row))
            conn.execute(
                text(
                    "UPDATE auditevent SET prev_hash = :p, hash = :h, key_id = NULL WHERE id = :i"
                ),
                {"p": row["prev_hash"], "h": prev, "i": row["id"]},
            )
        conn.execute(text("UPDATE auditchainhead SET last_hash = :h"), {"h": prev})
        if strip_seal:
            conn.execute(text("UPDATE auditchainhead SET seal = NULL, key_id = NULL"))


@pytest.mark.parametrize("strip_seal", [False, True], ids=["seal-left", "seal-stripped"])
def test_an_insider_who_edits_and_recomputes_every_hash_and_the_head_is_caught(
    db, monkeypatch, database_url, strip_seal
):
    keys = AuditKeys.of([KEY_A])
    for n in range(1, 5):
        record(db, n, keys)
    links = chain(db)
    assert all(e.key_id == keys.current for e in links)
    assert verify(monkeypatch, database_url, keys=[KEY_A])[0] == 0

    with db.begin() as conn:  # the edit: the second event's actor
        conn.execute(
            text("UPDATE auditevent SET actor_user_id = 'U0OTHER' WHERE id = :id"),
            {"id": links[1].id},
        )
    recompute_plain_from(db, links[1].seq, strip_seal=strip_seal)

    # Without the key, such a chain is indistinguishable from an honest one: why it needs one.
    status, out = verify(monkeypatch, database_url)
    assert status == 2 and "CANNOT VERIFY" in out
    status, out = verify(monkeypatch, database_url, keys=[KEY_A])
    assert status == 1, out
    assert "BROKEN at its head" in out and "intact" not in out
    assert ("seal was removed" in out) if strip_seal else ("seal does not match" in out)
    # --adopt does not launder it
    status, out = verify(monkeypatch, database_url, "--adopt", keys=[KEY_A])
    assert status == 1 and "adopted" not in out


def test_a_keyed_link_whose_hash_is_recomputed_as_sha256_is_caught(db, monkeypatch, database_url):
    keys = AuditKeys.of([KEY_A])
    for n in range(1, 4):
        record(db, n, keys)
    last = chain(db)[-1]
    with db.session() as session:
        row = session.get(AuditEvent, last.id)
        row.after = {"vendor": "someone else"}
        row.hash = hash_of(SimpleNamespace(**{**row.model_dump(), "key_id": None}))
        session.add(row)
    status, out = verify(monkeypatch, database_url, keys=[KEY_A])
    assert status == 1
    assert f"BROKEN at audit event {last.id}: its content no longer matches" in out


def test_plain_links_before_keys_still_verify_and_the_first_keyed_write_holds_them(
    db, monkeypatch, database_url
):
    for n in range(1, 3):
        record(db, n, NONE)
    status, out = verify(monkeypatch, database_url)
    assert status == 0 and "intact, 2 events, plain sha256, no key" in out
    # Keys set since the last event: nothing holds the plain end yet, and verify says so.
    status, out = verify(monkeypatch, database_url, keys=[KEY_A])
    assert status == 1 and "its head is not sealed" in out and "--adopt" in out
    record(db, 3, AuditKeys.of([KEY_A]))
    status, out = verify(monkeypatch, database_url, keys=[KEY_A])
    assert status == 0 and "intact, 3 events, keyed" in out
    links = chain(db)
    assert [e.key_id is None for e in links] == [True, True, False]
    # An edit of a plain link before the keyed one, hashes recomputed, is caught by the keyed link
    with db.begin() as conn:
        conn.execute(
            text("UPDATE auditevent SET action = 'delete' WHERE id = :i"), {"i": links[0].id}
        )
    recompute_plain_from(db, 1, strip_seal=False)  # rewrites the keyed link as plain too
    status, out = verify(monkeypatch, database_url, keys=[KEY_A])
    assert status == 1 and "BROKEN" in out


def test_adopt_seals_a_head_no_key_holds_yet_and_is_audited(db, monkeypatch, database_url):
    record(db, 1, NONE)
    status, out = verify(monkeypatch, database_url, "--adopt", keys=[KEY_A])
    assert status == 0, out
    assert "T1: adopted 0 unchained event(s)" in out and "intact, 2 events, keyed" in out
    adopted = chain(db)[-1]
    assert (adopted.entity_type, adopted.action) == ("audit", "adopted")
    assert adopted.actor_user_id.startswith("cli:") and adopted.after["sealed"] is True


def test_links_of_a_rotated_key_verify_while_that_key_is_kept(db, monkeypatch, database_url):
    """Rotation: B first, A after it; then A retired (CADENCE_RETIRED_KEYS) still verifies A's
    links; without A they cannot be checked (status 2), never called intact or broken."""
    for n in range(1, 3):
        record(db, n, AuditKeys.of([KEY_A]))
    for n in range(3, 5):
        record(db, n, AuditKeys.of([KEY_B, KEY_A]))
    kids = [e.key_id for e in chain(db)]
    assert kids[0] == kids[1] != kids[2] == kids[3]
    assert verify(monkeypatch, database_url, keys=[KEY_B, KEY_A])[0] == 0
    status, out = verify(monkeypatch, database_url, keys=[KEY_B], retired=[KEY_A])
    assert status == 0 and "intact, 4 events, keyed" in out
    status, out = verify(monkeypatch, database_url, keys=[KEY_B])
    assert status == 2
    assert f"CANNOT VERIFY at audit event {chain(db)[0].id}" in out
    assert "CADENCE_RETIRED_KEYS" in out and KEY_A not in out


def test_events_of_a_release_before_the_chain_are_adopted_in_id_order(
    db, monkeypatch, database_url
):
    """A rolling deploy: the previous release writes events without a link between Cadence's.
    verify reports them and names --adopt; --adopt chains them at the end in id order and
    records an event naming them; the chain then holds."""
    keys = AuditKeys.of([KEY_A])
    record(db, 1, keys)
    with db.begin() as conn:  # the previous release's INSERT: its columns only
        for n in (2, 3):
            conn.execute(
                text(
                    "INSERT INTO auditevent (team_id, actor_user_id, entity_type, entity_id, "
                    "action, before, after, at) VALUES ('T1', 'U2', 'engagement', :n, "
                    "'update', NULL, NULL, :at)"
                ),
                {"n": n, "at": datetime(2026, 12, 7, 10, n)},
            )
    record(db, 4, keys)
    old = [e.id for e in chain(db) if e.seq is None]
    assert len(old) == 2

    status, out = verify(monkeypatch, database_url, keys=[KEY_A])
    assert status == 1 and f"BROKEN at audit event {old[0]}: it is in no chain (2 such" in out
    assert "--adopt" in out
    status, out = verify(monkeypatch, database_url, "--adopt", keys=[KEY_A])
    assert status == 0, out
    assert f"adopted 2 unchained event(s) {old}" in out and "intact, 5 events, keyed" in out
    by_seq = sorted(chain(db), key=lambda e: e.seq)
    assert [e.entity_id for e in by_seq] == [1, 4, 2, 3, 0]
    assert by_seq[-1].action == "adopted" and by_seq[-1].after["events"] == old
    assert verify(monkeypatch, database_url, keys=[KEY_A])[0] == 0


def test_plain_links_of_a_release_without_keys_after_the_seal_are_adopted(
    db, monkeypatch, database_url
):
    """The release before this one links plain sha256 links and moves the head's end without
    resealing it: reported (from its first plain link), adopted by --adopt."""
    record(db, 1, AuditKeys.of([KEY_A]))
    with db.read_session() as session:
        head = session.get(AuditChainHead, "T1")
        sealed = {"k": head.key_id, "s": head.seal}
    before_keys = Database(db.engine)  # the previous release: the chain, no keys
    with before_keys.session() as session:
        audit.record(
            session=session, team_id="T1", actor="U1", entity_type="engagement",
            entity_id=2, action="update", now=NOW,
        )  # fmt: skip
    with db.begin() as conn:  # that release knew no seal: it left the one there
        conn.execute(text("UPDATE auditchainhead SET key_id = :k, seal = :s"), sealed)
    plain = chain(db)[-1]
    assert plain.key_id is None
    status, out = verify(monkeypatch, database_url, keys=[KEY_A])
    assert status == 1 and f"BROKEN at audit event {plain.id}: the head was sealed before" in out
    status, out = verify(monkeypatch, database_url, "--adopt", keys=[KEY_A])
    assert status == 0 and "intact, 3 events, keyed" in out


def test_retention_cutting_a_keyed_chain_reseals_its_head(db, monkeypatch, database_url):
    """Retention moves where the chain begins: the head's seal covers that too, so the cut
    chain verifies, and a start moved by SQL does not."""
    keys = AuditKeys.of([KEY_A])
    for n in range(1, 5):
        record(db, n, keys)
    with db.session() as session:
        cut = trim(session, team_id="T1", before=NOW + timedelta(minutes=3), now=NOW, limit=10)
    assert cut == 2
    status, out = verify(monkeypatch, database_url, keys=[KEY_A])
    assert status == 0 and "intact, 2 events, keyed" in out
    with db.begin() as conn:  # hiding one more event the way retention would, without the key
        third = chain(db)[0]
        conn.execute(text("DELETE FROM auditevent WHERE id = :i"), {"i": third.id})
        conn.execute(
            text("UPDATE auditchainhead SET first_seq = :s, start_hash = :h"),
            {"s": third.seq + 1, "h": third.hash},
        )
    status, out = verify(monkeypatch, database_url, keys=[KEY_A])
    assert status == 1 and "seal does not match" in out
