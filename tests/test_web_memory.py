"""The web process stays small (issue 23, item 3): `bot.entry.wsgi` (what gunicorn's `web`
workers import) must not load what only a rarer request, or only the `worker` process, uses:

- matplotlib, numpy and PIL, which only the engine's chart jobs use: 124 MB → 81 MB for an
  idle `web` worker (the Procfile's gunicorn line, `bench/profile_requests.py --rss`);
- APScheduler (a cron rule read) and cryptography (sealed secrets, audit keys), imported where
  they are used: 81 → 77 MB;
- a pass of the engine (`tick`, the planner, the pruning) and the job kinds' handlers, each
  imported when a job of its kind first runs (`bot/engine/job_kinds.py`), so the digest's
  building and chart (`bot/engine/digests.py`) only with a digest job; and slack_sdk's OAuth
  stores, which import `sqlalchemy.ext.asyncio` and greenlet, only with several workspaces
  (`storage/oauth_stores.py`): 75.2 → 72.7 MB on SQLite (81.8 MB on PostgreSQL);
- the models' mappers configured by the time the app is built (`CadenceWSGI`), not by the
  first request that queries, on a thread of its own, whose heap keeps them: 1.1 MB.

Each is checked in a fresh interpreter, and so is its loading where it is used: the probes can
fail both ways."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test starts a fresh interpreter

ROOT = Path(__file__).resolve().parents[1]
DRAWING = ("matplotlib", "numpy", "PIL")
WHERE_USED = ("apscheduler", "cryptography")
ENGINE_PASS = (
    "bot.engine.planner",
    "bot.engine.retention_jobs",
    "bot.engine.tick",
    "storage.pruning",
)
DIGEST_BUILDING = ("bot.blocks.chart", "bot.blocks.chart_rows", "bot.blocks.digest", "bot.engine.digests")  # fmt: skip
OAUTH_STORES = ("greenlet", "sqlalchemy.ext.asyncio", "storage.oauth_stores")
PROBE = """
import json, sys
{code}
print(json.dumps(sorted(set(sys.modules) & set({modules!r}))))
"""


def _probe(code: str, modules: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """`code` run in a fresh interpreter that then prints which of `modules` it holds."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code, modules=modules)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _last_line(text: str) -> list[str]:
    return json.loads(text.strip().splitlines()[-1])


def loaded_by(code: str, modules: tuple[str, ...] = DRAWING) -> list[str]:
    """Which of `modules` a fresh interpreter holds after running `code` (`import x` at least)."""
    return _last_line(_probe(code, modules).stdout)


