"""Shared fixtures: the fake Slack, databases (SQLite and PostgreSQL), the running app.

The app is driven only through its real entry points: signed HTTP requests to
`POST /slack/events` of the real WSGI application, served on 127.0.0.1. Slack is the only thing
faked, at its HTTP boundary (`fake_slack.py`).

PostgreSQL: `TEST_DATABASE_URL` names a server database the tests may create databases from
(default postgresql+psycopg://postgres@127.0.0.1:5432/test). Without a reachable server the
PostgreSQL variants skip, saying why; with CI=true they fail instead.

Databases: the migrations run once per test run, into a template (a SQLite file, a PostgreSQL
database); each test that uses `db` gets its own copy of it. `sqlite_url`, `postgres_url` and
`database_url` without `db` give empty databases, for the tests of `migrate` itself.
"""

from __future__ import annotations

import sys

# Where the environment says PYTHONDONTWRITEBYTECODE (this project's CI machines do), pytest
# would rewrite every test module's asserts afresh in each run and each xdist worker, and every
# process the tests start would compile the app again: 8-9 s a worker before the first test.
# The caches go to the (gitignored) __pycache__ folders; writing them changes no behaviour.
sys.dont_write_bytecode = False

import os
import shutil
import socketserver
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import shared_sql_cache
import unordered_rows
from postgres_copies import Copies, create_database, drop_database
from slack_requests import SlackSim
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from waiting import SERVE_POLL_SECONDS, wait_until

from bot.demo.fake_slack import FakeSlack
from bot.demo.fake_slack.records import WAIT_LIMIT_S
from bot.engine.outbox_sender import Outbox
from bot.entry.wsgi import CadenceWSGI
from bot.platform.config import Settings, load_settings
from bot.platform.logs import ContextExecutor
from bot.platform.services import Services
from storage import migrate
from storage.db import Database

shared_sql_cache.install()  # engines of one kind of database compile each statement once
unordered_rows.install()  # SQLite gives rows in reverse where no ORDER BY says otherwise

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1111-2222-cadencetest"
TEAM = "T0CADENCE"
LEAD = "U0LEAD"
LEAD2 = "U0LEADTWO"
ADMIN = "U0ADMIN"
VENDOR = "U0VENDOR"
EXTERNAL = "W0EXTERNAL"  # a vendor engineer from another organisation (Slack Connect)
STAKEHOLDER = "U0STAKE"
OUTSIDER = "U0OUTSIDER"
GENERAL = "C0GENERAL"
ACME = "C0ACME"
PRIVATE = "G0PRIVATE"
SHARED = "C0SHARED"
DIGEST = "C0DIGEST"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# The one wall-clock bound a correctness test may use: only a request that waits for what it
# must not (a held lock, the rest of a body) takes this long, however busy the machine. The
# figures against their targets (Slack's 3 s, `/healthz` within 1 s …) are bench/'s to print:
# bench/timings.py and bench/faults.py.
HANG_BOUND_S = 5.0


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


# --- fake Slack ----------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A `shared_world` module's tests go to one xdist worker per database (`--dist loadgroup`):
    spread over both workers, each would build the module's world (the authorization matrix's,
    the fuzzers', two simulated weeks) for itself."""
    for item in items:
        if item.get_closest_marker("shared_world") is not None:
            database = "postgresql" if item.get_closest_marker("postgres") else "sqlite"
            item.add_marker(pytest.mark.xdist_group(f"{item.module.__name__}-{database}"))


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with the_fake() as fake:
        yield fake
        assert fake.block_errors == [], f"Slack would have rejected: {fake.block_errors}"


