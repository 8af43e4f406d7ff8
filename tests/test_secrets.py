"""Secrets at rest and their rotation: the bot tokens of OAuth installations are stored encrypted
(never in plain text, read raw from the database), the app and the engine still speak with the
decrypted token, `python -m bot rotate-key` re-encrypts every one under a new key while the old
key still reads, a missing or wrong key is one line and status 2 with nothing changed, and a
token left in plain text by an earlier release is refused until `rotate-key` encrypts it. And the
signing secret: a previous one is accepted during its window, through signed HTTP.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from wsgiref.simple_server import make_server

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from conftest import (
    ADMIN,
    BOT_TOKEN,
    LEAD,
    SIGNING_SECRET,
    TEAM,
    VENDOR,
    _QuietHandler,
    _ThreadingWSGIServer,
    app_services,
    make_settings,
)
from slack_requests import SlackSim, sign
from sqlalchemy import text
from test_workspaces import (
    B_LEAD,
    B_VENDOR,
    BRAVO,
    ENCRYPTION_KEY,
    MON,
    OAUTH_ENV,
    Deployment,
    create_engagement_in,
    install,
    schedule_in,
)
from test_workspaces import deployment as _two_workspaces  # noqa: F401  (the `deployment` fixture)

from bot.entry.cli import main
from bot.entry.wsgi import CadenceWSGI, create_app
from bot.platform import clock
from bot.platform.config import ConfigError, load_settings
from storage import installations, migrate
from storage.db import Database
from storage.encryption import Keys, UnreadableSecret, new_key

ROOT = Path(__file__).resolve().parents[1]
NEW_KEY = "3RkIRU58LgI2PUdpoe_wlWEIcVZ7gUGazFUvLzK4YKc="
OTHER_KEY = "mqzs-fufAbVl82RDe8P0GcZqnAX5ZdPZcn0-CcJeltA="
SECRET_COLUMNS = (
    ("slack_bots", "bot_token"),
    ("slack_installations", "bot_token"),
)


def stored(db: Database) -> dict[tuple[str, int], str]:
    """Every stored bot token as the database holds it, read with plain SQL."""
    found = {}
    with db.engine.connect() as conn:
        for table, column in SECRET_COLUMNS:
            for row_id, value in conn.execute(text(f"SELECT id, {column} FROM {table}")):
                found[(table, row_id)] = value
    return found


def run_cli(monkeypatch, d: Deployment, *args: str, keys: str) -> tuple[int, str, str]:
    """`python -m bot …` (its entry function, in this process) with the deployment's database
    and `keys` as CADENCE_ENCRYPTION_KEYS; its status, stdout and stderr."""
    env = {
        **OAUTH_ENV,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": d.services.settings.slack_api_url,
        "DATABASE_URL": d.services.settings.database_url,
        "CADENCE_CHANNEL_PACE_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "CADENCE_ENCRYPTION_KEYS": keys,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(list(args))
    return status, out.getvalue(), err.getvalue()


def prompts_sent(d: Deployment, since: int) -> dict[str, str]:
    """Whom a check-in prompt went to since call `since`, with the token it carried."""
    return {
        c.args["channel"]: c.token
        for c in d.fake.calls[since:]
        if c.method == "chat.postMessage" and c.ok and "Time for" in str(c.args.get("text"))
    }


def two_scheduled_workspaces(d: Deployment) -> tuple[str, str]:
    install(d, TEAM, installer=LEAD)
    install(d, BRAVO, installer=B_LEAD)
    with clock.fixed_at(MON - timedelta(days=5)):
        create_engagement_in(d.acme, user=LEAD, team_id=TEAM)
        create_engagement_in(
            d.bravo, user=B_LEAD, team_id=BRAVO, name="Bravo Payments", channel="C0BRAVOPAY",
            vendor_contacts=[B_VENDOR], stakeholders=[], kpis="",
        )  # fmt: skip
    schedule_in(d.acme, "acme-payments", user=LEAD)
    schedule_in(d.bravo, "bravo-payments", user=B_LEAD, escalation_to=[B_LEAD])
    ((acme_token,), (bravo_token,)) = d.fake.tokens_of(TEAM), d.fake.tokens_of(BRAVO)
    return acme_token, bravo_token


@pytest.fixture
def d(_two_workspaces: Deployment) -> Deployment:  # noqa: F811  (the fixture, by its name)
    """Acme and Bravo, installing Cadence through OAuth (tests/test_workspaces.py)."""
    return _two_workspaces


# --- stored encrypted, used decrypted --------------------------------------------------------------


def test_a_stored_bot_token_is_encrypted_and_cadence_speaks_with_the_token(d, monkeypatch):
    acme_token, bravo_token = two_scheduled_workspaces(d)
    raw = stored(d.db)
    assert len(raw) == 4  # an installation and a bot row per workspace
    for value in raw.values():
        assert not value.startswith("xox") and value.startswith("gAAAAA")
        assert acme_token not in value and bravo_token not in value
    # Requests were authorized with the decrypted token (Bolt's installation store) ...
    creators = [c for c in d.fake.calls_to("views.open")]
    assert {c.token for c in creators} == {acme_token, bravo_token}
    # ... and the engine's pass speaks with it too (its own lookup by team id).
    before = len(d.fake.calls)
    status, _, err = run_cli(monkeypatch, d, "tick", "--now", MON.isoformat(), keys=ENCRYPTION_KEY)
    assert status == 0, err
    sent = prompts_sent(d, before)
    assert sent[VENDOR] == acme_token and sent[B_VENDOR] == bravo_token


def test_rotate_key_re_encrypts_every_secret_while_the_old_key_still_reads(d, monkeypatch):
    acme_token, bravo_token = two_scheduled_workspaces(d)
    before_rotation = stored(d.db)
    # The new key first, the old one after it: everything stored still reads.
    both = Keys([NEW_KEY, ENCRYPTION_KEY])
    assert installations.bot_token(d.db.engine, client_id=OAUTH_ENV["SLACK_CLIENT_ID"],
                                   team_id=TEAM, keys=both) == acme_token  # fmt: skip

    status, out, err = run_cli(monkeypatch, d, "rotate-key", keys=f"{NEW_KEY},{ENCRYPTION_KEY}")
    assert (status, err) == (0, "")
    assert "Re-encrypted 4 stored secret(s) of 2 workspace(s)" in out
    assert "(0 of them were in plain text)" in out

    after = stored(d.db)
    assert after.keys() == before_rotation.keys()
    new_only, old_only = Keys([NEW_KEY]), Keys([ENCRYPTION_KEY])
    for place, value in after.items():
        assert value != before_rotation[place]
        assert new_only.open(value, where="test") in (acme_token, bravo_token)
        with pytest.raises(UnreadableSecret):
            old_only.open(value, where="test")
    with d.db.read_session() as session:
        audited = session.execute(
            text(
                "SELECT team_id, actor_user_id, after FROM auditevent WHERE action = 'key_rotated'"
            )
        ).all()
    assert sorted(row.team_id for row in audited) == [BRAVO, TEAM]
    assert all(row.actor_user_id.startswith("cli:") for row in audited)
    status, out, _ = run_cli(monkeypatch, d, "audit", "verify", keys=NEW_KEY)
    assert status == 2 and "CANNOT VERIFY" in out  # the old key's links need the old key
    monkeypatch.setenv("CADENCE_RETIRED_KEYS", ENCRYPTION_KEY)  # kept to verify only
    status, out, _ = run_cli(monkeypatch, d, "audit", "verify", keys=NEW_KEY)
    assert status == 0 and "intact" in out  # the rotation's events are links of the chain
    monkeypatch.delenv("CADENCE_RETIRED_KEYS")

    # The old key alone no longer reads them: a pass refuses to start, in one line.
    status, out, err = run_cli(
        monkeypatch, d, "tick", "--now", MON.isoformat(), keys=ENCRYPTION_KEY
    )
    assert status == 2 and out == ""
    assert err.startswith("Cadence cannot start. CADENCE_ENCRYPTION_KEYS cannot open 4 stored")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert acme_token not in err and after[("slack_bots", 1)] not in err
    # The new key alone does, and the pass speaks with each workspace's token.
    before = len(d.fake.calls)
    status, _, err = run_cli(monkeypatch, d, "tick", "--now", MON.isoformat(), keys=NEW_KEY)
    assert status == 0, err
    sent = prompts_sent(d, before)
    assert sent[VENDOR] == acme_token and sent[B_VENDOR] == bravo_token


def test_a_wrong_or_missing_key_is_one_line_and_changes_nothing(d, monkeypatch):
    install(d, TEAM, installer=LEAD)
    kept = stored(d.db)

    status, out, err = run_cli(monkeypatch, d, "rotate-key", keys=OTHER_KEY)
    assert (status, out) == (2, "")
    assert err.startswith("Nothing was re-encrypted: the secret in slack_")
    assert "was encrypted with a key CADENCE_ENCRYPTION_KEYS does not hold" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert stored(d.db) == kept

    status, out, err = run_cli(monkeypatch, d, "rotate-key", keys="")
    assert (status, out) == (2, "")
    assert err.strip() == (
        "Cadence cannot rotate its key. CADENCE_ENCRYPTION_KEYS is not set: it holds the keys "
        "of the secrets Cadence stores (make one with `python -m bot new-key`)"
    )

    status, out, err = run_cli(monkeypatch, d, "rotate-key", keys=f"{NEW_KEY},not-a-key-at-all")
    assert status == 2 and "Traceback" not in err
    assert "CADENCE_ENCRYPTION_KEYS: key 2 of 2 is not an encryption key" in err
    assert "not-a-key-at-all" not in err and NEW_KEY not in err  # a key is never echoed
    assert stored(d.db) == kept
    with d.db.read_session() as session:
        assert session.execute(text("SELECT COUNT(*) FROM auditevent")).scalar() == 0


def test_a_token_stored_in_plain_text_is_refused_until_rotate_key_encrypts_it(
    d, monkeypatch, caplog
):
    """The upgrade path: tokens an earlier release stored in plain text are never used as they
    are (the lookup refuses them loudly, a pass does not start) until `rotate-key` encrypts them."""
    acme_token, _ = two_scheduled_workspaces(d)
    with d.db.engine.begin() as conn:  # as the release before encryption left them
        for table, column in SECRET_COLUMNS:
            conn.execute(
                text(f"UPDATE {table} SET {column} = :token WHERE team_id = :team"),
                {"token": acme_token, "team": TEAM},
            )
    keys = Keys([ENCRYPTION_KEY])
    with caplog.at_level(logging.ERROR, logger="storage.installations"):
        found = installations.bot_token(
            d.db.engine, client_id=OAUTH_ENV["SLACK_CLIENT_ID"], team_id=TEAM, keys=keys
        )
    assert found is None
    assert "is stored in plain text (run `python -m bot rotate-key`" in caplog.text
    assert acme_token not in caplog.text

    before = len(d.fake.calls)
    status, out, err = run_cli(
        monkeypatch, d, "tick", "--now", MON.isoformat(), keys=ENCRYPTION_KEY
    )
    assert status == 2 and out == "" and len(d.fake.calls) == before
    assert err.strip().startswith("Cadence cannot start. 2 stored secret(s) are in plain text")
    assert "run `python -m bot rotate-key` to encrypt them" in err and acme_token not in err
    with pytest.raises(SystemExit, match=r"^Cadence cannot start\. 2 stored secret\(s\) are in"):
        create_app()  # the Procfile's web process, with the same environment

    status, out, err = run_cli(monkeypatch, d, "rotate-key", keys=ENCRYPTION_KEY)
    assert (status, err) == (0, "")
    assert "Re-encrypted 4 stored secret(s) of 2 workspace(s)" in out
    assert "(2 of them were in plain text)" in out
    assert all(not v.startswith("xox") for v in stored(d.db).values())
    status, _, err = run_cli(monkeypatch, d, "tick", "--now", MON.isoformat(), keys=ENCRYPTION_KEY)
    assert status == 0, err
    assert prompts_sent(d, before)[VENDOR] == acme_token


@pytest.mark.slow
def test_rotate_key_as_a_process_with_a_bad_key_says_one_line(tmp_path, sqlite_migrated_url):
    """`python -m bot rotate-key` run by a person: a malformed key and a missing one are each a
    clear message and status 2, never a traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CADENCE_"))}
    env.update(DATABASE_URL=sqlite_migrated_url, PYTHONPATH=str(ROOT))
    for keys, said in (
        ("not-a-key", "CADENCE_ENCRYPTION_KEYS: key 1 of 1 is not an encryption key"),
        ("", "Cadence cannot rotate its key. CADENCE_ENCRYPTION_KEYS is not set"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "bot", "rotate-key"],
            cwd=tmp_path,
            env={**env, "CADENCE_ENCRYPTION_KEYS": keys},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert said in result.stderr and "Traceback" not in result.stderr
        assert result.stdout == "" and "not-a-key" not in result.stderr


def test_new_key_prints_a_key_the_configuration_takes(capsys):
    assert main(["new-key"]) == 0
    key = capsys.readouterr().out.strip()
    settings = load_settings(
        {**OAUTH_ENV, "SLACK_SIGNING_SECRET": "s", "CADENCE_ENCRYPTION_KEYS": key}
    )
    assert settings.encryption_keys == (key,)
    assert key not in repr(settings)
    assert Keys([key]).open(Keys([key]).seal("xoxb-1"), where="test") == "xoxb-1"


def test_several_workspaces_need_a_key_and_a_bad_one_is_named_not_shown():
    base = {**OAUTH_ENV, "SLACK_SIGNING_SECRET": "s"}
    with pytest.raises(ConfigError) as refused:
        load_settings({**base, "CADENCE_ENCRYPTION_KEYS": ""})
    assert refused.value.problems == [
        "CADENCE_ENCRYPTION_KEYS is not set: with several workspaces Cadence stores each one's "
        "bot token encrypted with it; make one with `python -m bot new-key`"
    ]
    with pytest.raises(ConfigError) as refused:
        load_settings({**base, "CADENCE_ENCRYPTION_KEYS": f"{NEW_KEY}, {NEW_KEY}"})
    assert refused.value.problems == [
        "CADENCE_ENCRYPTION_KEYS names one key twice: list each key once"
    ]
    # One workspace stores no token (SLACK_BOT_TOKEN stays in the environment): no key needed.
    single = load_settings({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s"})
    assert single.encryption_keys == ()


# --- the migration's way back ----------------------------------------------------------------------


def test_downgrading_below_0023_needs_the_key_and_gives_the_previous_release_plain_tokens(
    database_url: str, monkeypatch
):
    config = migrate.alembic_config(database_url)
    below = ScriptDirectory.from_config(config).get_revision("0023").down_revision
    migrate.upgrade(database_url)
    db = Database.from_url(database_url)
    keys = Keys([ENCRYPTION_KEY])
    try:
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO slack_bots (client_id, app_id, team_id, bot_token, "
                    "is_enterprise_install, installed_at) VALUES ('C', 'A', :team, :token, "
                    "false, :at)"
                ),
                {"team": TEAM, "token": keys.seal(BOT_TOKEN), "at": datetime(2026, 12, 1)},
            )
        command.downgrade(config, "0023")  # the later revisions' way back needs no key
        monkeypatch.delenv("CADENCE_ENCRYPTION_KEYS", raising=False)
        with pytest.raises(RuntimeError, match="needs CADENCE_ENCRYPTION_KEYS"):
            command.downgrade(config, below)
        with db.engine.connect() as conn:  # nothing of 0023 was undone
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0023"
        monkeypatch.setenv("CADENCE_ENCRYPTION_KEYS", f"{NEW_KEY},{ENCRYPTION_KEY}")
        command.downgrade(config, below)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT bot_token FROM slack_bots")).scalar() == BOT_TOKEN
        command.upgrade(config, "head")
    finally:
        db.dispose()


# --- the signing secret's rotation -----------------------------------------------------------------

NEW_SIGNING_SECRET = "0e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b"


@contextmanager
def serving(database_url: str, db: Database, fake, **env: str) -> Iterator[SlackSim]:
    """The app over HTTP with these settings; Slack's side signing with the new secret."""
    services = app_services(make_settings(database_url, fake, **env), db)
    application = CadenceWSGI(services)
    server = make_server(
        "127.0.0.1", 0, application, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield SlackSim(f"http://127.0.0.1:{server.server_port}", fake, NEW_SIGNING_SECRET)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        application.close()


def test_during_a_rotation_either_signing_secret_is_accepted_until_the_window_ends(
    fake_slack, db, database_url
):
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    rotation = {
        "SLACK_SIGNING_SECRET": NEW_SIGNING_SECRET,
        "SLACK_SIGNING_SECRET_PREVIOUS": SIGNING_SECRET,
        "SLACK_SIGNING_SECRET_PREVIOUS_UNTIL": until,
    }
    with serving(database_url, db, fake_slack, **rotation) as sim:
        body = sim.command_body("engagement list", user=ADMIN)
        assert sim.raw_post(body, sign(body, NEW_SIGNING_SECRET)).status == 200
        assert sim.raw_post(body, sign(body, SIGNING_SECRET)).status == 200  # the previous one
        stale = int(time.time()) - 6 * 60
        refused = {
            "another secret": sign(body, "not-either-secret"),
            "previous, stale": sign(body, SIGNING_SECRET, timestamp=stale),
            "new, stale": sign(body, NEW_SIGNING_SECRET, timestamp=stale),
            "forged": {**sign(body, SIGNING_SECRET), "X-Slack-Signature": "v0=" + "0" * 64},
        }
        for what, headers in refused.items():
            assert sim.raw_post(body, headers).status == 401, what
        # A body tampered with under the previous secret's signature is forged too.
        good_old = sign(body, SIGNING_SECRET)
        assert sim.raw_post(body.replace("list", "new"), good_old).status == 401
        # A command whose listener runs: answered with the previous secret's signature.
        reply = SlackSim(sim.url.rsplit("/slack", 1)[0], fake_slack, SIGNING_SECRET).command(
            "engagement list", user=ADMIN
        )
        assert reply.status == 200

    ended = {**rotation, "SLACK_SIGNING_SECRET_PREVIOUS_UNTIL": "2026-01-01T00:00:00+00:00"}
    with serving(database_url, db, fake_slack, **ended) as sim:
        body = sim.command_body("engagement list", user=ADMIN)
        assert sim.raw_post(body, sign(body, SIGNING_SECRET)).status == 401
        assert sim.raw_post(body, sign(body, NEW_SIGNING_SECRET)).status == 200

    without = {"SLACK_SIGNING_SECRET": NEW_SIGNING_SECRET}
    with serving(database_url, db, fake_slack, **without) as sim:
        assert sim.raw_post(body, sign(body, SIGNING_SECRET)).status == 401


def test_a_previous_signing_secret_s_window_is_a_moment_with_its_offset():
    base = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s"}
    with pytest.raises(ConfigError) as refused:
        load_settings({**base, "SLACK_SIGNING_SECRET_PREVIOUS": "p",
                       "SLACK_SIGNING_SECRET_PREVIOUS_UNTIL": "2026-12-31 18:00"})  # fmt: skip
    assert refused.value.problems == [
        "SLACK_SIGNING_SECRET_PREVIOUS_UNTIL must be a moment with its offset, like "
        "2026-12-31T18:00:00+00:00, not 2026-12-31 18:00"
    ]
    with pytest.raises(ConfigError) as refused:
        load_settings({**base, "SLACK_SIGNING_SECRET_PREVIOUS_UNTIL": "2026-12-31T18:00:00Z"})
    assert "SLACK_SIGNING_SECRET_PREVIOUS is not" in refused.value.problems[0]
    settings = load_settings({**base, "SLACK_SIGNING_SECRET_PREVIOUS": "previous-secret"})
    assert "previous-secret" not in repr(settings)


def test_keys_never_open_a_plain_or_foreign_value():
    keys = Keys([new_key()])
    with pytest.raises(UnreadableSecret, match="plain text"):
        keys.open("xoxb-1-2-3", where="x")
    with pytest.raises(UnreadableSecret, match="does not hold"):
        keys.open(Keys([new_key()]).seal("xoxb-1"), where="x")
    with pytest.raises(UnreadableSecret, match="does not hold"):
        keys.open("gAAAAAnot-a-token", where="x")
