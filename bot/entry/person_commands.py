"""`python -m bot person-export <team> <user> [--out FILE]` and `python -m bot forget-person
<team> <user> [--yes]`: a subject access request and an erasure, for an operator who holds the
database (what is exported and what forgetting does: `bot/domain/person_data.py`).

The export is JSON (to FILE, or printed), or with FILE ending in `.zip` one CSV per table.
Forgetting shows what it would change and asks for the person's id to be typed back (unless
`--yes`), then changes it all in one transaction. Both are audited (actor `cli`); the
forgetting's audit event names the pseudonym, not the person.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.domain import audit, person_data
from bot.entry.confirmation import typed_back
from bot.platform import clock
from bot.platform.services import Services

EXIT_REFUSED = 1


def _json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, indent=2, sort_keys=True)


def person_export(services: Services, team_id: str, user_id: str, out: str | None) -> int:
    """Returns the process exit status."""
    team_id, user_id = team_id.strip(), user_id.strip()
    now = clock.now()
    with services.db.session() as session:
        tables = person_data.export(session, team_id=team_id, user_id=user_id)
        total = person_data.count_of(tables)
        audit.record(
            session=session, team_id=team_id, actor=person_data.CLI_ACTOR,
            entity_type="person", entity_id=0, action="export", now=now,
            after={"user": user_id, "rows": total},
        )  # fmt: skip
    document = {
        "team_id": team_id, "user_id": user_id, "exported_at": now.isoformat(), "tables": tables
    }  # fmt: skip
    if out is None:
        print(_json(document))
        return 0
    path = Path(out)
    if path.suffix.lower() == ".zip":
        _write_zip(path, document)
    else:
        path.write_text(_json(document) + "\n", encoding="utf-8")
    print(
        f"Wrote {total} rows about {user_id} in workspace {team_id} "
        f"({len(tables)} tables) to {path}.",
        file=sys.stderr,
    )
    return 0


def _write_zip(path: Path, document: dict[str, Any]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        about = {k: v for k, v in document.items() if k != "tables"}
        archive.writestr("about.json", _json(about))
        for table, rows in document["tables"].items():
            buffer = io.StringIO()
            columns = sorted({key for row in rows for key in row})
            writer = csv.DictWriter(buffer, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        k: json.dumps(v, default=str) if isinstance(v, (dict, list)) else v
                        for k, v in row.items()
                    }
                )
            archive.writestr(f"{table}.csv", buffer.getvalue())


def forget_person(
    services: Services,
    team_id: str,
    user_id: str,
    *,
    confirmed: bool,
    ask: Callable[[str], str] = input,
) -> int:
    """Returns the process exit status."""
    team_id, user_id = team_id.strip(), user_id.strip()
    with services.db.read_session() as session:
        held = person_data.export(session, team_id=team_id, user_id=user_id)
    if not held:
        print(f"Cadence keeps nothing about {user_id} in workspace {team_id}: nothing to do.")
        return 0
    print(f"Cadence keeps {person_data.count_of(held)} rows naming {user_id} in {team_id}:")
    for table, rows in sorted(held.items()):
        print(f"  {table}: {len(rows)}")
    if not confirmed and not typed_back(
        ask,
        user_id,
        f"Type {user_id} to forget them for good (anything else keeps it all): ",
        "Nothing was changed.",
    ):
        return EXIT_REFUSED
    now = clock.now()
    with services.db.session() as session:
        as_, counts = person_data.forget(session, team_id=team_id, user_id=user_id, now=now)
        audit.record(
            session=session, team_id=team_id, actor=person_data.CLI_ACTOR,
            entity_type="person", entity_id=0, action="forget", now=now,
            after={"as": as_, "changed": counts},
        )  # fmt: skip
    print(f"Forgot {user_id} in workspace {team_id}: they are {as_} where a row still counts.")
    for what, n in sorted(counts.items()):
        print(f"  {what}: {n}")
    kept = len(held.get("auditevent", []))
    if kept:
        print(
            f"  {kept} audit events keep their id: the audit trail cannot change without "
            "breaking its chain; they go with the workspace's audit retention."
        )
    return 0