@contextmanager
def the_fake() -> Iterator[FakeSlack]:
    """The fake Slack of `fake_slack`: its people and channels (for a probe outside pytest)."""
    with FakeSlack(team_id=TEAM) as fake:
        fake.add_user(LEAD, name="lena.lead", tz="Europe/Berlin")
        fake.add_user(LEAD2, name="lars.lead", tz="Europe/Berlin")
        fake.add_user(ADMIN, name="ada.admin", tz="America/New_York")
        fake.add_user(VENDOR, name="vic.vendor", tz="Asia/Kolkata")
        fake.add_user(EXTERNAL, name="ext.engineer", tz="Asia/Kolkata", team_id="T0VENDORCO")
        fake.add_user(STAKEHOLDER, name="sam.stake", tz="America/New_York")
        fake.add_user(OUTSIDER, name="otto.other", tz="UTC")
        fake.add_channel(GENERAL, name="general", bot_is_member=True)
        fake.add_channel(ACME, name="acme-payments")
        fake.add_channel(PRIVATE, name="acme-secret", is_private=True)
        fake.add_channel(SHARED, name="acme-globex", is_ext_shared=True)
        fake.add_channel(DIGEST, name="exec-digest")
        yield fake


# --- databases -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as e:
        reason = (
            f"PostgreSQL is not reachable at {make_url(url).render_as_string()} "
            f"({type(e).__name__}); set TEST_DATABASE_URL to run the PostgreSQL tests"
        )
        if in_ci():
            pytest.fail(reason + " — CI=true requires them")
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def postgres_admin(postgres_server_url: str) -> Iterator[Engine]:
    """One autocommit connection pool to the server, to create and drop the test databases."""
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


@contextmanager
def _postgres_database(
    admin: Engine, server_url: str, prefix: str, template: str | None = None
) -> Iterator[str]:
    """A new database on the server (a copy of `template` if given), dropped afterwards even
    if something still holds a connection to it."""
    name = create_database(admin, prefix, template=template)
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(admin, name)


@pytest.fixture(scope="session")
def postgres_template(postgres_admin: Engine, postgres_server_url: str) -> Iterator[str]:
    """The name of a PostgreSQL database migrated once for this test run; each test's migrated
    database is a copy of it. Built afresh every run, so a changed schema is always picked up,
    and dropped at the end. Nothing stays connected to it (migrate disposes its engine), as
    CREATE DATABASE … TEMPLATE requires."""
    with _postgres_database(postgres_admin, postgres_server_url, "cadence_template") as url:
        migrate.upgrade(url)
        yield make_url(url).database


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once for this test run; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("template") / "cadence.db"
    migrate.upgrade(f"sqlite:///{path}")
    # Fold the write-ahead log into the file and leave WAL mode, so the file alone is the
    # whole database (each copy turns WAL on again when the app connects).
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    return path


