"""Bad input gets a clear message where the person is, and nothing half-written lands."""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

import pytest
from conftest import SIGNING_SECRET, VENDOR
from engine_flows import schedule, utc
from flows import GOOD_FORM, create_engagement, open_form, text_of, wait_reply
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_requests import sign
from sqlmodel import select

from bot.blocks.help import usage_reply
from bot.domain.command_reference import ECHO_LIMIT, ELLIPSIS, parse, read_number, shorten, spec_for
from bot.platform import clock
from storage.models import (
    AuditEvent,
    ConcernSla,
    Engagement,
    EngagementMember,
    KpiDefinition,
)

ALL_TABLES = (Engagement, EngagementMember, KpiDefinition, ConcernSla, AuditEvent)
CREATED = utc(2026, 11, 25, 10, 0)


def rows(cadence) -> dict[str, int]:
    with cadence.db.read_session() as session:
        return {m.__name__: len(session.exec(select(m)).all()) for m in ALL_TABLES}


def submit_errors(cadence, values) -> dict[str, str]:
    view = open_form(cadence)
    reply = cadence.sim.submit_view(view, {**GOOD_FORM, **values}, check_required=False)
    assert reply.status == 200
    assert reply.json and reply.json["response_action"] == "errors", reply.body
    return reply.json["errors"]


@pytest.mark.parametrize(
    ("values", "block", "says"),
    [
        ({"name": None}, "name", "Give the engagement a name"),
        ({"name": "!!!"}, "name", "at least one letter or digit"),
        ({"vendor": "  "}, "vendor", "Name the vendor"),
        ({"channel": None}, "channel", "Pick the channel"),
        ({"leads": []}, "leads", "at least one lead"),
        ({"kpis": "Uptime 99.9"}, "kpis", "Line 1 “Uptime 99.9” is not a KPI"),
        ({"kpis": "Uptime (%) >= 99\nuptime (%) >= 98"}, "kpis", "listed twice"),
        ({"timezone": "Europe/Berln"}, "timezone", "Did you mean Europe/Berlin?"),
        ({"timezone": "Mars/Olympus"}, "timezone", "not a time zone"),
        ({"sla_critical": "0"}, "sla_critical", "whole hours from 1"),
        ({"sla_critical": "100"}, "sla_critical", "should not wait longer than a high one"),
    ],
)
def test_a_bad_field_is_named_inline_and_nothing_is_written(cadence, values, block, says):
    before = rows(cadence)
    errors = submit_errors(cadence, values)
    key = next(k for k in errors if k == block or k.startswith(block + ":"))
    assert says in errors[key]
    assert rows(cadence) == before


def test_several_bad_fields_are_all_named_at_once(cadence):
    errors = submit_errors(cadence, {"name": None, "vendor": None, "kpis": "nonsense"})
    assert {"name", "vendor", "kpis"} <= set(errors)


def test_a_duplicate_name_is_refused_on_the_form(cadence):
    create_engagement(cadence)
    before = rows(cadence)
    errors = submit_errors(cadence, {"name": "ACME payments!"})  # same handle
    assert "`acme-payments` already exists" in errors["name"]
    assert rows(cadence) == before


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("frobnicate", "Cadence has no command `frobnicate`"),
        ("engagement", "Say what to do with engagements"),
        ("engagement destroy x", "`/cadence engagement destroy` is not a command"),
        ("engagement edit", "Say which engagement to edit"),
        ("engagement archive", "Say which engagement to archive"),
        ("engagement edit acme-paymnts", "Did you mean `acme-payments`?"),
        ("engagement archive nothing-here", "There is no engagement `nothing-here`"),
        ("status", "Say which engagement's health card to show"),
        ("status nothing-here", "There is no engagement `nothing-here`"),
    ],
)
def test_malformed_commands_get_an_ephemeral_reply_naming_the_fix(cadence, text, says):
    create_engagement(cadence)
    before = rows(cadence)
    reply = cadence.sim.command(text)
    assert reply.status == 200
    answer = wait_reply(cadence, reply)
    assert says in text_of(answer)
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert rows(cadence) == before


def test_help_lists_every_command_with_examples(cadence):
    answer = wait_reply(cadence, cadence.sim.command("help"))
    text = text_of(answer)
    for usage in ("engagement new", "schedule <eng>", "concern <eng> [title]", "export <eng>"):
        assert f"/cadence {usage}" in text
    assert "e.g. `/cadence engagement edit acme-payments`" in text
    # A bare /cadence is help too.
    assert text_of(wait_reply(cadence, cadence.sim.command(""))) == text


