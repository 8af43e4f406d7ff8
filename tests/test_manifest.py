"""The manifest a lead pastes into Slack matches what the app listens for."""

from __future__ import annotations

import re
from pathlib import Path

from bot.blocks.concerns import RAISE_SHORTCUT as RAISE_CONCERN

MANIFEST = (Path(__file__).resolve().parents[1] / "manifest.yml").read_text()


def test_every_request_url_is_the_one_path_the_app_serves():
    urls = re.findall(r"(?:url|request_url): (\S+)", MANIFEST)
    assert len(urls) == 3 and all(u.endswith("/slack/events") for u in urls)


def test_the_command_shortcut_and_events_are_those_the_app_handles():
    assert "command: /cadence" in MANIFEST
    assert f"callback_id: {RAISE_CONCERN}" in MANIFEST
    assert "- app_home_opened" in MANIFEST
    assert "home_tab_enabled: true" in MANIFEST


def test_the_scopes_cover_every_web_api_method_the_app_calls():
    needed = {"chat:write", "channels:join", "channels:read", "groups:read", "users:read",
              "im:write", "commands", "channels:history", "groups:history",
              "im:history"}  # fmt: skip
    scopes = set(re.findall(r"^\s+- ([a-z.:]+)$", MANIFEST, flags=re.MULTILINE))
    assert needed <= scopes
