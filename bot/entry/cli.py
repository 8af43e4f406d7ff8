"""Command line: `python -m bot [serve|worker|tick [--now ISO-8601]|migrate|demo|forget-workspace|
forget-person|person-export|audit verify|backup FILE|restore-mark [--now ISO-8601]|rotate-key|
new-key]`.

Exit statuses, for cron and process managers: 0 done; 1 `tick` sent something that failed for
good (retries still pending are not a failure); 2 the configuration cannot be used; 3 the
database cannot be used. Problems are one line each on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError

from bot.entry import db_problems
from bot.platform.config import ConfigError, Settings, configure_logging, load_settings
from storage.deadline import DatabaseUnavailable

log = logging.getLogger(__name__)
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_DATABASE = 3
SCHEMA_FIRST = frozenset(
    {
        "tick",
        "worker",
        "forget-workspace",
        "audit",
        "forget-person",
        "person-export",
        "restore-mark",
        "rotate-key",
    }
)
# Commands that only read or change the database: no Slack setting is asked for.
NO_SLACK = frozenset(
    {
        "migrate",
        "audit",
        "forget-person",
        "person-export",
        "forget-workspace",
        "backup",
        "restore-mark",
        "rotate-key",
    }
)


def build_parser() -> argparse.ArgumentParser:
    """Every command and its arguments (the README's command table lists each one)."""
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Cadence: check-ins, updates and concerns in Slack."
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve Slack (Socket Mode or HTTP) with the scheduler (default)")
    sub.add_parser("worker", help="run the scheduler alone")
    tick = sub.add_parser("tick", help="run one scheduler pass and exit")
    tick.add_argument("--now", help="the moment to run at, ISO-8601 with an offset")
    sub.add_parser("migrate", help="bring the database schema up to date")
    demo = sub.add_parser("demo", help="play several weeks of Cadence against a stand-in Slack")
    # Checked by the demo itself, each in one line (argparse would add its usage to each).
    demo.add_argument("--out", help="the folder to write to (default ./cadence-demo)")
    demo.add_argument("--weeks", help="how many weeks to simulate (1 to 8, default 4)")
    forget = sub.add_parser(
        "forget-workspace", help="delete everything Cadence keeps about a workspace"
    )
    forget.add_argument("team_id", help="the workspace's team id (T…)")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    forget_person = sub.add_parser(
        "forget-person", help="erase a person's text and identity from a workspace's data"
    )
    forget_person.add_argument("team_id", help="the workspace's team id (T…)")
    forget_person.add_argument("user_id", help="the person's Slack user id (U… or W…)")
    forget_person.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    export = sub.add_parser("person-export", help="everything stored about one person")
    export.add_argument("team_id", help="the workspace's team id (T…)")
    export.add_argument("user_id", help="the person's Slack user id (U… or W…)")
    export.add_argument("--out", help="a file to write: JSON, or CSVs in a .zip (default: print)")
    audit = sub.add_parser("audit", help="the audit trail: `audit verify` checks its hash chain")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser(
        "verify", help="report the first event edited, deleted or inserted outside Cadence"
    )
    verify.add_argument("--team", help="one workspace's team id (default: every workspace)")
    verify.add_argument(
        "--adopt",
        action="store_true",
        help="chain events a release before the chain wrote, and seal a head no key holds yet",
    )
    backup = sub.add_parser("backup", help="back the database up to a new file, while it runs")
    backup.add_argument(
        "file", help="the backup to write (SQLite: a database file; else pg_dump's)"
    )
    restore_mark = sub.add_parser(
        "restore-mark", help="on a restored database, before anything ticks: send nothing twice"
    )
    restore_mark.add_argument("--now", help="the moment it is restored at, ISO-8601 with an offset")
    sub.add_parser(
        "rotate-key",
        help="re-encrypt every stored secret under the first key of CADENCE_ENCRYPTION_KEYS",
    )
    sub.add_parser("new-key", help="print a new key for CADENCE_ENCRYPTION_KEYS")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "serve"

    if command == "demo":
        from bot.demo import run as run_demo

        return run_demo(args)
    if command == "new-key":
        from bot.entry.rotate_key import new_key

        return new_key()
    # What was typed is checked before the configuration: a mistyped argument is the first
    # thing to fix, and it is said even where no credentials are set.
    if command in ("tick", "restore-mark") and isinstance(
        problem := moment_argument(args.now), str
    ):
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    try:
        settings = load_settings(need_slack=command not in NO_SLACK)
    except ConfigError as e:
        print("Cadence cannot start. Set these (in .env or the environment):", file=sys.stderr)
        for problem in e.problems:
            print(f"  • {problem}", file=sys.stderr)
        print("See .env.example and the README's configuration table.", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings)
    if warning := db_problems.in_memory_warning(settings.database_url):
        log.warning(warning)
    problem = db_problems.before_connecting(settings.database_url)
    if problem is not None:
        return database_problem(problem)
    try:
        return run(command, args, settings)
    except (DBAPIError, DatabaseUnavailable) as e:  # refused, not there, or too slow
        return database_problem(db_problems.explain(e, settings.database_url))


def database_problem(line: str) -> int:
    print(f"Cadence cannot use its database. {line}", file=sys.stderr)
    return EXIT_DATABASE


def run(command: str, args: argparse.Namespace, settings: Settings) -> int:
    """Every command but `demo`, once the configuration is valid."""
    from bot.platform.services import Services
    from storage import migrate
    from storage.db import Database

    if command == "migrate":
        migrate.upgrade(settings.database_url)
        print("database schema is up to date")
        return 0
    if command == "backup":
        from bot.entry.backup import backup, missing_source

        if (problem := missing_source(settings.database_url)) is not None:
            return database_problem(problem)
    db = Database.from_url(
        settings.database_url, prepared_statements=settings.database_prepared_statements
    )
    services = Services(settings=settings, db=db)
    db.ping()  # a database that cannot be reached is told now, in one line
    if command == "backup":
        db.dispose()
        return backup(settings.database_url, args.file)
    if command in SCHEMA_FIRST and migrate.pending(db.engine, settings.database_url):
        print(
            "The database schema is not up to date: run `python -m bot migrate` first "
            "(the release step does this in a Procfile deployment).",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if command == "rotate-key":
        from bot.entry.rotate_key import rotate_key

        return rotate_key(services)
    if command in ("tick", "worker") and (refused := _unreadable_secrets(services)):
        return refused
    if command == "tick":
        return run_tick(services, args.now)
    if command == "forget-workspace":
        from bot.entry.forget_workspace import forget_workspace

        return forget_workspace(services, args.team_id, confirmed=args.yes)
    if command in ("forget-person", "person-export"):
        from bot.entry.person_commands import forget_person, person_export

        if command == "person-export":
            return person_export(services, args.team_id, args.user_id, args.out)
        return forget_person(services, args.team_id, args.user_id, confirmed=args.yes)
    if command == "restore-mark":
        return run_restore_mark(services, args.now)
    if command == "audit":
        from bot.entry.audit_verify import audit_verify

        return audit_verify(services, args.team, adopt=args.adopt)
    if command == "worker":
        from bot.engine import ticker
        from bot.entry.stopping import stop_on_signals

        ticker.run_blocking(services, stop_on_signals())
        return 0
    migrate.upgrade(settings.database_url)  # the single process keeps its own schema current
    if refused := _unreadable_secrets(services):
        return refused
    from bot.entry.serve import serve

    try:
        serve(services)
    except ConfigError as e:
        print("Cadence cannot start:", file=sys.stderr)
        for problem in e.problems:
            print(f"  • {problem}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


def _unreadable_secrets(services) -> int:
    """EXIT_CONFIG after one line when a stored secret cannot be opened (plain text, another
    key's); 0 when every one can."""
    from bot.entry.rotate_key import unreadable_secrets

    problem = unreadable_secrets(services)
    if problem is None:
        return 0
    print(f"Cadence cannot start. {problem}", file=sys.stderr)
    return EXIT_CONFIG


def wall_clock() -> datetime:
    """The real time, even while `clock.fixed_at` simulates another (the heartbeat's clock)."""
    return datetime.now(UTC)


def moment_argument(now_text: str | None) -> datetime | str | None:
    """`--now`'s moment (None: not given), or the one line saying what is wrong with it."""
    if not now_text:
        return None
    try:
        moment = datetime.fromisoformat(now_text)
    except ValueError:
        return f"--now {now_text!r} is not ISO-8601, e.g. 2026-11-30T09:00:00+01:00"
    if moment.tzinfo is None:
        return "--now needs an offset, e.g. 2026-11-30T09:00:00+01:00 or ...Z"
    return moment


def parse_now(now_text: str | None) -> datetime | None:
    """`--now` as a moment (the clock's when not given); None, with the problem said on
    stderr, when it cannot be used."""
    from bot.platform import clock

    moment = moment_argument(now_text)
    if isinstance(moment, str):
        print(moment, file=sys.stderr)
        return None
    return clock.now() if moment is None else moment


def run_restore_mark(services, now_text: str | None) -> int:
    """`restore-mark` at `--now` (or now)."""
    from bot.entry.backup import restore_mark
    from bot.platform import clock

    moment = parse_now(now_text)
    if moment is None:
        return EXIT_CONFIG
    try:
        with clock.fixed_at(moment) as now:
            return restore_mark(services, now)
    finally:
        services.db.dispose()


def run_tick(services, now_text: str | None) -> int:
    """One pass at `--now` (or now); prints what it did. Exits 1 when a send failed for good in
    this pass, so cron can alert; retries left for a later pass are not a failure."""
    from bot.engine import tick as engine
    from bot.platform import clock

    moment = parse_now(now_text)
    if moment is None:
        return EXIT_CONFIG
    try:
        with clock.fixed_at(moment) as now:
            report = engine.tick(services, now, wall_clock=wall_clock)
    finally:
        services.db.dispose()
    for line in report.lines():
        print(line)
    if report.failed:
        print(
            f"{len(report.failed)} message(s) failed for good in this pass (listed above).",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