def test_requests_without_a_valid_signature_get_401_and_touch_nothing(cadence):
    body = cadence.sim.command_body("engagement list")
    good = sign(body, SIGNING_SECRET)
    cases = {
        "missing": {"Content-Type": "application/x-www-form-urlencoded"},
        "forged": {**good, "X-Slack-Signature": "v0=" + "0" * 64},
        "wrong secret": sign(body, "not-the-secret"),
        "stale": sign(body, SIGNING_SECRET, timestamp=int(time.time()) - 6 * 60),
        "from the future": sign(body, SIGNING_SECRET, timestamp=int(time.time()) + 6 * 60),
    }
    for what, headers in cases.items():
        reply = cadence.sim.raw_post(body, headers)
        assert reply.status == 401, what
    # A tampered body with a signature of the original is forged too.
    assert cadence.sim.raw_post(body.replace("list", "new"), good).status == 401
    assert cadence.fake.responses == []
    assert [c.method for c in cadence.fake.calls if c.method != "auth.test"] == []
    # And the genuine request works.
    assert cadence.sim.raw_post(body, good).status == 200


def test_an_interactive_payload_with_a_forged_signature_is_refused(cadence):
    engagement = create_engagement(cadence)
    payload = {
        "type": "block_actions",
        "user": {"id": "U0LEAD"},
        "team": {"id": "T0CADENCE"},
        "actions": [{"action_id": "engagement_archive_confirm", "value": str(engagement.id)}],
        "response_url": "http://127.0.0.1:9/x",
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    headers = sign(body, "forged-secret")
    assert cadence.sim.raw_post(body, headers).status == 401
    with cadence.db.read_session() as session:
        assert session.get(Engagement, engagement.id).archived_at is None


def test_an_expired_trigger_tells_the_person_to_try_again(cadence):
    cadence.fake.fail("views.open", error="expired_trigger_id")
    reply = cadence.sim.command("engagement new")
    answer = wait_reply(cadence, reply)
    assert "Please run the command again" in text_of(answer)


# --- odd /cadence texts: numbers in other digits, huge numbers, thousands of characters -------

APOLOGY = "Sorry, something went wrong"
SECTION_LIMIT = 3000
LOREM = "lorem ipsum dolor sit amet "


def text_objects(payload: Any) -> list[str]:
    """Every text a person reads in a reply: the fallback and each Block Kit text object."""
    found: list[str] = []
    if isinstance(payload, dict):
        if isinstance(payload.get("text"), str):
            found.append(payload["text"])
        for value in payload.values():
            if not isinstance(value, str):
                found += text_objects(value)
    elif isinstance(payload, list):
        for item in payload:
            found += text_objects(item)
    return found


def odd_reply(cadence, text: str) -> str:
    """Send `/cadence <text>` signed over HTTP; the ephemeral reply, checked for Slack's limits
    and for the apology that means an unexpected error."""
    reply = cadence.sim.command(text)
    assert reply.status == 200
    answer = wait_reply(cadence, reply)
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    said = text_of(answer)
    assert APOLOGY not in said, said
    assert all(len(t) <= SECTION_LIMIT for t in text_objects(answer)), [
        len(t) for t in text_objects(answer)
    ]
    return said


def in_digits(number: int, zero: str) -> str:
    """`number` written with the decimal digits that start at `zero` (e.g. Arabic-Indic ٠)."""
    return "".join(chr(ord(zero) + int(d)) for d in str(number))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("skip ١٢", "There is no cadence #12."),  # Arabic-Indic digits
        ("pause １２", "There is no cadence #12."),  # full-width
        ("resume #١٢", "There is no cadence #12."),
        ("delete ¹²", "There is no cadence #12."),  # superscripts: isdigit() but not int()
        ("skip ⑫", "There is no cadence #12."),  # circled
        ("skip 99999999999999999999999", "There is no cadence #99999999999999999999999."),
        ("pause 2147483648", "There is no cadence #2147483648."),  # PostgreSQL integer + 1
        ("delete " + "9" * 5000, "There is no cadence #999"),  # more digits than int() reads
        ("skip -1", "is not a cadence number"),
        ("skip ½", "is not a cadence number"),
        ("skip 0x10", "is not a cadence number"),
        ("skip " + "lorem" * 1000, "is not a cadence number"),
    ],
)
def test_an_odd_cadence_number_gets_a_reply_naming_the_fix(cadence, text, says):
    said = odd_reply(cadence, text)
    assert says in said
    assert "`/cadence cadences` lists them" in said