@pytest.fixture
def postgres_url(postgres_admin: Engine, postgres_server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    with _postgres_database(postgres_admin, postgres_server_url, "cadence_t") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database for one test: empty (no file yet), unless the test also uses `db`."""
    return f"sqlite:///{tmp_path / 'cadence.db'}"


@pytest.fixture(scope="session")
def postgres_copies(
    postgres_admin: Engine, postgres_server_url: str, postgres_template: str
) -> Iterator[Copies]:
    # CADENCE_TEST_REUSE_DATABASES=0: a new copy for every test (postgres_copies.py says when)
    reuse = os.environ.get("CADENCE_TEST_REUSE_DATABASES", "1") != "0"
    copies = Copies(postgres_admin, postgres_server_url, postgres_template, reuse=reuse)
    yield copies
    copies.close()


@pytest.fixture
def postgres_migrated_url(postgres_copies: Copies) -> Iterator[str]:
    """A PostgreSQL database with the current schema and no rows: one an earlier test left
    with nothing but rows, emptied, or else a copy of the template (`postgres_copies.py`)."""
    url = postgres_copies.take()
    try:
        yield url
    finally:
        postgres_copies.give_back(url)


@pytest.fixture
def sqlite_migrated_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A SQLite database with the current schema (a copy of the template), where `sqlite_url`
    points."""
    shutil.copy(sqlite_template, tmp_path / "cadence.db")
    return f"sqlite:///{tmp_path / 'cadence.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs twice: on SQLite and on PostgreSQL.

    A test that uses `db` (or `cadence`) gets the URL of that database, already migrated;
    any other test gets an empty database, e.g. to run `python -m bot migrate` on."""
    migrated = "_migrated_url" if "db" in request.fixturenames else "_url"
    kind = "sqlite" if request.param == "sqlite" else "postgres"
    return request.getfixturevalue(kind + migrated)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The test's database with the current schema (copied from the run's template: the
    migrations ran once, when the template was built)."""
    database = Database.from_url(database_url)
    yield database
    database.dispose()


# --- the running app -------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # keep test output readable
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


@dataclass
class Cadence:
    """The app under test, serving HTTP, with its database and Slack's side of the wire."""

    url: str
    services: Services
    fake: FakeSlack
    sim: SlackSim
    outbox: Outbox | None = None  # the served app's, when the test serves it (`settle`)
    listeners: ContextExecutor | None = None  # what Bolt runs after each ack, likewise

    @property
    def db(self) -> Database:
        return self.services.db

    def settle(self, timeout: float = WAIT_LIMIT_S) -> None:
        """Wait until the work after each ack is done and what it planned has been sent at once
        (the outbox), before a test moves its simulated clock on: a send left in flight would
        meet Slack at the new moment."""
        if self.listeners is not None and not self.listeners.wait_idle(timeout):
            raise AssertionError(f"the work after an ack was still running after {timeout} s")
        if self.outbox is not None and not self.outbox.wait_idle(timeout):
            raise AssertionError(f"the outbox was still sending after {timeout} s")

    def wait_until(self, predicate, timeout: float = WAIT_LIMIT_S, what: str = "condition"):
        """Poll for an effect of work done after ack (never sleep a fixed time). The limit is
        for a machine busy with the whole suite in parallel: an effect that never comes still
        fails, only later."""
        return wait_until(predicate, timeout, what)


def make_settings(database_url: str, fake: FakeSlack, **overrides: str) -> Settings:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": database_url,
        "SLACK_API_URL": fake.base_url,
        "CADENCE_ADMINS": ADMIN,
        "LOG_LEVEL": "INFO",
        # No pause between messages to one channel, as in `tick` (engine_flows); the pacing
        # itself is tested where a test sets it.
        "CADENCE_CHANNEL_PACE_SECONDS": "0",
        **overrides,
    }
    return load_settings(env)


# A request's database work has 2 s in production, as Slack waits 3 s. On a shared 2-core
# machine running the suite in parallel, the PostgreSQL the other worker loads (databases
# copied and dropped, migrations, bursts) now and then stalls a statement for seconds, and a test
# got "the database did not answer in time" for nothing it tested (one run in a few, more on a
# slower machine). The apps the tests serve give it this long; the deadline's own tests keep
# Slack's (tests/test_faults.py's held database and outages, test_storage, test_pooler).
LOADED_MACHINE_REQUEST_SECONDS = 10.0


def app_services(settings: Settings, db: Database) -> Services:
    """The services of an app a test serves: as production's, with the loaded machine's request
    deadline (`LOADED_MACHINE_REQUEST_SECONDS`)."""
    return Services(settings=settings, db=db, request_seconds=LOADED_MACHINE_REQUEST_SECONDS)


@pytest.fixture
def cadence(fake_slack: FakeSlack, db: Database, database_url: str) -> Iterator[Cadence]:
    with serving(app_services(make_settings(database_url, fake_slack), db), fake_slack) as app:
        yield app


@contextmanager
def serving(services: Services, fake_slack: FakeSlack) -> Iterator[Cadence]:
    """The app with these services, serving HTTP until the block ends (`cadence` is the usual
    one; a test wanting other settings builds its own with `make_settings`)."""
    application = CadenceWSGI(services)
    server = make_server(
        "127.0.0.1", 0, application, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": SERVE_POLL_SECONDS}, daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield Cadence(
            url=url,
            services=services,
            fake=fake_slack,
            sim=SlackSim(url, fake_slack, SIGNING_SECRET, team_id=TEAM),
            outbox=application.outbox,
            listeners=application.bolt.listener_runner.listener_executor,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        application.close()