def probed(code: str, modules: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Which of `modules` a fresh interpreter held at a point `code` reports on its stderr's
    last line, and at its end."""
    done = _probe(code, modules)
    return _last_line(done.stderr), _last_line(done.stdout)


def test_the_web_process_starts_without_matplotlib():
    assert loaded_by("import bot.entry.wsgi") == []


def test_drawing_a_chart_still_loads_matplotlib():
    """The probe can fail: the chart's own module loads matplotlib once it draws."""
    assert loaded_by(
        "import bot.blocks.chart; from datetime import datetime, UTC; "
        "bot.blocks.chart.digest_chart([], now=datetime(2026, 12, 4, tzinfo=UTC), weeks=8)"
    ) == ["PIL", "matplotlib", "numpy"]


def test_the_web_process_starts_without_apscheduler_or_cryptography():
    assert loaded_by("import bot.entry.wsgi", WHERE_USED) == []


def test_a_cron_rule_and_a_sealed_secret_still_load_them_where_used():
    """The probe can fail: each library is imported where it is used."""
    assert loaded_by(
        "import bot.domain.recurrence as r; from datetime import datetime, time, UTC; "
        "r.next_occurrence(r.Rule(kind='cron', cron='0 9 * * 1'), time(9), 'UTC', "
        "datetime(2026, 12, 7, tzinfo=UTC))",
        WHERE_USED,
    ) == ["apscheduler"]
    assert loaded_by(
        "import storage.encryption as e; e.Keys([e.new_key()]).seal('x')", WHERE_USED
    ) == ["cryptography"]


def test_the_web_process_starts_without_the_engines_pass_the_digest_or_the_oauth_stores():
    assert loaded_by("import bot.entry.wsgi", ENGINE_PASS + DIGEST_BUILDING + OAUTH_STORES) == []


def test_the_worker_still_loads_the_engines_pass():
    """The probe can fail: the ticker the `worker` process runs imports the pass."""
    assert loaded_by("import bot.engine.ticker", ENGINE_PASS) == sorted(ENGINE_PASS)


# A web process serving a real request: an engagement created through its form, then
# `/cadence digest preview`, whose post and chart the outbox builds and sends at once.
DIGEST_REQUEST = """
sys.path.insert(0, "tests")
from conftest import LEAD, make_settings, serving, the_fake
from flows import create_engagement
from bot.platform.services import Services
from storage.db import Database

def building():
    return sorted(set(sys.modules) & set({modules!r}))

with the_fake() as fake:
    db = Database.from_url({url!r})
    with serving(Services(settings=make_settings({url!r}, fake), db=db), fake) as cadence:
        create_engagement(cadence)
        cadence.settle()
        before = building()
        cadence.sim.command("digest preview", user=LEAD)
        dm = fake.dm_channel_id(LEAD)
        cadence.wait_until(
            lambda: [f for f in fake.uploaded_files() if f[3] == dm], what="the preview's chart"
        )
    db.dispose()
print(json.dumps(before), file=sys.stderr)
"""


def test_a_digest_preview_loads_the_digests_building_where_it_is_used(sqlite_migrated_url):
    """The probe can fail: creating an engagement (its messages sent at once) loads none of
    the digest's building; a preview's post and chart, built by the web process's outbox,
    load it and matplotlib."""
    watched = DIGEST_BUILDING + DRAWING
    before, after = probed(DIGEST_REQUEST.format(modules=watched, url=sqlite_migrated_url), watched)
    assert before == []
    assert after == sorted(watched)


# Several workspaces: Slack's install page, served by the `web` process, from the stores.
INSTALL_REQUEST = """
sys.path.insert(0, "tests")
from urllib.request import urlopen
from conftest import make_settings, serving, the_fake
from bot.platform.services import Services
from storage.db import Database

before = sorted(set(sys.modules) & set({modules!r}))
with the_fake() as fake:
    fake.oauth_client = ("1111.2222", "client-secret")
    settings = make_settings(
        {url!r}, fake, SLACK_BOT_TOKEN="", SLACK_CLIENT_ID="1111.2222",
        SLACK_CLIENT_SECRET="client-secret", SLACK_STATE_SECRET="a long random state secret",
        CADENCE_ENCRYPTION_KEYS={key!r}, CADENCE_ADMINS="T0CADENCE:U0ADMIN",
    )
    with serving(Services(settings=settings, db=Database.from_url({url!r})), fake) as cadence:
        with urlopen(cadence.url + "/slack/install", timeout=10) as response:
            page = response.read()
assert b"slack.com/oauth/v2/authorize" in page, page[:300]
print(json.dumps(before), file=sys.stderr)
"""


def test_the_install_page_loads_the_oauth_stores_where_they_are_used(sqlite_migrated_url):
    """The probe can fail: with several workspaces the app opens slack_sdk's stores (none
    before it is built)."""
    from storage.encryption import new_key

    code = INSTALL_REQUEST.format(modules=OAUTH_STORES, url=sqlite_migrated_url, key=new_key())
    before, after = probed(code, OAUTH_STORES)
    assert before == []
    assert after == sorted(OAUTH_STORES)


MAPPED = """
sys.path.insert(0, "tests")
from sqlalchemy import inspect
from conftest import make_settings, serving, the_fake
from bot.entry.wsgi import CadenceWSGI
from bot.platform.services import Services
from storage.db import Database
from storage.models import Engagement

with the_fake() as fake:
    app = CadenceWSGI(Services(settings=make_settings({url!r}, fake), db=Database.from_url({url!r})))
    built = inspect(Engagement).configured
    app.close()
print(json.dumps(built))
"""


def test_the_models_are_mapped_when_the_app_is_built(sqlite_migrated_url):
    """Not by the first request that queries. The statements some modules build once at import
    configure the mappers already; building the app makes sure of it."""
    done = subprocess.run(
        [sys.executable, "-c", "import json, sys\n" + MAPPED.format(url=sqlite_migrated_url)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) is True