def test_a_cadence_number_in_other_digits_is_the_same_number(cadence):
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=[VENDOR])
        row = schedule(cadence, CREATED)
        assert f"Paused cadence #{row.id}:" in odd_reply(cadence, f"pause {in_digits(row.id, '٠')}")
        assert f"Resumed cadence #{row.id};" in odd_reply(
            cadence, f"resume #{in_digits(row.id, '０')}"
        )
        assert f"Paused cadence #{row.id}:" in odd_reply(cadence, f"pause {in_digits(row.id, '०')}")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("x" * 5000, "Cadence has no command `xxx"),
        ('"' + LOREM * 150 + '"', "Cadence has no command `lorem ipsum"),
        ('engagement "' + LOREM * 150 + '"', "`/cadence engagement lorem ipsum"),
        ("engagement edit " + LOREM * 150, "There is no engagement `lorem-ipsum-dolor"),
        ("engagement archive " + "漢字 " * 2000, "is not an engagement handle"),
        ("engagement edit 漢字\x00", "is not an engagement handle"),
        ("schedule " + "ü" * 5000, "There is no engagement `uuuu"),
        ("cadences " + "漢" * 5000, "is not an engagement handle"),
        ("update " + LOREM * 150, "There is no engagement `lorem-ipsum"),
        ("feedback " + "Ω" * 5000, "is not an engagement handle"),
        ('away "' + LOREM * 150 + '" 2027-01-02', "is not a date: write it as YYYY-MM-DD"),
    ],
)
def test_thousands_of_characters_get_a_short_reply_naming_the_fix(cadence, text, says):
    create_engagement(cadence)
    before = rows(cadence)
    said = odd_reply(cadence, text)
    assert says in said
    assert rows(cadence) == before
    assert len(said) < 1000  # the echo is shortened, not the whole text sent back


def test_a_command_typed_in_full_width_letters_and_spaces_is_the_same_command(cadence):
    assert "/cadence engagement new" in odd_reply(cadence, "ｈｅｌｐ")
    assert "Say which cadence to skip" in odd_reply(cadence, "ｓｋｉｐ")
    assert "There is no cadence #12." in odd_reply(cadence, "ｓｋｉｐ\u3000１２")


def test_an_echo_is_cut_at_a_word_boundary_with_an_ellipsis(cadence):
    said = odd_reply(cadence, '"' + LOREM * 150 + '"')
    echoed = said.split("`")[1]
    assert echoed.endswith("…")
    assert echoed.removesuffix("…").split()[-1] in LOREM.split()  # a whole word before the …


# --- the pure parts, over any text ------------------------------------------------------------

ZEROS = (
    "0٠۰०০０๐߀𝟎"  # ASCII, Arabic-Indic, Persian, Devanagari, Bengali, full-width, Thai, NKo, bold
)
ODD = "١٢３¹²⑫½#`“”\"'\\\x00\u3000\u2003\n\t- "
WORDS = st.text(st.characters(codec="utf-8") | st.sampled_from(ODD), max_size=40)
TEXTS = st.lists(WORDS, max_size=40).map(" ".join) | st.text(max_size=600)


def assert_cut_between_words(text: str, limit: int, shortened: str) -> None:
    """`shortened` is `text` within `limit`, cut only between words unless a word is too long
    to fit beside the ellipsis."""
    assert len(shortened) <= limit
    if len(text) <= limit:
        assert shortened == text
        return
    assert shortened.endswith(ELLIPSIS) or limit < len(ELLIPSIS)
    kept = shortened.removesuffix(ELLIPSIS)
    assert text.startswith(kept)
    cut = len(kept)
    if kept and not text[cut].isspace():  # inside a word: only when it cannot fit
        start = max((i + 1 for i in range(cut) if text[i].isspace()), default=0)
        end = next((i for i in range(cut, len(text)) if text[i].isspace()), len(text))
        assert end - start > limit - len(ELLIPSIS)


@pytest.mark.slow  # a long property
@settings(max_examples=300, deadline=None)
@given(TEXTS, st.integers(min_value=0, max_value=120))
def test_shorten_stays_within_the_limit_and_cuts_between_words(text, limit):
    assert_cut_between_words(text, limit, shorten(text, limit))


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.sampled_from([None, "away", "engagement new", "pause", "schedule"]))
def test_any_text_parses_and_its_reply_fits_slack_and_names_the_fix(text, usage):
    invocation = parse(text)
    assert invocation.name == invocation.name.lower() and invocation.name
    spec = spec_for(usage) if usage else None
    for problem in (
        f"Cadence has no command `{invocation.name}`.",
        f"“{text}” is not a date: write it as YYYY-MM-DD.",
        f"`/cadence engagement {' '.join(invocation.args)}` is not a command.",
        text * 20,
    ):
        reply = usage_reply(problem, spec)  # builds Block Kit: raises if a text is too long
        assert all(len(t) <= SECTION_LIMIT for t in text_objects(reply))
        assert reply["blocks"][0]["text"]["text"].endswith("`/cadence help` lists every command.")
    if not set("`“”") & set(text):  # what was typed is quoted back whole, or cut between words
        quoted = usage_reply(f"“{text}” is not a date.", spec)["text"].split("”")[0][1:]
        assert_cut_between_words(text, ECHO_LIMIT, quoted)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**40),
    st.sampled_from(ZEROS),
    st.sampled_from(["", "#", " #", "＃"]),
)
def test_a_number_in_any_digits_reads_as_the_same_number(number, zero, prefix):
    assert read_number(f"{prefix}{in_digits(number, zero)} ") == str(number)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_anything_else_reads_as_no_number_or_ascii_digits(text):
    number = read_number(text)
    assert number is None or (number.isascii() and number.isdigit())
