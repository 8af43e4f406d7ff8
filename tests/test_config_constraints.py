"""Settings' ranges, choices and URL are pydantic constraints (so the schema says them, for
anyone reading or generating docs), and each bad value still gets Cadence's one-line message."""

from __future__ import annotations

import pytest

from bot.platform.config import ConfigError, Settings, load_settings

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}


def test_the_schema_states_each_constraint():
    fields = Settings.model_json_schema()["properties"]
    assert (fields["PORT"]["minimum"], fields["PORT"]["maximum"]) == (1, 65535)
    assert (
        fields["CADENCE_TICK_SECONDS"]["minimum"],
        fields["CADENCE_TICK_SECONDS"]["maximum"],
    ) == (1, 3600)
    assert fields["CADENCE_SEND_CONCURRENCY"]["maximum"] == 64
    assert fields["CADENCE_CHANNEL_PACE_SECONDS"]["maximum"] == 60
    assert fields["LOG_LEVEL"]["enum"] == ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    assert fields["LOG_FORMAT"]["enum"] == ["text", "json"]
    assert fields["SLACK_API_URL"]["format"] == "uri"


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("PORT", "65536", "PORT must be a whole number from 1 to 65535 (a TCP port), not 65536"),
        ("PORT", "3.5", "PORT must be a whole number from 1 to 65535 (a TCP port), not 3.5"),
        ("CADENCE_TICK_SECONDS", "0", "CADENCE_TICK_SECONDS must be a whole number from 1 to 3600 "
         "(seconds between scheduler passes), not 0"),
        ("CADENCE_SEND_CONCURRENCY", "65", "CADENCE_SEND_CONCURRENCY must be a whole number from 1 "
         "to 64 (messages sent to different channels at once), not 65"),
        ("CADENCE_CHANNEL_PACE_SECONDS", "inf", "CADENCE_CHANNEL_PACE_SECONDS must be seconds from 0 "
         "to 60 between two messages to one channel (Slack allows about 1 per second), not inf"),
        ("CADENCE_CHANNEL_PACE_SECONDS", "-1", "CADENCE_CHANNEL_PACE_SECONDS must be seconds from 0 "
         "to 60 between two messages to one channel (Slack allows about 1 per second), not -1"),
        ("LOG_LEVEL", "verbose", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, "
         "not VERBOSE"),
        ("LOG_FORMAT", "XML", "LOG_FORMAT must be one of text, json, not xml"),
        ("SLACK_API_URL", "ftp://slack.com/api/", "SLACK_API_URL must be an http(s) URL such as "
         "https://slack.com/api/ (leave it unset to talk to Slack)"),
    ],
)  # fmt: skip
def test_a_bad_value_is_one_line_in_cadence_s_words(variable, value, line):
    with pytest.raises(ConfigError) as raised:
        load_settings({**BASE, variable: value})
    assert raised.value.problems == [line]


def test_values_are_read_as_before():
    settings = load_settings(
        {**BASE, "PORT": " 8080 ", "LOG_LEVEL": "debug", "LOG_FORMAT": "JSON",
         "SLACK_API_URL": "http://127.0.0.1:9000", "CADENCE_CHANNEL_PACE_SECONDS": "0.5",
         "CADENCE_TICK_SECONDS": ""}
    )  # fmt: skip
    assert (settings.port, settings.log_level, settings.log_format) == (8080, "DEBUG", "json")
    assert settings.slack_api_url == "http://127.0.0.1:9000/"
    assert (settings.channel_pace_seconds, settings.tick_seconds) == (0.5, 30)
